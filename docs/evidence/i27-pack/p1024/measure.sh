#!/bin/bash
# Issue 23: the exact step at P = 1024 on one core and on two, ROUNDS rounds
# interleaved (200 steps per run, the load printed per round), then benchstat.
#   go test -c -o /tmp/dyn.test ./dynamics
#   docs/evidence/i27-pack/p1024/measure.sh /tmp/dyn.test 10 OUTDIR
set -eu
bin=$1 rounds=$2 out=$3
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  echo "round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> "$out/load.txt"
  for c in 1 2; do
    MIMVERIFY_BENCH_P1024=1 $bin -test.run '^$' -test.bench 'ExactStep/P1024$' -test.benchtime 200x -test.cpu $c |
      grep Benchmark | sed 's/-2 / /' >> "$out/cpu$c.bench"
  done
done
benchstat one-core="$out/cpu1.bench" two-cores="$out/cpu2.bench"
