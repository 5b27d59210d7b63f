#!/usr/bin/env bash
# The judge's false-alarm rate (docs/JUDGE.md §Power): `check` on each preset
# with seeds SEED0 … SEED0+SEEDS−1 — the right model on independent training
# and held-out sets — with the sharp bands and without the controls (a
# sweep over one cell). Every failing claim is a false alarm. Writes one CSV
# per preset into DIR and prints, per preset and claim, the failures over the
# asserted seeds, and the seeds at which any claim failed.
#
#   tools/falsealarms/run.sh [DIR]          (make false-alarms)
#
# Environment: MIMVERIFY (the binary, default ./mimverify), SEEDS (50),
# SEED0 (1000: apart from the seeds the tests and the gate use),
# PRESETS ("default global-local grid4 coverage"), JOBS (2), ARGS (more
# judge flags for every check, e.g. "--power 24": docs/JUDGE.md §Power).
set -euo pipefail
dir=${1:-build/false-alarms}
bin=${MIMVERIFY:-./mimverify}
seeds=${SEEDS:-50}
seed0=${SEED0:-1000}
jobs=${JOBS:-2}
mkdir -p "$dir"
for p in ${PRESETS:-default global-local grid4 coverage}; do
	start=$(date +%s)
	# One cell (--vary epsilon at its default), seeds seed0…: the check's
	# options, the sharp bands on, no controls (sweeps skip them).
	"$bin" sweep --preset "$p" --vary epsilon=0.1 --seeds "$seeds" --seed "$seed0" --sharp \
		${ARGS:-} --jobs "$jobs" --fail-on never --progress never --format csv --out "$dir/$p.csv" >/dev/null
	echo "## $p: $seeds seeds from $seed0, $(( $(date +%s) - start )) s"
	awk -F, 'NR > 1 && !/^#/ {
		if ($8 == "" && $9 == "true") { n[$6]++; if ($7 == "fails") { f[$6]++; bad[$3] = 1 } }
		seen[$3] = 1
	}
	END {
		for (c in n) printf "  %s: %d of %d asserted seeds fail\n", c, f[c] + 0, n[c]
		k = 0; for (s in bad) k++
		m = 0; for (s in seen) m++
		printf "  any claim: %d of %d seeds fail\n", k, m
	}' "$dir/$p.csv" | sort
done
