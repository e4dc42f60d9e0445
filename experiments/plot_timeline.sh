#!/usr/bin/env bash
# Plots one iteration of a layered job (issue 16) into DIR/timeline.png, as the figures of P3
# (Jayarajan et al., MLSys 2019) and ByteScheduler (Peng et al., SOSP 2019) do: one row per
# worker, time in ms since that worker began the iteration. For each layer, in the row:
#   top     a thin bar while it computes: its forward pass (pale), then its backward pass;
#   middle  a bar from its gradient's first write posted to its last write completed;
#   bottom  a triangle where its parameters for the next iteration had all landed.
# One colour per layer, from the first layer's (dark blue) to the last's (yellow), so the
# order pushes went in shows at a glance (fifo: yellow first; P3's priority: blue first); a
# colour bar maps colours to layers.
# Reads the workers' per-layer records (ps/results.h LayerRecord): DIR/layers.csv, or else
# every DIR/layers-*.csv (one per worker).
# Usage: experiments/plot_timeline.sh DIR [ITERATION]   (default: the median iteration present)
set -euo pipefail
usage="usage: experiments/plot_timeline.sh DIR [ITERATION]"
dir=${1:?$usage}
iteration=${2:-}
if [[ -n $iteration && ! $iteration =~ ^[0-9]+$ ]]; then
  echo "plot_timeline.sh: iteration '$iteration' is not a number; $usage" >&2
  exit 2
fi
if [[ -f "$dir/layers.csv" ]]; then
  files=("$dir/layers.csv")
else
  shopt -s nullglob
  files=("$dir"/layers-*.csv)
  shopt -u nullglob
fi
if ((${#files[@]} == 0)); then
  echo "plot_timeline.sh: no $dir/layers.csv nor $dir/layers-*.csv (layered workloads write them)" >&2
  exit 1
fi
command -v gnuplot >/dev/null || { echo "plot_timeline.sh: gnuplot missing (make deps)" >&2; exit 1; }
# shellcheck source=experiments/lib/csv.sh
source "$(dirname "$0")/lib/csv.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

present=$(csv_awk '{ print col("iteration") }' "${files[@]}" | sort -nu)
[[ -n $present ]] || { echo "plot_timeline.sh: ${files[*]} hold no rows" >&2; exit 1; }
if [[ -z $iteration ]]; then
  iteration=$(awk '{ i[NR] = $1 } END { print i[int((NR + 1) / 2)] }' <<<"$present")
elif ! grep -qx "$iteration" <<<"$present"; then
  echo "plot_timeline.sh: no iteration $iteration in ${files[*]}" \
    "(present: $(head -1 <<<"$present")..$(tail -1 <<<"$present"))" >&2
  exit 1
fi

# Boxes (x_low x_high y_low y_high layer) and markers (x y layer), in ms. A layer's backward
# pass starts when the next layer's (in forward order) ended, backprop running last to first;
# the last layer's starts when the forward pass ended. A time that is not a number (the
# iteration ended before it happened) draws nothing.
csv_awk -v it="$iteration" -v forward="$tmp/forward.dat" -v backward="$tmp/backward.dat" \
  -v pushes="$tmp/pushes.dat" \
  -v marks="$tmp/marks.dat" -v rows="$tmp/workers.dat" '
function ok(x) { return x ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }
function box(file, lo, hi, y, half, l) {
  if (!ok(lo) || !ok(hi)) return
  printf "%.6f %.6f %.3f %.3f %d\n", 1e3 * lo, 1e3 * hi, y - half, y + half, l > file
}
col("iteration") == it {
  w = col("worker") + 0; l = col("layer") + 0
  key = w SUBSEP l
  fs[key] = col("forward_start_s"); fe[key] = col("forward_end_s"); be[key] = col("backward_end_s")
  ps[key] = col("push_start_s"); pe[key] = col("push_end_s"); pa[key] = col("params_s")
  if (!(w in last) || l > last[w]) last[w] = l
  if (ok(fe[key]) && (!(w in forward_end) || fe[key] + 0 > forward_end[w])) {
    forward_end[w] = fe[key] + 0
  }
}
END {
  for (key in fs) {
    split(key, k, SUBSEP); w = k[1]; l = k[2]
    # Worker 0 on top: rows count down, and within a row compute above push above landing.
    y = -w
    box(forward, fs[key], fe[key], y + 0.3, 0.05, l)
    next_key = w SUBSEP (l + 1)
    backward_start = (next_key in be) ? be[next_key] : forward_end[w]
    box(backward, backward_start, be[key], y + 0.3, 0.05, l)
    box(pushes, ps[key], pe[key], y, 0.16, l)
    if (ok(pa[key])) printf "%.6f %.3f %d\n", 1e3 * pa[key], y - 0.3, l > marks
  }
  for (w in last) printf "%d %d\n", w, last[w] + 1 > rows
}' "${files[@]}"
sort -n "$tmp/workers.dat" -o "$tmp/workers.dat"
touch "$tmp/forward.dat" "$tmp/backward.dat" "$tmp/pushes.dat" "$tmp/marks.dat"
workers=$(wc -l <"$tmp/workers.dat")
layers=$(awk '$2 > n { n = $2 } END { print n }' "$tmp/workers.dat")
ytics=$(awk '{ printf "%s\"worker %d\" %d", (NR > 1 ? ", " : ""), $1, -$1 }' "$tmp/workers.dat")
lowest=$(awk 'NR == 1 || -$1 < y { y = -$1 } END { print y }' "$tmp/workers.dat")
highest=$(awk 'NR == 1 || -$1 > y { y = -$1 } END { print y }' "$tmp/workers.dat")

# The last iteration's parameters never land: no markers then (gnuplot warns of an empty file).
marks=""
[[ -s "$tmp/marks.dat" ]] &&
  marks="\"$tmp/marks.dat\" using 1:2:3 with points pt 9 ps 1.2 lc palette notitle,"
gnuplot <<GP
set terminal pngcairo size 1400,$((160 + 110 * workers)) font ",10"
set output "$dir/timeline.png"
set title "gradwire: $(basename "$dir"), iteration $iteration ($workers workers, $layers layers)"
set xlabel "ms since the worker began the iteration"
set ytics ($ytics)
set yrange [$lowest - 0.6 : $highest + 0.6]
set grid xtics
set key outside top center horizontal
# Viridis: ordered, and distinguishable in grey and by the colour-blind.
set palette defined (0 "#440154", 1 "#3b528b", 2 "#21918c", 3 "#5ec962", 4 "#fde725")
set cbrange [0 : $((layers > 1 ? layers - 1 : 1))]
set cblabel "layer (forward order)"
# Compute bars are too thin for borders; push bars keep theirs so neighbours stay apart.
set style fill solid 0.9 noborder
box = "using ((\$1 + \$2) / 2):((\$3 + \$4) / 2):1:2:3:4:5 with boxxyerror lc palette notitle"
plot "$tmp/forward.dat" @box fs transparent solid 0.4 noborder, \
     "$tmp/backward.dat" @box, \
     "$tmp/pushes.dat" @box fs solid 0.9 border lc rgb "#404040", $marks \
     keyentry with boxes fs transparent solid 0.4 lc rgb "#808080" title "forward compute", \
     keyentry with boxes lc rgb "#808080" title "backward compute", \
     keyentry with boxes lc rgb "#808080" title "push: first write posted .. last write done", \
     keyentry with points pt 9 lc rgb "#808080" title "parameters for the next iteration landed"
GP
echo "plot: $dir/timeline.png"
