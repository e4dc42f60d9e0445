#!/usr/bin/env bash
# `make windows`: incast vs round-robin write windows on an emulated star (issue #5). One
# server behind a shaped link (1 Gbit/s both ways, 1 MB switch buffer), 8 workers, 100 MiB
# gradients, BSP; each policy is a real job (gradwire server and workers in their network
# namespaces, TCP with CUBIC), in the same run:
#   burst        every worker posts at once (windows granted at once, but recorded);
#   round-robin  R2SP's turns (after its 5-iteration warm-up, which is burst).
# The reference is iperf3 through the same bottleneck in the same run (one CUBIC flow), so
# "bytes/rate" is the link's real goodput, not its nominal rate (TCP/IP headers take ~4.5 %).
#
# From the server's windows.csv, iterations >= WARMUP (both policies the same iterations):
#   push completion = landed - requested, per worker per iteration;
#   makespan        = last landed - first requested, per iteration.
# Targets: round-robin's makespan within 5 % of 8 x gradient / goodput, and its mean push
# completion <= 0.75 x burst's.
#
# Writes results/windows/: windows.csv (one row per policy), pushes.csv (every push),
# pushes.png, README.md and runs/<policy>/ (each job's CSVs and logs).
# Usage: experiments/windows.sh PATH/TO/gradwire [OUT]   (as root: network namespaces)
# Environment: WORKERS=8 GRAD=100M RATE=1gbit ITERATIONS=8 WARMUP=5 POLICIES="burst round-robin"
set -euo pipefail
gradwire=${1:?usage: experiments/windows.sh PATH/TO/gradwire [OUT]}
gradwire=$(realpath "$gradwire")
cd "$(dirname "$0")/.."
out=${2:-results/windows}
workers=${WORKERS:-8}
grad=${GRAD:-100M}
rate=${RATE:-1gbit}
iterations=${ITERATIONS:-8}
warmup=${WARMUP:-5}
policies=${POLICIES:-burst round-robin}
topo=experiments/topo/topo.sh
# shellcheck source=experiments/lib/netns_job.sh
source experiments/lib/netns_job.sh
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
command -v gnuplot >/dev/null || { echo "windows.sh: gnuplot missing (make deps)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "windows.sh: iperf3 missing (make deps)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "windows.sh: needs root (network namespaces)" >&2; exit 1; }

mkdir -p "$out/runs"
trap '"$topo" down >/dev/null 2>&1 || true' EXIT
echo "windows.sh: building a star: $workers workers, server link $rate, 1 MB buffer" >&2
"$topo" up star --workers "$workers" --rate "$rate" >/dev/null

# Reference: one CUBIC flow worker 0 -> server through the bottleneck, 8 s (first 2 omitted).
"$topo" exec server iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
sleep 0.5
goodput_bps=$("$topo" exec w0 iperf3 -c 10.77.0.100 -p 5201 -C cubic -t 8 -O 2 -J |
  awk -F'[:,]' '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { print $2; exit }')
wait
echo "windows.sh: iperf3 reference: $(awk -v b="$goodput_bps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s" >&2

grad_bytes=$(numfmt --from=iec "$grad")
job=(--num-workers "$workers" --workload synthetic --grad-bytes "$grad" --iterations "$iterations"
  --sync bsp --timeout 300)
for policy in $policies; do
  windows=$policy
  [[ $policy == round-robin ]] && windows="round-robin:warmup=$warmup"
  echo "windows.sh: $policy: $iterations iterations of $workers x $grad pushes..." >&2
  netns_job "$gradwire" "$out/runs/$policy" "$workers" "${job[@]}" --windows "$windows" || exit 1
done

# ---- analysis ----
pushes="$out/pushes.csv"
echo "policy,worker,iteration,requested_s,landed_s,completion_s" >"$pushes"
for policy in $policies; do
  # A push's first window row holds its request; sorted by iteration, then worker.
  csv_awk -v p="$policy" -v w0="$warmup" 'col("landed_s") !~ /nan/ && col("iteration") >= w0 {
      k = col("worker") "," col("iteration")
      if (!(k in req)) { req[k] = col("requested_s"); land[k] = col("landed_s") } }
    END { for (k in req) printf "%s,%s,%.9f,%.9f,%.9f\n", p, k, req[k], land[k], land[k] - req[k] }' \
    "$out/runs/$policy/windows.csv" | sort -t, -k3,3n -k2,2n >>"$pushes"
done
summary="$out/windows.csv"
echo "policy,pushes,mean_completion_s,max_completion_s,mean_makespan_s,ideal_makespan_s,makespan_over_ideal,goodput_mbps,mean_completion_over_burst" >"$summary"
ideal=$(awk -v n="$workers" -v b="$grad_bytes" -v g="$goodput_bps" 'BEGIN { printf "%.6f", n * b * 8 / g }')
burst_mean=""
for policy in $policies; do
  # The ratio divides the means as printed (4 decimals); burst's own row gets 1.
  csv_awk -v p="$policy" -v ideal="$ideal" -v g="$goodput_bps" -v burst="$burst_mean" '
    col("policy") == p {
      n++; c = col("completion_s"); s += c; if (c > mx) mx = c
      it = col("iteration"); if (!(it in lo) || col("requested_s") < lo[it]) lo[it] = col("requested_s")
      if (col("landed_s") > hi[it]) hi[it] = col("landed_s") }
    END { for (it in lo) { m += hi[it] - lo[it]; k++ }
      mean = sprintf("%.4f", s / n); if (p == "burst") burst = mean
      ratio = (burst == "") ? "" : sprintf("%.4f", mean / burst)
      printf "%s,%d,%s,%.4f,%.4f,%.4f,%.4f,%.1f,%s\n", p, n, mean, mx, m / k, ideal, m / k / ideal, g / 1e6,
        ratio }' "$pushes" >>"$summary"
  [[ $policy != burst ]] ||
    burst_mean=$(csv_awk 'col("policy") == "burst" { print col("mean_completion_s") }' "$summary")
done
column -s, -t "$summary" >&2

# Push completion per worker, both policies: each push from its request to its landing.
completions=$(mktemp -d)
trap 'rm -rf "$completions"; "$topo" down >/dev/null 2>&1 || true' EXIT
for policy in burst round-robin; do
  csv_awk -v p="$policy" 'col("policy") == p { print col("completion_s") }' "$pushes" |
    sort -n >"$completions/$policy"
done
gnuplot <<EOF
set terminal pngcairo size 1000,560 font ",11"
set output "$out/pushes.png"
set datafile separator ","
set title "8 x $grad pushes through a $rate server link (iterations >= $warmup)"
set xlabel "push completion (landed - requested), s"
set ylabel "fraction of pushes"
set key bottom right
set grid
stats "$completions/burst" using 1 nooutput name "B"
stats "$completions/round-robin" using 1 nooutput name "R"
plot "$completions/burst" using 1:(1.0/B_records) smooth cumulative lw 2 title "burst (all at once)", \
     "$completions/round-robin" using 1:(1.0/R_records) smooth cumulative lw 2 title "round-robin (R2SP turns)"
EOF

{
  echo "# Write windows against incast: burst vs round-robin"
  echo
  echo "Made by \`make windows\` (experiments/windows.sh) on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "kernel $(uname -r): star of network namespaces, server link $rate both ways (HTB,"
  echo "1 MB bfifo), $workers workers pushing $grad gradients under BSP, TCP with CUBIC."
  echo "Iterations >= $warmup of $iterations (round-robin's first $warmup are its burst warm-up)."
  echo
  echo "Reference in the same run: iperf3, one CUBIC flow through the bottleneck:"
  echo "$(awk -v b="$goodput_bps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s."
  echo "Ideal makespan = $workers x $grad / that goodput = ${ideal} s."
  echo
  echo '```'
  column -s, -t "$summary"
  echo '```'
  echo
  csv_awk 'col("policy") == "round-robin" {
      r = col("makespan_over_ideal")
      printf "- round-robin makespan / ideal: %.3f (target <= 1.05): %s\n", r, (r <= 1.05 ? "met" : "NOT met")
      r = col("mean_completion_over_burst")
      if (r != "") printf "- round-robin mean push completion / burst: %.3f (target <= 0.75): %s\n", r, (r <= 0.75 ? "met" : "NOT met") }' "$summary"
  echo
  echo "![push completion](pushes.png)"
  echo
  echo "Files: windows.csv (this table), pushes.csv (every push), runs/<policy>/ (the job's"
  echo "windows.csv, writes-W.csv, worker-W.csv, logs and command.txt)."
} >"$out/README.md"
echo "windows.sh: wrote $out/README.md" >&2
