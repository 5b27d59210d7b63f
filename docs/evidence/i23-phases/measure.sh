#!/bin/bash
# Issue 23 item 1: the exact step on one core against two, interleaved,
# with phases (as Descent.Run takes the steps between records) and one step
# at a time (MIMVERIFY_BENCH_NOPHASES=1: the code before phases), at
# P = 196 and 1024; and, as the machine's own reference, two independent
# one-core processes pinned to vCPU 0 and vCPU 1 side by side ("pair").
#   go test -c -o /tmp/dyn.test ./dynamics
#   docs/evidence/i23-phases/measure.sh /tmp/dyn.test ROUNDS OUTDIR
set -eu
bin=$1 rounds=$2 out=$3
mkdir -p "$out"
run() { # name P steps procs [command prefix: env assignments, taskset ...]
  local name=$1 p=$2 steps=$3 procs=$4; shift 4
  env GOMAXPROCS=$procs MIMVERIFY_BENCH_P1024=1 "$@" $bin -test.run '^$' -test.bench "ExactStep/P$p\$" \
    -test.benchtime ${steps}x -test.cpu $procs | grep Bench >> "$out/$name.txt"
}
pair() { # name P steps
  run $1-cpu0 $2 $3 1 taskset -c 0 & run $1-cpu1 $2 $3 1 taskset -c 1; wait
}
for r in $(seq 1 "$rounds"); do
  echo "round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> "$out/load.txt"
  run p196-1core 196 1000 1
  run p196-2core 196 1000 2
  run p196-2core-nophases 196 1000 2 env MIMVERIFY_BENCH_NOPHASES=1
  pair p196-pair 196 1000
  run p1024-1core 1024 200 1
  run p1024-2core 1024 200 2
  run p1024-2core-nophases 1024 200 2 env MIMVERIFY_BENCH_NOPHASES=1
  pair p1024-pair 1024 200
done
