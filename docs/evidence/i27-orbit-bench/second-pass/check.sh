#!/bin/bash
# Issue 27, second pass: check --preset vit14, base (e98094b) and the branch alternately, 2 rounds,
# each with a CPU profile of the whole command (MIMVERIFY_CPUPROFILE) for the reduced run's share.
out=${1:-.}
for r in 1 2; do for b in base final; do
  echo "round $r $b $(date -u +%T) $(uptime)" >> "$out/check-load.txt"
  MIMVERIFY_CPUPROFILE=$out/$b-$r.prof /usr/bin/time -f "$b $r: %e s wall %U s user %S s sys" \
    /tmp/o27/mim-$b check --preset vit14 --progress never > "$out/check-$b-$r.out" 2>> "$out/check-time.txt"
done; done
# go tool pprof -top -cum /tmp/o27/mim-$b $b-$r.prof | grep -E 'gatherSharp|pairTVs|popMeasurer|LossGrad'
