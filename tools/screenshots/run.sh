#!/bin/sh
# Renders the HTML reports a reader looks at into PNGs with headless
# Chromium, then loads each page in Chromium with the browser probe of
# internal/report (TestPagesInBrowser): `make screenshots` (issue 22,
# docs/FORMATS.md "Figures"). Skipped, with the reason, where Chromium is
# absent.
#
#   tools/screenshots/run.sh OUTDIR
#
# Pages: check on default and global-local; check on default under the
# learning-rate mutant (a -tags mutants build; the check fails, its sharp
# bands catch the slower learning); a two-axis and a one-axis sweep.
set -eu
out=${1:-build/screenshots}
chrome=""
for c in chromium chromium-browser google-chrome; do
	if command -v "$c" >/dev/null 2>&1; then chrome=$c; break; fi
done
if [ -z "$chrome" ]; then
	echo "screenshots: skipped: headless Chromium not found (Debian: apt-get install chromium)"
	exit 0
fi
GO=${GO:-go}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
$GO build -o "$bin/mimverify" ./cmd/mimverify
$GO build -tags mutants -o "$bin/mimverify-mutants" ./cmd/mimverify
m="$bin/mimverify"
$m check --format html --out "$out/check-default.html" --progress never >/dev/null
$m check --preset global-local --format html --out "$out/check-global-local.html" --progress never >/dev/null
# The mutant's check fails (exit 1): that is the page wanted.
MIMVERIFY_MUTANT=learning-rate "$bin/mimverify-mutants" check --format html --out "$out/check-mutant-learning-rate.html" --progress never >/dev/null || true
grep -q 'FAILS' "$out/check-mutant-learning-rate.html" || { echo "screenshots: the mutant's check did not fail"; exit 1; }
$m sweep --preset default --vary gamma=0.3,0.5,0.7 --vary z.kind=constant,uniform,two-point --claims C2,C3,C5,C7 \
	--engine orbit --format html --out "$out/sweep-two-axis.html" --progress never >/dev/null
$m sweep --preset default --vary eta=1,3,10,30 --seeds 3 --claims C2,C3,C7 \
	--engine orbit --format html --out "$out/sweep-one-axis.html" --progress never >/dev/null
for page in "$out"/*.html; do
	png=${page%.html}.png
	prof=$(mktemp -d)
	# Tall enough for the whole page at 1280 px; the rest is blank.
	h=6400
	case $page in *sweep*) h=3600 ;; esac
	"$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$prof" \
		--window-size=1280,$h --screenshot="$png" "file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")" >/dev/null 2>&1
	rm -rf "$prof"
	echo "screenshots: $png"
done
MIMVERIFY_PAGES="$(cd "$out" && pwd)" $GO test ./internal/report -run 'TestPagesInBrowser' -count=1
