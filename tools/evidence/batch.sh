#!/bin/bash
# Runs the C3/C7 measurements over presets and variations (docs/THEORY.md §6).
R=/tmp/thrun
run() { echo "### $*"; $R "$@" 2>&1 | grep -v "^$"; }
run -preset default -eta 10 -steps 2000 -v
run -preset default -eta 10 -steps 2000 -z constant -L 1 -U 1 -v
run -preset default -eta 10 -steps 2000 -z constant -L 0.5 -U 0.5 -v
run -preset default -eta 10 -steps 2000 -z two-point -v
run -preset default -eta 10 -steps 2000 -gamma 0.3
run -preset default -eta 10 -steps 2000 -gamma 0.7
run -preset default -eta 2 -steps 4000
run -preset default -eta 10 -steps 2000 -loss mean
run -preset default -eta 10 -steps 2000 -keys all -v
run -preset grid4 -eta 2 -steps 4000 -v
run -preset grid4 -eta 2 -steps 4000 -pop
run -preset random-regions -eta 10 -steps 2000 -v
run -preset vit14 -eta 10 -steps 1000
run -preset global-local -eta 2 -steps 4000 -v
