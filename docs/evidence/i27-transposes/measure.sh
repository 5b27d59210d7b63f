#!/bin/bash
# Issue 27: the exact step before (BASE, a test binary of 10eb362) and after
# (HEAD: rowMax and the 8×8 transposes of runBlock), 1 and 2 cores, rounds
# interleaved, the load printed per round; then benchstat.
#   git worktree add /tmp/base 10eb362 && (cd /tmp/base && go test -c -o /tmp/dyn.test ./dynamics)
#   go test -c -o /tmp/dyn_tp.test ./dynamics
#   docs/evidence/i27-transposes/measure.sh /tmp/dyn.test /tmp/dyn_tp.test 10 OUTDIR
set -eu
base=$1 head=$2 rounds=$3 out=$4
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  echo "round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> "$out/load.txt"
  for v in base head; do
    bin=$base; [ $v = head ] && bin=$head
    for c in 1 2; do
      $bin -test.run '^$' -test.bench 'ExactStep/P(64|196)$' -test.benchtime 1000x -test.cpu $c | grep Benchmark >> "$out/$v-cpu$c.bench"
    done
  done
done
benchstat base="$out/base-cpu1.bench" head="$out/head-cpu1.bench"
benchstat base="$out/base-cpu2.bench" head="$out/head-cpu2.bench"
