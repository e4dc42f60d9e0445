#!/usr/bin/env bash
# Figures quoted in results/README.md that runs.csv does not hold, from a results folder's
# per-job CSVs (runs/<job>/):
#   experiments/summarize.sh rounds DIR [FROM TO]
#       coded jobs: the server's mean round time (rounds.csv duration_s), rounds FROM..TO
#       (default 6..13), one line per job
#   experiments/summarize.sh workers DIR W1,W2,... [FROM]
#       the mean iteration time (compute + delay + write + wait, iterations.csv) of the listed
#       workers and of the others, iterations >= FROM (default 6), one line per job
set -euo pipefail
# shellcheck source=experiments/lib/csv.sh
source "$(dirname "$0")/lib/csv.sh"
# shellcheck source=experiments/lib/raw_runs.sh
source "$(dirname "$0")/lib/raw_runs.sh"
usage="usage: experiments/summarize.sh rounds DIR [FROM TO] | workers DIR W1,W2,... [FROM]"
what=${1:-}
dir=${2:-}
[[ -n $dir ]] && raw_runs_unpack "$dir"  # committed folders keep their runs packed
[[ -d $dir/runs ]] || { echo "summarize.sh: no $dir/runs (a runner.sh results folder); $usage" >&2; exit 2; }
case $what in
  rounds)
    from=${3:-6} to=${4:-13}
    for job in "$dir"/runs/*/; do
      [[ -f $job/rounds.csv ]] || continue
      csv_awk -v j="$(basename "$job")" -v a="$from" -v b="$to" \
        'col("round") >= a && col("round") <= b { s += col("duration_s"); n++ }
         END { if (n) printf "%-70s %.3f s (rounds %d-%d, n=%d)\n", j, s / n, a, b, n }' \
        "$job/rounds.csv"
    done
    ;;
  workers)
    list=${3:?$usage}
    from=${4:-6}
    for job in "$dir"/runs/*/; do
      [[ -f $job/iterations.csv ]] || continue
      csv_awk -v j="$(basename "$job")" -v l="$list" -v a="$from" '
        BEGIN { n = split(l, w, ","); for (i = 1; i <= n; i++) pick[w[i]] = 1 }
        col("iteration") >= a {
          t = col("compute_s") + col("write_s") + col("wait_s") + col("delay_s")
          if (col("worker") in pick) { s += t; ns++ } else { o += t; no++ }
        }
        END { printf "%-60s workers %s %.3f s, others %.3f s\n", j, l, ns ? s / ns : 0, no ? o / no : 0 }' \
        "$job/iterations.csv"
    done
    ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
