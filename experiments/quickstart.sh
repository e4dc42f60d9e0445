#!/usr/bin/env bash
# `make run`: the quickstart experiment. One server and four workers as processes on this
# machine over loopback TCP, softmax regression on Fashion-MNIST under BSP. Writes OUT:
# iterations.csv, summary.csv, server-0.csv, worker-W.csv, command.txt (gradwire run's), run.png
# (experiments/plot_run.sh) and README.md (the command, commit, date and machine). Fails (exit 1)
# when the test accuracy is below 0.80.
#
# Usage: experiments/quickstart.sh [--out DIR] PATH/TO/gradwire
#   --out DIR   where results go (default: results/runs/quickstart-<UTC date-time>, which git
#               ignores, so `make run` leaves the checkout clean); the environment variable
#               QUICKSTART_OUT does the same. The committed results are remade with
#               `experiments/quickstart.sh --out results/quickstart build/apps/gradwire/gradwire`.
set -euo pipefail
usage="usage: experiments/quickstart.sh [--out DIR] PATH/TO/gradwire   (or QUICKSTART_OUT=DIR)"
# The command as given, for the README (QUICKSTART_OUT first when it chose the folder).
invocation=$(printf '%q ' "$0" "$@")
[[ -n ${QUICKSTART_OUT:-} ]] && invocation="QUICKSTART_OUT=$(printf '%q' "$QUICKSTART_OUT") $invocation"
made_by="\`${invocation% }\`"
out=${QUICKSTART_OUT:-}
gradwire=""
while (($# > 0)); do
  case $1 in
    -h | --help) echo "$usage"; exit 0 ;;
    --out)
      (($# >= 2)) || { echo "quickstart.sh: --out needs a folder; $usage" >&2; exit 2; }
      out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -*) echo "quickstart.sh: unknown option '$1'; $usage" >&2; exit 2 ;;
    *)
      [[ -z $gradwire ]] || { echo "quickstart.sh: one gradwire binary, not '$1' too; $usage" >&2; exit 2; }
      gradwire=$1; shift ;;
  esac
done
[[ -n $gradwire ]] || { echo "$usage" >&2; exit 2; }
[[ -x $gradwire ]] || { echo "quickstart.sh: no gradwire at $gradwire (make build)" >&2; exit 1; }
# Paths given are the caller's; the script runs from the repository root.
gradwire=$(realpath "$gradwire")
[[ -z $out || $out == /* ]] || out=$PWD/$out
cd "$(dirname "$0")/.."
repo=$PWD
if [[ -z $out ]]; then
  out=results/runs/quickstart-$(date -u +%Y%m%d-%H%M%S)
  made_by+=" (what \`make run\` runs)"
fi
# Inside the repository, the folder by its path from the root (what the README and the
# recorded command should say).
out=$(realpath -m --relative-base="$repo" "$out")
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
echo "quickstart: results go to $out/" >&2
mkdir -p "$out"
args=(--num-workers 4 --num-servers 1 --workload softmax --sync bsp --batch 64
      --iterations 2000 --lr 0.1 --lr-schedule cosine:total=2000 --momentum 0.9 --seed 1
      --out "$out")
"$gradwire" run "${args[@]}"
experiments/plot_run.sh "$out" "softmax, Fashion-MNIST, 1 server + 4 workers, BSP"
acc=$(csv_awk 'FNR == 2 { print col("test_accuracy") }' "$out/summary.csv")
# The code that made it: the commit, -dirty when tracked files outside results/ differ from it.
if commit=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- . ':!results' 2>/dev/null || commit+=-dirty
else
  commit="unknown (not a git checkout)"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
{
  echo "# $out"
  echo
  echo "Made by $made_by"
  echo "at commit $commit on $(date -u '+%Y-%m-%d %H:%M UTC'), on $(nproc) cores${cpu:+ ($cpu)},"
  echo "$(uname -sr). It ran:"
  echo
  echo '```'
  echo "gradwire run ${args[*]}"
  echo '```'
  echo
  echo "Test accuracy: $acc. Files: iterations.csv (one row per worker per iteration),"
  echo "summary.csv, server-0.csv, worker-W.csv, command.txt, run.png (loss curve and time breakdown)."
} >"$out/README.md"
echo "quickstart: wrote $out/ (README.md, run.png, CSVs)"
if awk -v a="$acc" 'BEGIN { exit !(a >= 0.80) }'; then
  echo "quickstart: test accuracy $acc (target >= 0.80: met)"
else
  echo "quickstart: test accuracy $acc is below the 0.80 target" >&2
  exit 1
fi
