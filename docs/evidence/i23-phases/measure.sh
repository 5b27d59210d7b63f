#!/bin/bash
# Issue 23 item 1: the exact step on one core against two, interleaved,
# with phases (Descent.Run between records) and one step at a time
# (MIMVERIFY_BENCH_NOPHASES=1: the code before phases), at P = 196 and 1024.
#   go test -c -o /tmp/dyn.test ./dynamics
#   docs/evidence/i23-phases/measure.sh /tmp/dyn.test ROUNDS OUTDIR
set -eu
bin=$1 rounds=$2 out=$3
mkdir -p "$out"
run() { # name P steps procs [env...]
  local name=$1 p=$2 steps=$3 procs=$4; shift 4
  env "$@" GOMAXPROCS=$procs MIMVERIFY_BENCH_P1024=1 $bin -test.run '^$' -test.bench "ExactStep/P$p\$" \
    -test.benchtime ${steps}x -test.cpu $procs | grep Bench >> "$out/$name.txt"
}
for r in $(seq 1 "$rounds"); do
  echo "round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> "$out/load.txt"
  run p196-1core 196 1000 1
  run p196-2core 196 1000 2
  run p196-2core-nophases 196 1000 2 MIMVERIFY_BENCH_NOPHASES=1
  if [ $((r % 2)) = 1 ]; then
    run p1024-1core 1024 60 1
    run p1024-2core 1024 60 2
    run p1024-2core-nophases 1024 60 2 MIMVERIFY_BENCH_NOPHASES=1
  fi
done
