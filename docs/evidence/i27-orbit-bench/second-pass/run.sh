#!/bin/bash
# Issue 27, second pass: the base (e98094b) and the branch's test binaries, interleaved,
# -cpu 1 and 2, 8 rounds, the load printed with each; then benchstat.
#   git worktree add /tmp/o27/basewt e98094b && (cd /tmp/o27/basewt && go test -c -o /tmp/o27/base.test ./dynamics)
#   go test -c -o /tmp/o27/new.test ./dynamics
out=${1:-.}
for r in 1 2 3 4 5 6 7 8; do
  for b in base new; do
    echo "round $r $b $(date -u +%T) $(uptime)" >> "$out/load.txt"
    /tmp/o27/$b.test -test.run '^$' -test.bench 'OrbitCRN/(default|vit14)/orbit$' -test.benchtime 100x -test.cpu 1,2 >> "$out/$b.txt"
  done
done
go run golang.org/x/perf/cmd/benchstat@latest "$out/base.txt" "$out/new.txt"
