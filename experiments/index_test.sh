#!/usr/bin/env bash
# Tests experiments/index.sh in a scratch git repository: a figure's row takes its command,
# commit, date and machine from provenance.txt (both formats) or the README; an unrecorded code
# commit becomes the commit of the folder's CSVs, marked as such; PNGs inside runs/ are left out;
# a figure with no command found fails the script (exit 1) and is named; --check notices a stale
# INDEX.md. Usage: experiments/index_test.sh (no root, a few seconds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "index_test.sh: FAIL: $*" >&2; exit 1; }
cd "$tmp"
git init -q .
git config user.email test@example.com
git config user.name test
mkdir -p experiments results/a/runs/job results/b results/c
cp "$here/index.sh" experiments/
# a: runner.sh provenance, code commit not recorded, redrawn.
printf '%s\n' "command=experiments/runner.sh experiments/specs/a.sh" \
  "commit=not recorded (an earlier runner.sh)" "gradwire=not recorded" "date=2026-11-25" \
  "machine=2 cores, kernel 6.1.0-x" >results/a/provenance.txt
printf '%s\n' "# a" "" "Made by \`experiments/runner.sh experiments/specs/a.sh\` (as root) at commit not recorded on 2026-11-25," \
  "2 cores, kernel 6.1.0-x; binary not recorded." \
  "Cells, plot and this README redrawn from runs.csv by \`experiments/runner.sh experiments/specs/a.sh --out results/a --plot-only\` at commit abcdef12-dirty on 2026-12-05T10:34Z." \
  >results/a/README.md
echo "x,y" >results/a/runs.csv
touch results/a/a.png results/a/runs/job/ignored.png
# b: three-line provenance (dnn_traffic.sh), machine in the README.
printf '%s\n' "experiments/dnn_traffic.sh --models 'a b'" 0123456789abcdef0123456789abcdef01234567 \
  "2026-12-04 17:04 UTC" >results/b/provenance.txt
printf '%s\n' "# b" "" "Made by \`experiments/dnn_traffic.sh --models 'a b'\` (as root) at commit 0123456789abcdef0123456789abcdef01234567, 2026-12-04 17:04 UTC," \
  "on 2 cores, kernel 6.18.44-fc-v1272. Topology: star." >results/b/README.md
touch results/b/b.png
# c: README only, no commit, no date.
printf '%s\n' "# c" "" "Made by \`make c\` (experiments/c.sh), on 4 cores," "Linux 6.1.0-y:" >results/c/README.md
echo "x" >results/c/c.csv
touch results/c/c.png
git add -A && git commit -q -m results
results_commit=$(git log -1 --format=%h -- results/a/runs.csv)

experiments/index.sh 2>/dev/null || fail "index.sh failed on a tree where every figure has a command"
idx=results/INDEX.md
row() { grep -F "| [$1](" "$idx" || fail "no row for $1"; }
row a/a.png | grep -qF "\`experiments/runner.sh experiments/specs/a.sh\`; figure redrawn by \`experiments/runner.sh experiments/specs/a.sh --out results/a --plot-only\` on 2026-12-05T10:34Z" ||
  fail "a: command or redraw: $(row a/a.png)"
row a/a.png | grep -qF "| $results_commit (commit of the results, the code commit was not recorded); figure redrawn at abcdef12-dirty | 2026-11-25 | 2 cores, kernel 6.1.0-x |" ||
  fail "a: commit, date or machine: $(row a/a.png)"
row b/b.png | grep -qF "| \`experiments/dnn_traffic.sh --models 'a b'\` ([README](b/README.md)) | 01234567 | 2026-12-04 17:04 UTC | 2 cores, kernel 6.18.44-fc-v1272 |" ||
  fail "b: $(row b/b.png)"
row c/c.png | grep -qF "| \`make c\` ([README](c/README.md)) | $(git log -1 --format=%h -- results/c/c.csv) (commit of the results, the code commit was not recorded) | $(git log -1 --format=%ad --date=short) (date of the commit of the results) | 4 cores, Linux 6.1.0-y |" ||
  fail "c: $(row c/c.png)"
! grep -q ignored.png "$idx" || fail "a PNG inside runs/ was indexed"
[[ $(grep -c '^| \[' "$idx") == 3 ]] || fail "expected 3 rows"
experiments/index.sh --check 2>/dev/null || fail "--check on a current INDEX.md"

# A figure without a command: exit 1, named.
mkdir -p results/d && touch results/d/d.png
if experiments/index.sh 2>"$tmp/err"; then fail "a figure without a command passed"; fi
grep -q 'results/d/d.png' "$tmp/err" || fail "the figure without a command was not named"
rm -r results/d
# A new figure makes the committed INDEX.md stale.
touch results/c/c2.png
if experiments/index.sh --check 2>/dev/null; then fail "--check missed a new figure"; fi
echo "index_test.sh: ok"
