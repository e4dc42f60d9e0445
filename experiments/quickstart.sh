#!/usr/bin/env bash
# `make run`: the quickstart experiment. One server and four workers as processes on this
# machine over loopback TCP, softmax regression on Fashion-MNIST under BSP. Writes
# results/quickstart/ (iterations.csv, summary.csv, server-0.csv, run.png, command.txt).
# Usage: experiments/quickstart.sh PATH/TO/gradwire
set -euo pipefail
gradwire=${1:?usage: experiments/quickstart.sh PATH/TO/gradwire}
cd "$(dirname "$0")/.."
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
out=results/quickstart
args=(--num-workers 4 --num-servers 1 --workload softmax --sync bsp --batch 64
      --iterations 2000 --lr 0.1 --lr-schedule cosine:total=2000 --momentum 0.9 --seed 1
      --out "$out")
"$gradwire" run "${args[@]}"
experiments/plot_run.sh "$out" "softmax, Fashion-MNIST, 1 server + 4 workers, BSP"
acc=$(csv_awk 'FNR == 2 { print col("test_accuracy") }' "$out/summary.csv")
# The code that made it: the commit, marked when sources outside results/ differ from it.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "unknown (not a git checkout)")
[[ -n $(git status --porcelain -- . ':!results' 2>/dev/null) ]] && commit+=" + uncommitted changes"
{
  echo "# results/quickstart"
  echo
  echo "Made by \`make run\` (experiments/quickstart.sh) at commit $commit, on $(nproc) cores,"
  echo "$(uname -sr):"
  echo
  echo '```'
  echo "gradwire run ${args[*]}"
  echo '```'
  echo
  echo "Test accuracy: $acc. Files: iterations.csv (one row per worker per iteration),"
  echo "summary.csv, server-0.csv, run.png (loss curve and time breakdown)."
} >"$out/README.md"
if awk -v a="$acc" 'BEGIN { exit !(a >= 0.80) }'; then
  echo "quickstart: test accuracy $acc (target >= 0.80: met)"
else
  echo "quickstart: test accuracy $acc is below the 0.80 target" >&2
  exit 1
fi
