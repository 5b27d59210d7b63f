#!/bin/bash
R=/tmp/thrun
run() { echo "### $*"; $R "$@" 2>&1 | grep -v "^$"; }
run -preset default -eta 10 -steps 2000 -keys all
run -preset grid4 -eta 7.5 -steps 2000
run -preset default -eta 11 -steps 2000
run -preset default -eta 10 -steps 2000 -z shared
run -preset grid4 -eta 2 -steps 2000 -gamma 0.7
