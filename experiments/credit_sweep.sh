#!/usr/bin/env bash
# ByteScheduler's tuning, as a committed sweep (issue 16): the credit push order's two knobs,
# the partition size (--part-bytes) and the credit (bytes in flight, as a multiple of the
# partition), over a grid, each point a real gradwire job repeated REPS times through
# experiments/dnn_traffic.sh (scheme credit), beside the overlap scheme (fifo order, no credit)
# measured in the same run. ByteScheduler tunes both with Bayesian optimisation at run time
# (Peng et al., SOSP 2019); a grid of 9 points shows the whole surface instead, which is what a
# reader needs to judge where the tuner would land.
#
# Writes OUT (default results/credit-sweep/):
#   sweep.csv     one row per grid point (and the overlap reference): samples/s mean, sd, n,
#                 95 % CI, and vs_overlap
#   sweep.png     samples/s against the credit, one line per partition size, 95 % CI bars
#   README.md     the command, commit, settings, the table and the best point
#   runs/<point>/ each point's dnn_traffic.sh folder (runs.csv, summary.csv, every job's CSVs)
#
# Usage: experiments/credit_sweep.sh [options]   (as root: network namespaces)
#   --model M (resnet50)  --workers N (8)  --reps R (3)  --device-tflops X (0.1)
#   --parts "1048576 4194304 16777216"   partition sizes in bytes
#   --credits "1 4 16"                   credits, in partitions
#   --topology star|tree (star)
#   --out DIR  --dry-run  --report-only
set -euo pipefail
usage="usage: experiments/credit_sweep.sh [--model M] [--workers N] [--reps R] [--device-tflops X]
  [--parts \"B ...\"] [--credits \"K ...\"] [--topology star|tree] [--out DIR] [--dry-run | --report-only]"
model=resnet50 workers=8 reps=3 tflops=0.1 parts="1048576 4194304 16777216" credits="1 4 16"
topology=star out=results/credit-sweep mode=run
args=("$@")
while (($# > 0)); do
  case $1 in
    -h | --help) echo "$usage"; exit 0 ;;
    --dry-run) mode=dry-run; shift; continue ;;
    --report-only) mode=report; shift; continue ;;
  esac
  (($# >= 2)) || { echo "credit_sweep.sh: $1 needs a value; $usage" >&2; exit 2; }
  case $1 in
    --model) model=$2 ;;
    --workers) workers=$2 ;;
    --reps) reps=$2 ;;
    --device-tflops) tflops=$2 ;;
    --parts) parts=$2 ;;
    --credits) credits=$2 ;;
    --topology) topology=$2 ;;
    --out) out=$2 ;;
    *) echo "credit_sweep.sh: unknown option '$1'; $usage" >&2; exit 2 ;;
  esac
  shift 2
done
for v in $parts $credits $reps; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "credit_sweep.sh: '$v' is not a positive integer" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
# shellcheck source=experiments/lib/raw_runs.sh
source experiments/lib/raw_runs.sh
read -ra part_list <<<"$parts"
read -ra credit_list <<<"$credits"
# The overlap reference uses the middle partition size (fifo's order does not depend on it
# beyond the write sizes).
ref_part=${part_list[$((${#part_list[@]} / 2))]}
common=(--models "$model" --workers "$workers" --reps "$reps" --device-tflops "$tflops"
  --topology "$topology")
points=()  # "dir scheme part credit"
points+=("overlap overlap $ref_part 0")
for p in "${part_list[@]}"; do
  for k in "${credit_list[@]}"; do points+=("p$p-k$k credit $p $((k * p))"); done
done

if [[ $mode == run ]]; then
  # The commit the jobs ran at, and when they started (kept for --report-only).
  mkdir -p "$out"
  printf '%s\n' "experiments/credit_sweep.sh ${args[*]}" "$(git rev-parse HEAD)" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" >"$out/provenance.txt"
fi
if [[ $mode != report ]]; then
  k=0
  for point in "${points[@]}"; do
    read -r dir scheme p c <<<"$point"
    k=$((k + 1))
    flags=("${common[@]}" --schemes "$scheme" --part-bytes "$p" --out "$out/runs/$dir")
    [[ $scheme == credit ]] && flags+=(--credit "$c")
    if [[ $mode == dry-run ]]; then
      echo "experiments/dnn_traffic.sh ${flags[*]}"
      continue
    fi
    echo "credit_sweep.sh: point $k/${#points[@]}: $dir" >&2
    # A point that fails leaves its folder without a summary; the others still count.
    experiments/dnn_traffic.sh "${flags[@]}" || echo "credit_sweep.sh: point $dir failed" >&2
  done
  [[ $mode == dry-run ]] && exit 0
fi

# ---- sweep.csv: one row per point, from each point's summary.csv ----
# The points' folders are raw runs: a committed sweep keeps them packed (runs.tar.xz).
raw_runs_unpack "$out" || exit 1
sweep=$out/sweep.csv
echo "scheme,part_bytes,credit_bytes,n,samples_per_s,sd,ci95_low,ci95_high,vs_overlap" >"$sweep"
ref=""
for point in "${points[@]}"; do
  read -r dir scheme p c <<<"$point"
  summary=$out/runs/$dir/summary.csv
  [[ -f $summary ]] || { echo "credit_sweep.sh: no $summary (point failed?)" >&2; continue; }
  row=$(csv_awk -v s="$scheme" 'col("scheme") == s {
    print col("n") "," col("samples_per_s") "," col("sd") "," col("ci95_low") "," col("ci95_high") }' "$summary")
  [[ -n $row ]] || continue
  mean=$(cut -d, -f2 <<<"$row")
  [[ $scheme == overlap ]] && ref=$mean
  vs=""
  if [[ -n $ref ]]; then vs=$(awk -v m="$mean" -v r="$ref" 'BEGIN { printf "%.3f", m / r }'); fi
  echo "$scheme,$p,$c,$row,$vs" >>"$sweep"
done
column -s, -t "$sweep" >&2
best=$(csv_awk 'col("scheme") == "credit" && col("samples_per_s") + 0 > b {
  b = col("samples_per_s") + 0; row = col("part_bytes") " " col("credit_bytes") " " b " " col("ci95_low") " " col("ci95_high") }
  END { print row }' "$sweep")

# ---- plot: samples/s against the credit (partitions), a line per partition size ----
command -v gnuplot >/dev/null || { echo "credit_sweep.sh: gnuplot missing (make deps)" >&2; exit 1; }
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
plot=""
for p in "${part_list[@]}"; do
  csv_awk -v p="$p" 'col("scheme") == "credit" && col("part_bytes") == p {
    print col("credit_bytes") / p, col("samples_per_s"), col("ci95_low"), col("ci95_high") }' "$sweep" >"$data/$p.dat"
  plot+="${plot:+, }\"$data/$p.dat\" using 1:2:3:4 with yerrorlines pt 7 lw 2 title \"partition $((p >> 10)) KiB\""
done
[[ -n $ref ]] && plot+=", $ref with lines dt 2 lw 2 title \"overlap (fifo), $((ref_part >> 10)) KiB parts\""
# Room on both sides of the extreme credits, so their error bars show.
xmax=$(printf '%s\n' "${credit_list[@]}" | sort -n | tail -1 | awk '{ print $1 * 1.25 }')
gnuplot <<EOF
set terminal pngcairo size 900,520 font ",11"
set output "$out/sweep.png"
set title "credit push order: $model, $workers workers, $topology, $tflops TFLOP/s; mean of $reps, 95 % CI" noenhanced
set xlabel "credit (partitions in flight)"
set ylabel "samples/s (all workers)"
set logscale x 2
set xrange [0.8:$xmax]
set yrange [0:*]
set key bottom right
plot $plot
EOF

# ---- README ----
{
  echo "# The credit push order's partition size and credit (ByteScheduler's knobs)"
  echo
  if [[ -f $out/provenance.txt ]]; then
    mapfile -t prov <"$out/provenance.txt"
    echo "Made by \`${prov[0]}\` (as root) at commit ${prov[1]}, ${prov[2]}."
  fi
  echo "Each point: \`experiments/dnn_traffic.sh --schemes credit --part-bytes P --credit C\`"
  echo "with \`${common[*]}\` (its folder under runs/ holds every job's CSVs and command)."
  echo "The overlap row is the fifo order at ${ref_part}-byte parts, measured in the same run."
  echo "samples/s: mean of the repetitions; ci95: 95 % confidence interval (Student t)."
  echo
  echo '```'
  column -s, -t "$sweep"
  echo '```'
  echo
  if [[ -n $best ]]; then
    read -r bp bc bm blo bhi <<<"$best"
    echo "Best point: partitions of $bp bytes, credit $bc bytes ($((bc / bp)) x the partition):"
    echo "$bm samples/s (95 % CI $blo-$bhi). Points whose CIs overlap it are not distinguishable"
    echo "from it by these repetitions."
  fi
  echo
  echo "![samples/s against the credit](sweep.png)"
  # What the numbers mean is written by hand, next to them.
  if [[ -f $out/findings.md ]]; then
    echo
    cat "$out/findings.md"
  fi
} >"$out/README.md"
echo "credit_sweep.sh: wrote $out/" >&2
raw_runs_pack_committed "$out"
