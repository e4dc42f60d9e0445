#!/usr/bin/env bash
# `make tta`: time to accuracy under contention (issue #5). Fashion-MNIST on a 784-H-10 MLP
# (H = 1024: 3.2 MB gradients), WORKERS workers behind a shaped server link (1 Gbit/s both
# ways, 1 MB switch buffer: the star of experiments/topo), TCP with CUBIC; the same job under
# each sync rule: BSP, ASP, SSP and R2SP (round-robin write windows). Every rule processes
# the same data (ITERATIONS per worker, batch 64 each); worker 0 keeps its model every
# EVAL_EVERY iterations and evaluates them after the run (accuracy.csv), so evaluation does
# not slow the run.
#
# Writes results/tta/: tta.csv (per rule: time to TARGET accuracy, final accuracy, wall time,
# mean iteration time and its split), accuracy.png (test accuracy over time), README.md and
# runs/<rule>/. Usage: experiments/tta.sh PATH/TO/gradwire [OUT]   (as root)
# Environment: WORKERS=8 RATE=1gbit HIDDEN=1024 ITERATIONS=300 EVAL_EVERY=10 TARGET=0.82
# LR=0.05 RULES="bsp asp ssp:2 r2sp" STRAGGLER=none; PLOT_ONLY=1 redoes the analysis of
# existing runs/. A rule is a --sync value, or r2sp-tuned (--sync r2sp --batch-tuning: batches
# sized by speed, so workers then process different rows per iteration). STRAGGLER is a
# --straggler model, e.g. persistent:workers=1+2,factor=4,base=0.05 for heterogeneous compute.
set -euo pipefail
gradwire=${1:?usage: experiments/tta.sh PATH/TO/gradwire [OUT]}
gradwire=$(realpath "$gradwire")
cd "$(dirname "$0")/.."
out=${2:-results/tta}
workers=${WORKERS:-8}
rate=${RATE:-1gbit}
hidden=${HIDDEN:-1024}
iterations=${ITERATIONS:-300}
eval_every=${EVAL_EVERY:-10}
target=${TARGET:-0.82}
lr=${LR:-0.05}
rules=${RULES:-bsp asp ssp:2 r2sp}
straggler=${STRAGGLER:-none}
topo=experiments/topo/topo.sh
# shellcheck source=experiments/lib/netns_job.sh
source experiments/lib/netns_job.sh
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
command -v gnuplot >/dev/null || { echo "tta.sh: gnuplot missing (make deps)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "tta.sh: needs root (network namespaces)" >&2; exit 1; }

if [[ -z ${PLOT_ONLY:-} ]]; then
mkdir -p "$out/runs"
trap '"$topo" down >/dev/null 2>&1 || true' EXIT
echo "tta.sh: building a star: $workers workers, server link $rate, 1 MB buffer" >&2
"$topo" up star --workers "$workers" --rate "$rate" >/dev/null

job=(--num-workers "$workers" --workload mlp --hidden "$hidden" --iterations "$iterations"
  --lr "$lr" --eval-every "$eval_every" --timeout 120 --straggler "$straggler")
started=$(date +%s)
i=0
for rule in $rules; do
  i=$((i + 1))
  echo "tta.sh: [$i/$(wc -w <<<"$rules")] $rule ($(($(date +%s) - started)) s so far)..." >&2
  flags=(--sync "$rule")
  [[ $rule == r2sp-tuned ]] && flags=(--sync r2sp --batch-tuning)
  netns_job "$gradwire" "$out/runs/${rule//:/-}" "$workers" "${job[@]}" "${flags[@]}" || exit 1
done
fi

# ---- analysis ----
csv="$out/tta.csv"
echo "rule,target,time_to_target_s,iteration_at_target,final_accuracy,wall_s,iteration_s,compute_s,write_s,gate_s,wait_s" >"$csv"
for rule in $rules; do
  run="$out/runs/${rule//:/-}"
  [[ -f $run/iterations.csv ]] || merge_iterations "$run"
  # First kept model at or above the target (interpolation would claim more than we measured).
  reach=$(csv_awk -v t="$target" 'col("test_accuracy") >= t {
      printf "%.3f,%d", col("elapsed_s"), col("iteration"); f = 1; exit }
    END { if (!f) print "," }' "$run/accuracy.csv")
  final=$(csv_awk '{ a = col("test_accuracy") } END { printf "%.4f", a }' "$run/accuracy.csv")
  wall=$(csv_awk 'FNR == 2 { printf "%.2f", col("train_s") }' "$run/summary.csv")
  # compute includes the emulated straggler delay (delay_s; 0 without --straggler).
  split=$(csv_awk '{ n++; c += col("compute_s") + col("delay_s"); w += col("write_s")
      q += col("wait_s"); g += col("gate_s") }
    END { printf "%.4f,%.4f,%.4f,%.4f,%.4f", (c + w + q) / n, c / n, w / n, g / n, q / n }' "$run/iterations.csv")
  echo "$rule,$target,$reach,$final,$wall,$split" >>"$csv"
done
column -s, -t "$csv" >&2

plot=""
for rule in $rules; do
  [[ -n $plot ]] && plot+=", "
  plot+="\"$out/runs/${rule//:/-}/accuracy.csv\" using \"elapsed_s\":\"test_accuracy\" with linespoints lw 2 pt 7 ps 0.5 title \"$rule\""
done
gnuplot <<EOF
set terminal pngcairo size 1000,560 font ",11"
set output "$out/accuracy.png"
set datafile separator ","
set datafile columnheaders
set title "Fashion-MNIST, MLP 784-$hidden-10, $workers workers behind a $rate server link"
set xlabel "time since the workers joined, s"
set ylabel "test accuracy (worker 0's model)"
set yrange [0.5:0.9]
set key bottom right
set grid
set arrow from graph 0, first $target to graph 1, first $target nohead dt 2 lc rgb "gray"
plot $plot
EOF

same="(the same data for every rule)"
[[ " $rules " == *" r2sp-tuned "* ]] && same="(r2sp-tuned: batches sized by worker speed, the same total per round)"
{
  if [[ $rules == "bsp asp ssp:2 r2sp" && $straggler == none ]]; then
    echo "# Time to accuracy under contention: BSP, ASP, SSP, R2SP"
    echo
    echo "Made by \`make tta\` (experiments/tta.sh) on $(date -u +%Y-%m-%d), $(nproc) cores, kernel"
  else
    echo "# Time to accuracy under contention: $rules; stragglers: $straggler"
    echo
    echo "Made by \`RULES=\"$rules\" STRAGGLER=$straggler WORKERS=$workers RATE=$rate HIDDEN=$hidden"
    echo "ITERATIONS=$iterations EVAL_EVERY=$eval_every TARGET=$target LR=$lr"
    echo "experiments/tta.sh build/apps/gradwire/gradwire $out\` on $(date -u +%Y-%m-%d), $(nproc) cores, kernel"
  fi
  echo "$(uname -r): star of network namespaces, server link $rate both ways (HTB, 1 MB bfifo),"
  echo "$workers workers, Fashion-MNIST on a 784-$hidden-10 MLP ($((4 * (784 * hidden + hidden + 10 * hidden + 10) / 1000)) kB"
  echo "gradients), batch 64 per worker, lr $lr, momentum 0.9, $iterations iterations per worker"
  echo "$same, TCP with CUBIC, --straggler $straggler. Accuracy of worker 0's model every"
  echo "$eval_every iterations on the 10,000 test images; time to the first kept model >= $target."
  echo "Iteration times are worker means: compute (with --straggler's emulated time), write (gate: the part waiting for a window),"
  echo "wait (for parameters)."
  echo
  echo '```'
  column -s, -t "$csv"
  echo '```'
  echo
  echo "![accuracy over time](accuracy.png)"
  echo
  echo "Files: tta.csv, runs/<rule>/ (accuracy.csv, iterations.csv, windows.csv for r2sp, logs,"
  echo "command.txt)."
} >"$out/README.md"
echo "tta.sh: wrote $out/README.md" >&2
