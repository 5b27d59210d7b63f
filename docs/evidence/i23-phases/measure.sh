#!/bin/bash
# Interleaved one core against two for the exact step (issue 23 item 1),
# head with phases, and base (one step at a time) on two cores.
#   docs/evidence/i23-phases/measure.sh BASE_TEST HEAD_TEST ROUNDS OUTDIR
# BASE_TEST and HEAD_TEST are `go test -c` binaries of ./dynamics.
set -eu
base=$1 head=$2 rounds=$3 out=$4
mkdir -p "$out"
b196="-test.run ^$ -test.bench ExactStep/P196$ -test.benchtime 1000x"
b1024="-test.run ^$ -test.bench ExactStep/P1024$ -test.benchtime 60x"
for r in $(seq 1 "$rounds"); do
  echo "round $r load $(cut -d' ' -f1 /proc/loadavg)" >> "$out/load.txt"
  GOMAXPROCS=1 $head $b196 -test.cpu 1 | grep Bench >> "$out/head-1core.txt"
  GOMAXPROCS=2 $head $b196 -test.cpu 2 | grep Bench >> "$out/head-2core.txt"
  GOMAXPROCS=2 MIMVERIFY_BENCH_NOPHASES=1 $head $b196 -test.cpu 2 | grep Bench >> "$out/head-nophases-2core.txt"
  GOMAXPROCS=2 $base $b196 -test.cpu 2 | grep Bench >> "$out/base-2core.txt"
  GOMAXPROCS=1 $base $b196 -test.cpu 1 | grep Bench >> "$out/base-1core.txt"
done
for r in $(seq 1 $(( (rounds + 2) / 3 ))); do
  GOMAXPROCS=1 MIMVERIFY_BENCH_P1024=1 $head $b1024 -test.cpu 1 | grep Bench >> "$out/p1024-head-1core.txt"
  GOMAXPROCS=2 MIMVERIFY_BENCH_P1024=1 $head $b1024 -test.cpu 2 | grep Bench >> "$out/p1024-head-2core.txt"
done
