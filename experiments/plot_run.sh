#!/usr/bin/env bash
# Plots a gradwire run directory (the files `gradwire run --out DIR` writes) into DIR/run.png:
#   - loss per iteration: the workers' mean minibatch loss (iterations.csv), NaN rows skipped;
#     for a coded run whose rounds.csv has losses (MDS: the workers' rows are all NaN, the
#     server's loss is on every other round), the server's loss from rounds.csv instead;
#   - where each worker's time went, mean ms per iteration (iteration 0 left out when there are
#     more: it holds the wait for the others to join): compute, injected straggler delay
#     (delay_s), write excluding the window wait (write_s - gate_s), window wait (gate_s: part of
#     write_s), wait for parameters (wait_s). Runs older than a column count it as 0;
#   - with accuracy.csv (--eval-every): test accuracy against time since joining.
# Every CSV is read by column name (experiments/lib/csv.sh). Prints what it drew: the loss's
# source and points, the breakdown's means over workers, the evaluations plotted.
# Usage: experiments/plot_run.sh DIR [TITLE]
set -euo pipefail
usage="usage: experiments/plot_run.sh DIR [TITLE]"
case ${1:-} in
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") echo "$usage" >&2; exit 2 ;;
esac
dir=$1
title=${2:-$(basename "$(realpath "$dir")")}
[[ -f "$dir/iterations.csv" ]] || { echo "plot_run.sh: no $dir/iterations.csv" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot_run.sh: gnuplot missing (make deps)" >&2; exit 1; }
# shellcheck source=experiments/lib/csv.sh
source "$(dirname "$0")/lib/csv.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A cell holding a number that is not NaN or infinite (mawk compares NaN equal to itself, so
# the test is on the text: gradwire writes nan, -nan, inf).
# shellcheck disable=SC2016  # awk code, not shell
finite='function finite(x) { return x != "" && x !~ /[nN][aA][nN]|[iI][nN][fF]/ }'

# iteration -> mean loss, and its exponential moving average (alpha 0.05)
ema() { sort -n | awk 'NR == 1 { e = $2 } { e = 0.95 * e + 0.05 * $2; print $1, $2, e }'; }
loss_source="mean over workers, iterations.csv"
if [[ -f $dir/rounds.csv ]] &&
  csv_awk "$finite"' has("loss") && finite(col("loss")) { f = 1 } END { exit !f }' "$dir/rounds.csv"; then
  loss_source="server, rounds.csv"
  csv_awk "$finite"' finite(col("loss")) { print col("iteration"), col("loss") }' "$dir/rounds.csv" |
    ema >"$tmp/loss.dat"
else
  csv_awk "$finite"' finite(col("loss")) { i = col("iteration"); s[i] += col("loss"); n[i]++ }
    END { for (i in s) print i, s[i] / n[i] }' "$dir/iterations.csv" | ema >"$tmp/loss.dat"
fi

# worker -> mean compute, delay, write - gate, gate, wait (ms), iterations >= skip
skip=$(csv_awk '{ if (col("iteration") > m) m = col("iteration") } END { print (m > 0 ? 1 : 0) }' \
  "$dir/iterations.csv")
csv_awk -v skip="$skip" 'col("iteration") >= skip {
    k = col("worker"); n[k]++; c[k] += col("compute_s"); t[k] += col("wait_s")
    g = has("gate_s") ? col("gate_s") : 0; w[k] += col("write_s") - g; q[k] += g
    d[k] += has("delay_s") ? col("delay_s") : 0 }
  END { for (k in n) { x = w[k] / n[k]; if (x < 0) x = 0  # coded: gate may overlap compute
    printf "%s %.4f %.4f %.4f %.4f %.4f\n", k, 1e3 * c[k] / n[k], 1e3 * d[k] / n[k], 1e3 * x,
      1e3 * q[k] / n[k], 1e3 * t[k] / n[k] } }' "$dir/iterations.csv" | sort -n >"$tmp/time.dat"
[[ -s $tmp/time.dat ]] || { echo "plot_run.sh: $dir/iterations.csv has no rows" >&2; exit 1; }
skipped="" per=iteration
[[ $skip == 1 ]] && skipped=", iteration 0 left out"
[[ -f $dir/rounds.csv ]] && per=round skipped=${skipped/iteration/round}  # coded: a row per round

panels=2
if [[ -f $dir/accuracy.csv ]]; then
  csv_awk "$finite"' finite(col("test_accuracy")) { print col("elapsed_s"), col("test_accuracy") }' \
    "$dir/accuracy.csv" | sort -g >"$tmp/accuracy.dat"
  [[ -s $tmp/accuracy.dat ]] && panels=3
fi

{
  echo "set terminal pngcairo size $((560 * panels)),560 font \",10\""
  echo "set output \"$dir/run.png\""
  echo "set multiplot layout 1,$panels title \"gradwire: ${title//\"/\'}\" font \",12\""
  echo "set grid; set key outside below center horizontal samplen 2; set bmargin 8"
  echo "set title \"loss per iteration ($loss_source)\""
  echo "set xlabel \"iteration\"; set ylabel \"loss\""
  if [[ -s $tmp/loss.dat ]]; then
    echo "plot \"$tmp/loss.dat\" using 1:2 with lines lw 1 lc rgb \"#bbbbbb\" title \"per iteration\", \\"
    echo "  \"\" using 1:3 with lines lw 2 lc rgb \"#1f77b4\" title \"moving average (weight 0.05)\""
  else
    echo "set label 1 \"no finite loss in this run\" at graph 0.5, graph 0.5 center"
    echo "set xrange [0:1]; set yrange [0:1]; plot NaN notitle"
    echo "unset label 1; set autoscale"
  fi
  echo "set title \"time per $per by worker (mean$skipped)\""
  echo "set xlabel \"worker\"; set ylabel \"ms per $per\"; set yrange [0:*]"
  echo "set style data histograms; set style histogram rowstacked"
  echo "set style fill solid 0.8 border -1; set boxwidth 0.6"
  echo "plot \"$tmp/time.dat\" using 2:xtic(1) title \"compute\" lc rgb \"#1f77b4\", \\"
  echo "  \"\" using 3 title \"straggler delay\" lc rgb \"#d62728\", \\"
  echo "  \"\" using 4 title \"write (without gate)\" lc rgb \"#2ca02c\", \\"
  echo "  \"\" using 5 title \"gate (window wait)\" lc rgb \"#9467bd\", \\"
  echo "  \"\" using 6 title \"wait for parameters\" lc rgb \"#ff7f0e\""
  if ((panels == 3)); then
    echo "set style data linespoints; set autoscale; set yrange [0:1]"
    echo "set title \"test accuracy (accuracy.csv)\""
    echo "set xlabel \"time since joining, s\"; set ylabel \"test accuracy\""
    echo "plot \"$tmp/accuracy.dat\" using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb \"#1f77b4\" title \"evaluating worker's model\""
  fi
  echo "unset multiplot"
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
# What was drawn, in words (the numbers are the bars' means over workers).
echo "plot: $dir/run.png"
echo "  loss: $(wc -l <"$tmp/loss.dat") iterations with a finite loss ($loss_source)"
awk -v per="$per" '{ for (j = 2; j <= 6; j++) m[j] += $j; n++ }
  END { printf "  ms per %s, mean over workers: compute %.2f, straggler delay %.2f, write without gate %.2f, gate %.2f, wait %.2f\n",
    per, m[2] / n, m[3] / n, m[4] / n, m[5] / n, m[6] / n }' "$tmp/time.dat"
if ((panels == 3)); then
  echo "  test accuracy: $(wc -l <"$tmp/accuracy.dat") evaluations (accuracy.csv)"
fi
