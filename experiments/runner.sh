#!/usr/bin/env bash
# Runs an experiment spec: topology x workers x gradient sizes x schemes x repetitions, each a
# real gradwire job in an emulated topology (experiments/topo), and writes
# results/<NAME>/: runs.csv (one row per job), one plot per spec, README.md (the command, the
# machine) and runs/<job>/ (each job's CSVs, logs, command.txt). As root.
#
# Usage: experiments/runner.sh SPEC [--dry-run] [--plot-only]
#   --dry-run    print every job (topology, flags, where results go) and start nothing
#   --plot-only  redraw the plot and README from an existing runs.csv
# GRADWIRE=path/to/gradwire (default build/apps/gradwire/gradwire).
#
# A spec is a bash file of assignments (experiments/specs/*.sh):
#   NAME=incast                      results/NAME/
#   TITLE="..."                      first line of the README and the plot
#   TOPOLOGY=(star --rate 1gbit)     `topo.sh up` arguments; a star gets --workers N added, a
#                                    tree's size is its own (racks x per-rack = WORKERS)
#   WORKERS=(2 4 8 16)               --num-workers (and the topology's worker count)
#   GRADS=(1M 10M 100M)              --grad-bytes (synthetic workload)
#   SCHEMES=("--sync bsp" ...)       flag sets compared, one line each on the plot
#   ITERATIONS=8  MEASURE_FROM=5     iterations per worker; rows average iterations >= this
#   REPETITIONS=1
#   JOB=(--workload synthetic)       flags every job gets
#   DELAYS_MS=(0 1 10)               one-way delay per worker<->server path (topo.sh
#                                    --delay-ms), a dimension of its own; with more than one,
#                                    WORKERS must be one count and the plot is against delay
set -euo pipefail
usage="usage: experiments/runner.sh SPEC [--dry-run] [--plot-only]   (specs: experiments/specs/)"
case ${1:-} in
  -h | --help) echo "$usage"; exit 0 ;;
  "" | -*) echo "$usage" >&2; exit 2 ;;
esac
spec=$1
mode=${2:-}
case $mode in
  "" | --dry-run | --plot-only) ;;
  *) echo "runner.sh: unknown option '$mode'; $usage" >&2; exit 2 ;;
esac
[[ -f $spec ]] || { echo "runner.sh: no spec file '$spec' (see experiments/specs/)" >&2; exit 2; }
cd "$(dirname "$0")/.."
spec=$(realpath "$spec")
gradwire=$(realpath "${GRADWIRE:-build/apps/gradwire/gradwire}")
NAME="" TITLE="" TOPOLOGY=() WORKERS=() GRADS=() SCHEMES=() ITERATIONS=8 MEASURE_FROM=5
REPETITIONS=1 JOB=(--workload synthetic) DELAYS_MS=(0)
# shellcheck source=/dev/null
source "$spec"
[[ -n $NAME && ${#TOPOLOGY[@]} -gt 0 && ${#WORKERS[@]} -gt 0 && ${#SCHEMES[@]} -gt 0 ]] ||
  { echo "runner.sh: $spec must set NAME, TOPOLOGY, WORKERS and SCHEMES" >&2; exit 2; }
[[ ${#GRADS[@]} -gt 0 ]] || GRADS=(4M)
((${#DELAYS_MS[@]} == 1 || ${#WORKERS[@]} == 1)) ||
  { echo "runner.sh: $spec varies both DELAYS_MS and WORKERS: vary one" >&2; exit 2; }
out=results/$NAME
csv=$out/runs.csv
topo=experiments/topo/topo.sh
# shellcheck source=experiments/lib/netns_job.sh
source experiments/lib/netns_job.sh
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh

# A scheme as one CSV cell: its commas become semicolons.
cell() { tr ',' ';' <<<"$*"; }
slug() {
  local s="$*"
  tr -c 'a-zA-Z0-9.=\n-' '_' <<<"${s//--/}" | tr -s '_' | sed 's/^_//; s/_$//'
}

total=$((${#DELAYS_MS[@]} * ${#WORKERS[@]} * ${#GRADS[@]} * ${#SCHEMES[@]} * REPETITIONS))
# topo.sh up arguments for n workers and one-way delay d ms.
topo_args() {
  local n=$1 d=$2 args=("${TOPOLOGY[@]}")
  # A star takes the worker count; a tree's is racks x per-rack, given in TOPOLOGY.
  [[ ${TOPOLOGY[0]} == star ]] && args+=(--workers "$n")
  [[ $d != 0 ]] && args+=(--delay-ms "$d")
  echo "${args[@]}"
}
# A job's directory: the delay is in its name only when the spec varies it.
job_slug() {  # n grad scheme rep delay
  slug "n$1 grad$2 $3 r$4$( ((${#DELAYS_MS[@]} > 1)) && echo " delay$5ms")"
}
if [[ $mode == --dry-run ]]; then
  echo "spec $NAME: $total jobs into $out/"
  for d in "${DELAYS_MS[@]}"; do for n in "${WORKERS[@]}"; do
    echo "topo.sh up $(topo_args "$n" "$d")"
    for grad in "${GRADS[@]}"; do for scheme in "${SCHEMES[@]}"; do
      for ((rep = 1; rep <= REPETITIONS; rep++)); do
        echo "  job -> $out/runs/$(job_slug "$n" "$grad" "$scheme" "$rep" "$d")/: gradwire" \
          "server+$n workers --num-workers $n --grad-bytes $grad --iterations $ITERATIONS" \
          "${JOB[*]} $scheme"
      done
    done; done
  done; done
  exit 0
fi

if [[ $mode != --plot-only ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "runner.sh: needs root (network namespaces)" >&2; exit 1; }
  command -v gnuplot >/dev/null || { echo "runner.sh: gnuplot missing (make deps)" >&2; exit 1; }
  mkdir -p "$out/runs"
  echo "workers,grad_bytes,scheme,rep,iteration_s,compute_s,write_s,gate_s,wait_s,updates_per_s,goodput_mbps,wall_s,delay_ms,rows_per_s" >"$csv"
  trap '"$topo" down >/dev/null 2>&1 || true' EXIT
  k=0
  started=$(date +%s)
  for d in "${DELAYS_MS[@]}"; do for n in "${WORKERS[@]}"; do
    # shellcheck disable=SC2046  # topo_args is a list of arguments
    "$topo" up $(topo_args "$n" "$d") >/dev/null
    for grad in "${GRADS[@]}"; do for scheme in "${SCHEMES[@]}"; do
      for ((rep = 1; rep <= REPETITIONS; rep++)); do
        k=$((k + 1))
        elapsed=$(($(date +%s) - started))
        eta=$((k > 1 ? elapsed * (total - k + 1) / (k - 1) : 0))
        echo "runner.sh: [$k/$total] $n workers, $grad, $scheme, delay ${d} ms, rep $rep" \
          "(${elapsed} s, ETA ${eta} s)" >&2
        run=$out/runs/$(job_slug "$n" "$grad" "$scheme" "$rep" "$d")
        # shellcheck disable=SC2086  # a scheme is a list of flags
        netns_job "$gradwire" "$run" "$n" --num-workers "$n" --grad-bytes "$grad" \
          --iterations "$ITERATIONS" --timeout 300 "${JOB[@]}" $scheme || exit 1
        bytes=$(numfmt --from=iec "$grad")
        # An iteration is compute + injected straggler delay (delay_s, 0 without --straggler)
        # + write + wait. rows_per_s: minibatch rows per second, summed over workers (each
        # its rows over its time): the fair measure when --batch-tuning gives workers
        # different batches; empty for runs without a batch column.
        row=$(csv_awk -v from="$MEASURE_FROM" -v n="$n" -v b="$bytes" '
          col("iteration") >= from { k++; c += col("compute_s"); w += col("write_s")
            q += col("wait_s"); g += col("gate_s"); d = has("delay_s") ? col("delay_s") : 0
            s += d; t[col("worker")] += col("compute_s") + d + col("write_s") + col("wait_s")
            if (has("batch")) r[col("worker")] += col("batch") }
          END { it = (c + s + w + q) / k; rps = ""
            if (has("batch")) { rps = 0; for (x in t) if (t[x] > 0) rps += r[x] / t[x]; rps = sprintf("%.1f", rps) }
            printf "%.5f,%.5f,%.5f,%.5f,%.5f,%.3f,%.1f\t%s", it, c / k, w / k, g / k, q / k, n / it, n * b * 8 / it / 1e6, rps }' \
          "$run/iterations.csv")
        rps=${row#*$'\t'}
        row=${row%$'\t'*}
        wall=$(csv_awk 'FNR == 2 { print col("wall_s") }' "$run/server-0.csv")
        echo "$n,$bytes,$(cell "$scheme"),$rep,$row,$wall,$d,$rps" >>"$csv"
      done
    done; done
  done; done
fi

# ---- plot: mean iteration time against workers, one panel per gradient size ----
[[ -f $csv ]] || { echo "runner.sh: no $csv" >&2; exit 1; }
data=$(mktemp -d)
# Only a run takes down the topology it put up: --plot-only must not end another run's.
if [[ $mode == --plot-only ]]; then
  trap 'rm -rf "$data"' EXIT
else
  trap 'rm -rf "$data"; "$topo" down >/dev/null 2>&1 || true' EXIT
fi
# Mean iteration time against the runs.csv column named XCOL, one panel per gradient size, a
# line per scheme. Extra gnuplot settings (axis label, log scale) come as the last argument.
line_plot() {  # xcol title settings
  local xcol=$1 title=$2 settings=$3 grad bytes plot i scheme width=480 height=480 key="top left"
  # Many schemes: the key goes below each panel, where it hides no data.
  if ((${#SCHEMES[@]} > 5)); then
    width=560 height=$((360 + 16 * ${#SCHEMES[@]}))
    key="outside below left Left reverse"
  fi
  {
    echo "set terminal pngcairo size $((width * ${#GRADS[@]})),$height font \",10\""
    echo "set output \"$out/$NAME.png\""
    echo "set datafile separator \",\""
    echo "set multiplot layout 1,${#GRADS[@]} title \"$title\" noenhanced"
    echo "set ylabel \"mean iteration time per worker, s\"; set grid; set key $key noenhanced"
    echo "$settings"
    for grad in "${GRADS[@]}"; do
      bytes=$(numfmt --from=iec "$grad")
      echo "set title \"gradient $grad\""
      plot="plot"
      i=0
      for scheme in "${SCHEMES[@]}"; do
        i=$((i + 1))
        csv_awk -v b="$bytes" -v s="$(cell "$scheme")" -v x="$xcol" \
          'col("grad_bytes") == b && col("scheme") == s { print col(x) "," col("iteration_s") }' "$csv" |
          sort -t, -k1,1n >"$data/$bytes-$i.csv"
        [[ $plot != plot ]] && plot+=","
        # gnuplot's 8 colours come round again: the 9th line on is dashed.
        plot+=" \"$data/$bytes-$i.csv\" using 1:2 with linespoints lw 2 pt 7"
        plot+=" dt $((i > 8 ? 2 : 1)) title \"$scheme\""
      done
      echo "$plot"
    done
    echo "unset multiplot"
  } | gnuplot
}
if ((${#DELAYS_MS[@]} > 1)); then
  line_plot delay_ms "${TITLE:-$NAME} (${WORKERS[0]} workers)" \
    "set xlabel \"one-way delay worker<->server, ms\""
elif ((${#WORKERS[@]} > 1)); then
  line_plot workers "${TITLE:-$NAME}" "set xlabel \"workers\"; set logscale x 2"
else
  # One worker count: clustered bars, a cluster per gradient size, a bar per scheme.
  {
    printf "grad"
    for scheme in "${SCHEMES[@]}"; do printf ',"%s"' "$scheme"; done
    echo
    for grad in "${GRADS[@]}"; do
      bytes=$(numfmt --from=iec "$grad")
      printf "%s" "$grad"
      for scheme in "${SCHEMES[@]}"; do
        printf ",%s" "$(csv_awk -v b="$bytes" -v s="$(cell "$scheme")" \
          'col("grad_bytes") == b && col("scheme") == s { print col("iteration_s"); exit }' "$csv")"
      done
      echo
    done
  } >"$data/bars.csv"
  gnuplot <<EOF
set terminal pngcairo size 900,500 font ",10"
set output "$out/$NAME.png"
set datafile separator ","
set title "${TITLE:-$NAME} (${WORKERS[0]} workers)" noenhanced
set ylabel "mean iteration time per worker, s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left noenhanced
set grid ytics
plot for [c=2:$((${#SCHEMES[@]} + 1))] "$data/bars.csv" using c:xtic(1) title columnhead(c)
EOF
fi


{
  echo "# ${TITLE:-$NAME}"
  echo
  echo "Made by \`experiments/runner.sh experiments/specs/$(basename "$spec")\` on $(date -u +%Y-%m-%d),"
  echo "$(nproc) cores, kernel $(uname -r). Topology: \`topo.sh up ${TOPOLOGY[*]} --workers N\`$(
    ((${#DELAYS_MS[@]} > 1)) && echo ", with \`--delay-ms D\` for D in ${DELAYS_MS[*]}")."
  echo "Each job: \`--grad-bytes G --iterations $ITERATIONS ${JOB[*]}\` plus the scheme's flags;"
  echo "rows average every worker's iterations >= $MEASURE_FROM (iteration = compute + injected straggler delay + write + wait;"
  echo "gate is the part of write spent waiting for a window). updates_per_s = workers / iteration;"
  echo "goodput = workers x gradient / iteration; rows_per_s = minibatch rows per second summed over"
  echo "workers (each worker's rows over its time; the measure to compare with --batch-tuning, where"
  echo "batches differ; coded rows count --batch per worker and round; empty in runs older than the column)."
  echo
  echo '```'
  column -s, -t "$csv"
  echo '```'
  echo
  echo "![$NAME]($NAME.png)"
} >"$out/README.md"
echo "runner.sh: wrote $out/" >&2
