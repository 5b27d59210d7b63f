#!/usr/bin/env bash
# Issue 23 item 3 / issue 27: check and a 200-point sweep, base and head binaries
# interleaved, wall and CPU time with the load before each run.
# Usage: measure.sh BASE_REV [ROUNDS] [OUT_DIR]   (from the repository root;
# writes times.txt into OUT_DIR, default this script's directory)
set -euo pipefail
base=$1; rounds=${2:-3}
out=$(cd "${3:-$(dirname "$0")}" && pwd)
tmp=$(mktemp -d)
git worktree add -q "$tmp/base" "$base"
(cd "$tmp/base" && go build -o "$tmp/mv-base" ./cmd/mimverify)
go build -o "$tmp/mv-head" ./cmd/mimverify
git worktree remove --force "$tmp/base"
sweep=(sweep --preset default --vary gamma=0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75
  --vary z.U=1.05,1.1,1.15,1.2,1.25,1.3,1.35,1.4,1.45,1.5 --seeds 2 --claims C2,C3,C5,C7
  --samples 16 --eval 16 --jobs 2 --progress never --format csv)
: > "$out/times.txt"
for r in $(seq "$rounds"); do
  for v in base head; do
    for job in "check --progress never" "check --preset vit14 --progress never" "sweep"; do
      load=$(cut -d' ' -f1 /proc/loadavg)
      if [ "$job" = sweep ]; then args=("${sweep[@]}" --out "$tmp/s.csv"); else read -ra args <<< "$job"; fi
      /usr/bin/time -o "$tmp/t" -f "%e %U %S" "$tmp/mv-$v" "${args[@]}" > "$tmp/$v.out" 2>/dev/null || true
      t=$(tail -1 "$tmp/t")
      echo "round=$r bin=$v job=\"$job\" load=$load wall_user_sys=$t" | tee -a "$out/times.txt"
    done
  done
done
rm -rf "$tmp"
