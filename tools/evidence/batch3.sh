#!/bin/bash
# C7 tables of docs/THEORY.md §3.
for a in "-preset default -eta 10 -z constant -L 1 -U 1" "-preset default -eta 10 -z constant -L 0.5 -U 0.5" "-preset default -eta 10" "-preset default -eta 10 -z two-point" "-preset default -eta 10 -keys all" "-preset grid4 -eta 2" "-preset random-regions -eta 10" "-preset global-local -eta 2"; do
 echo "### $a"; /tmp/thrun $a -steps 2000 -v | awk '/^t= *(10|50|201|2000|2076) /'
done
