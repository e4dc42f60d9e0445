#!/usr/bin/env bash
# Plots a gradwire run directory (iterations.csv from `gradwire run`) into DIR/run.png:
# training loss per iteration (mean over workers) and where each worker's time went.
# Usage: experiments/plot_run.sh DIR [TITLE]
set -euo pipefail
dir=${1:?usage: experiments/plot_run.sh DIR [TITLE]}
title=${2:-$(basename "$dir")}
[[ -f "$dir/iterations.csv" ]] || { echo "plot_run.sh: no $dir/iterations.csv" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot_run.sh: gnuplot missing (make deps)" >&2; exit 1; }
# shellcheck source=experiments/lib/csv.sh
source "$(dirname "$0")/lib/csv.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# iteration -> mean loss over workers, and its exponential moving average (alpha 0.05)
csv_awk '{ i = col("iteration"); s[i] += col("loss"); n[i]++ } END { for (i in s) print i, s[i] / n[i] }' \
  "$dir/iterations.csv" | sort -n |
  awk 'NR == 1 { e = $2 } { e = 0.95 * e + 0.05 * $2; print $1, $2, e }' >"$tmp/loss.dat"
# worker -> mean compute, write, wait (ms)
csv_awk '{ k = col("worker"); c[k] += col("compute_s"); w[k] += col("write_s"); t[k] += col("wait_s"); n[k]++ }
  END { for (k in n) printf "%s %.4f %.4f %.4f\n", k, 1e3*c[k]/n[k], 1e3*w[k]/n[k], 1e3*t[k]/n[k] }' \
  "$dir/iterations.csv" | sort -n >"$tmp/time.dat"
gnuplot <<GP
set terminal pngcairo size 1200,480 font ",10"
set output "$dir/run.png"
set multiplot layout 1,2 title "gradwire: $title"
set title "training loss (mean over workers)"
set xlabel "iteration"; set ylabel "minibatch loss"; set grid
plot "$tmp/loss.dat" using 1:2 with lines lw 1 lc rgb "#bbbbbb" title "per iteration", \
     "" using 1:3 with lines lw 2 lc rgb "#1f77b4" title "moving average"
set title "time per iteration, by worker"
set xlabel "worker"; set ylabel "ms"; set style data histograms
set style histogram rowstacked; set style fill solid 0.8 border -1; set boxwidth 0.6
set key outside top center horizontal
plot "$tmp/time.dat" using 2:xtic(1) title "compute", "" using 3 title "write", "" using 4 title "wait"
unset multiplot
GP
echo "plot: $dir/run.png"
