#!/usr/bin/env bash
# What a simulation costs (issue 18): `gradwire sim` jobs of N workers (BSP; by default synthetic
# gradients, one server on a 1 Gbit/s star) for each N, timed on this machine. Writes into OUT:
#   cost.csv        workers, workload, grad_bytes, iterations, simulated_s, wall_s, cpu_s (user +
#                   system: what the run cost even on a loaded machine), peak_rss_mb, and
#                   worker_iterations_per_wall_s (workers x iterations / wall_s)
#   cost.png        worker-iterations per wall second and peak memory against workers
#   README.md, provenance.txt   the command, commit, date, machine
#   runs/N/         each job's own results
# Usage: experiments/sim_scale.sh OUT [--workers "64 256 1024"] [--grad 1M] [--iterations 5]
#          [--workload W] [--servers S] [--topology T] [--phantom]
#   --workload W    synthetic (default; --grad sets its size) or a model's traffic (model:resnet50)
#   --servers S     servers sharding the model (1)
#   --topology T    gradwire sim's fabric (star)
#   --phantom       phantom payloads: sizes without bytes (what lets 1,024 ResNet-50 workers fit)
# GRADWIRE=path/to/gradwire (default build/apps/gradwire/gradwire). The machine's load average
# when the runs start is in provenance.txt: wall times measured beside other work are longer.
set -euo pipefail
usage='usage: experiments/sim_scale.sh OUT [--workers "N..."] [--grad SIZE] [--iterations K] [--workload W] [--servers S] [--topology T] [--phantom]'
(($# >= 1)) || { echo "$usage" >&2; exit 2; }
out=$(realpath -m "$1")
shift
workers="64 256 1024" grad=1M iterations=5 workload=synthetic servers=1 topology=star phantom=""
while (($#)); do
  case $1 in
    --phantom) phantom=1 ;;
    --workers | --grad | --iterations | --workload | --servers | --topology)
      (($# >= 2)) || { echo "sim_scale.sh: $1 needs a value; $usage" >&2; exit 2; }
      case $1 in
        --workers) workers=$2 ;; --grad) grad=$2 ;; --iterations) iterations=$2 ;;
        --workload) workload=$2 ;; --servers) servers=$2 ;; --topology) topology=$2 ;;
      esac
      shift ;;
    *) echo "sim_scale.sh: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
  shift
done
for n in $workers; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "sim_scale.sh: worker count '$n' is not a positive integer" >&2; exit 2; }
done
[[ $iterations =~ ^[1-9][0-9]*$ ]] || { echo "sim_scale.sh: --iterations wants a positive integer" >&2; exit 2; }
[[ $servers =~ ^[1-9][0-9]*$ ]] || { echo "sim_scale.sh: --servers wants a positive integer" >&2; exit 2; }
# The job's own flags beyond the defaults, as given to every run.
job=(--workload "$workload" --num-servers "$servers" --topology "$topology")
[[ $workload == synthetic ]] && job+=(--grad-bytes "$grad")
[[ -z $phantom ]] || job+=(--phantom-payloads)
cd "$(dirname "$0")/.."
gradwire=$(realpath -m "${GRADWIRE:-build/apps/gradwire/gradwire}")
[[ -x $gradwire ]] || { echo "sim_scale.sh: no gradwire binary at $gradwire (make, or GRADWIRE=...)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "sim_scale.sh: gnuplot missing (make deps)" >&2; exit 1; }
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
# shellcheck source=experiments/lib/provenance.sh
source experiments/lib/provenance.sh
rel() { realpath -m --relative-to=. "$1"; }
command="experiments/sim_scale.sh $(rel "$out") --workers \"$workers\" --grad $grad --iterations $iterations --workload $workload --servers $servers --topology $topology${phantom:+ --phantom}"
# Before anything here is written: rewriting a committed output must not make the tree look dirty.
commit=$(code_commit)
mkdir -p "$out/runs"
{
  echo "command=$command"
  echo "commit=$commit"
  echo "gradwire=$(binary_text "$gradwire" "$(rel "$gradwire")")"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine=$(nproc) cores, kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "load_average=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/provenance.txt"
csv=$out/cost.csv
echo "workers,workload,grad_bytes,iterations,simulated_s,wall_s,cpu_s,peak_rss_mb,worker_iterations_per_wall_s" >"$csv"
for n in $workers; do
  run=$out/runs/$n
  rm -rf "$run"
  echo "sim_scale.sh: $n workers x $iterations iterations of $workload ..." >&2
  # /usr/bin/time -f: wall seconds, peak resident KiB and CPU seconds of the whole simulation.
  /usr/bin/time -f "%e %M %U %S" -o "$out/runs/$n.time" "$gradwire" sim --out "$run" --log-level warn \
    --num-workers "$n" "${job[@]}" --iterations "$iterations" \
    --timeout 3600 >"$out/runs/$n.log" 2>&1 ||
    { echo "sim_scale.sh: the $n-worker job failed: $(rel "$out/runs/$n.log")" >&2; tail -3 "$out/runs/$n.log" >&2; exit 1; }
  read -r wall rss user sys <"$out/runs/$n.time"
  simulated=$(sed -n 's/^gradwire sim: \([0-9.]*\) s simulated.*/\1/p' "$out/runs/$n.log")
  # grad_bytes: a synthetic gradient's size; a model's is its own (gradwire models).
  g=""
  [[ $workload == synthetic ]] && g=$(numfmt --from=iec "$grad")
  awk -v n="$n" -v l="$workload" -v g="$g" -v k="$iterations" -v s="$simulated" -v w="$wall" -v r="$rss" \
    -v c="$(awk -v u="$user" -v y="$sys" 'BEGIN { print u + y }')" \
    'BEGIN { printf "%d,%s,%s,%d,%s,%.2f,%.2f,%.0f,%.1f\n", n, l, g, k, s, w, c, r / 1024, n * k / (w > 0 ? w : 0.01) }' >>"$csv"
done
gnuplot <<GP
set terminal pngcairo size 900,450 font ',10'
set output '$out/cost.png'
set datafile separator ','
set multiplot layout 1,2 title 'gradwire sim: cost on $(nproc) cores ($workload${phantom:+ phantom}, $servers server(s), $topology, BSP, $iterations iterations)'
set logscale x 2
set xlabel 'workers'
set grid
set ylabel 'worker-iterations per wall second'
plot '$csv' every ::1 using 1:9 with linespoints pt 7 notitle
set ylabel 'peak memory (MiB)'
plot '$csv' every ::1 using 1:8 with linespoints pt 7 notitle
unset multiplot
GP
{
  echo "# What a simulation costs"
  echo
  echo "Made by \`$command\` at commit $commit on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores."
  echo
  echo "Load average when the runs started: $(sed -n 's/^load_average=//p' "$out/provenance.txt") (wall"
  echo "times beside other work are longer; cpu_s is what the simulation itself spent)."
  echo
  echo "| workers | simulated s | wall s | cpu s | peak MiB | worker-iterations per wall s |"
  echo "| --- | --- | --- | --- | --- | --- |"
  csv_awk '{ printf "| %s | %s | %s | %s | %s | %s |\n", col("workers"), col("simulated_s"), col("wall_s"), col("cpu_s"),
    col("peak_rss_mb"), col("worker_iterations_per_wall_s") }' "$csv"
  echo
  echo "![cost](cost.png)"
} >"$out/README.md"
echo "sim_scale.sh: $(rel "$csv")" >&2
