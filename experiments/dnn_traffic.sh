#!/usr/bin/env bash
# Real DNN traffic (issue 16): how the push order of a layered model's gradient changes
# training throughput, as P3 (Jayarajan et al., MLSys 2019) and ByteScheduler (Peng et al.,
# SOSP 2019) measured it. Every job is a real gradwire job (server + WORKERS workers in network
# namespaces, experiments/topo) with --workload model:NAME, one row per
# model x sync x scheme x repetition. Schemes:
#   no-overlap       push the whole gradient once backward ended (fifo): the baseline
#   overlap          wait-free backprop: each layer's parts pushed as backward produces them
#   priority         overlap, front layers first (P3)
#   credit           overlap, front layers first within CREDIT bytes in flight (ByteScheduler)
#   global-priority  overlap, front layers first, and the server grants the link one partition
#                    at a time to the most urgent ready partition of any worker (per rack
#                    uplink on the tree: --windows global-priority:racks=2)
#   rack-turns       R2SP's turns per rack instead of one global ring (--sync r2sp only, with
#                    --rack-of: --windows topology:rack-of=...), topology-aware turns
#
# Writes OUT (default results/dnn-traffic/):
#   runs.csv      one row per job, appended as each job ends (a crash keeps what was measured)
#   summary.csv   per model x sync x scheme: samples/s mean, sd, n, 95 % CI (Student t), and
#                 the most memory one job took from the machine (mem_peak_gib, see below)
#   dnn-traffic.png   samples/s per scheme with those error bars
#   timeline-<model>-<sync>-<scheme>.png   one iteration of repetition 1 (plot_timeline.sh)
#   README.md     the command, commit, machine, settings and the table
#   runs/<job>/   each job's CSVs, logs and command.txt
# samples/s = workers x batch / mean iteration time (compute + write + wait, every worker's
# iterations >= WARMUP). mem_peak_gib: how far the machine's MemAvailable fell below where it
# was before the job started (sampled every 0.5 s): server, workers and the kernel's socket
# buffers together, which is what decides whether WORKERS copies of a model fit the machine.
#
# Usage: experiments/dnn_traffic.sh [options]   (as root: network namespaces)
#   --models "resnet50 vgg16"   models (default resnet50; see `gradwire models`)
#   --syncs "bsp r2sp"          sync rules (default bsp); r2sp runs no global-priority (its
#                               turns are round-robin windows) and needs --warmup 5 (its BSP
#                               warm-up) with --iterations > 5
#   --schemes "..."             a subset of the five above (default all, in that order)
#   --topology star|tree        star: WORKERS on one 1 Gbit/s server link (default); tree: 2
#                               racks of WORKERS/2 behind 400 Mbit/s uplinks, 1 Gbit/s server link
#   --workers N (8)  --batch B (32)  --iterations I (3)  --warmup W (1)  --reps R (5)
#   --part-bytes BYTES (4194304)  --credit BYTES (4 x part-bytes)
#   --device-tflops X (1)       the emulated device (gradwire run --device-tflops): sets the
#                               ratio of compute to communication
#   --out DIR                   results folder (default results/dnn-traffic)
#   --sim                       simulated (gradwire sim, no root): the same jobs with phantom
#                               payloads on a simulated fabric, so hundreds of workers fit; a
#                               simulation is deterministic, so its repetitions agree (sd 0)
#   --fabric T                  --sim: gradwire sim's --topology (default: the --topology
#                               above at its rates, links of 10 us: star:rate=1Gbps,latency=10us
#                               or tree:racks=2,oversub=WORKERS/2 x 1000/400)
#   --servers S                 --sim: servers sharding the model (default 1, as emulated)
#   --rack-of R+R+.. | leaves   --sim: each worker's rack on --fabric: global-priority then
#                               grants per rack, and rack-turns runs. leaves: a leaf-spine
#                               fabric's own (host h on leaf h mod L, servers first: clos.h)
#   --dry-run                   print every job and start nothing
#   --report-only               redo summary, plots and README from an existing runs.csv
# GRADWIRE=path/to/gradwire (default build/apps/gradwire/gradwire).
set -euo pipefail
usage="usage: experiments/dnn_traffic.sh [--models M] [--syncs S] [--schemes S] [--topology star|tree]
  [--workers N] [--batch B] [--iterations I] [--warmup W] [--reps R] [--part-bytes B] [--credit B]
  [--device-tflops X] [--sim [--fabric T] [--servers S] [--rack-of R+R+..]]
  [--out DIR] [--dry-run | --report-only]   (see the comment at the top of the script)"
all_schemes="no-overlap overlap priority credit global-priority rack-turns"
models=resnet50 syncs=bsp schemes=$all_schemes topology=star workers=8 batch=32 iterations=3
warmup=1 reps=5 part_bytes=4194304 credit="" tflops=1 out=results/dnn-traffic mode=run
sim="" fabric="" servers=1 rack_of=""
args=("$@")
parse_args() {
  while (($# > 0)); do
    case $1 in
      -h | --help) echo "$usage"; exit 0 ;;
      --dry-run) mode=dry-run; shift; continue ;;
      --report-only) mode=report; shift; continue ;;
      --sim) sim=1; shift; continue ;;
    esac
    (($# >= 2)) || { echo "dnn_traffic.sh: $1 needs a value; $usage" >&2; exit 2; }
    case $1 in
      --models) models=$2 ;;
      --syncs) syncs=$2 ;;
      --schemes) schemes=$2 ;;
      --topology) topology=$2 ;;
      --workers) workers=$2 ;;
      --batch) batch=$2 ;;
      --iterations) iterations=$2 ;;
      --warmup) warmup=$2 ;;
      --reps) reps=$2 ;;
      --part-bytes) part_bytes=$2 ;;
      --credit) credit=$2 ;;
      --device-tflops) tflops=$2 ;;
      --out) out=$2 ;;
      --fabric) fabric=$2 ;;
      --servers) servers=$2 ;;
      --rack-of) rack_of=$2 ;;
      *) echo "dnn_traffic.sh: unknown option '$1'; $usage" >&2; exit 2 ;;
    esac
    shift 2
  done
}
parse_args "$@"
# A report is made with the settings the jobs ran with (provenance.txt keeps the command, each
# argument shell-quoted), not with whatever flags --report-only was given beside --out.
if [[ $mode == report && -f $out/provenance.txt ]]; then
  given_out=$out
  # xargs undoes the quoting (runs nothing: the file may come from elsewhere).
  mapfile -d "" recorded < <(head -n 1 "$out/provenance.txt" | xargs printf "%s\0")
  parse_args "${recorded[@]:1}"
  mode=report out=$given_out
fi
for v in workers batch iterations reps part_bytes servers; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "dnn_traffic.sh: ${v//_/-} '${!v}' is not a positive integer" >&2; exit 2; }
done
if ! [[ $tflops =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] || ! awk -v x="$tflops" 'BEGIN { exit !(x > 0) }'; then
  echo "dnn_traffic.sh: --device-tflops '$tflops' is not a positive number" >&2
  exit 2
fi
if ! [[ $warmup =~ ^[0-9]+$ ]] || ((warmup >= iterations)); then
  echo "dnn_traffic.sh: --warmup must be a count below --iterations ($iterations)" >&2
  exit 2
fi
# ByteScheduler tunes its credit per job; 4 partitions in flight keeps the link busy across
# each write's completion round trip while a newly ready front layer waits behind at most 4
# parts (its pre-emption granularity), the middle of the credits its tuner picked.
credit=${credit:-$((4 * part_bytes))}
for s in $schemes; do
  [[ " $all_schemes " == *" $s "* ]] || { echo "dnn_traffic.sh: unknown scheme '$s' (one of: $all_schemes)" >&2; exit 2; }
done
case $topology in
  star) topo_up=(star --workers "$workers" --rate 1gbit) ;;
  tree)
    ((workers % 2 == 0)) || { echo "dnn_traffic.sh: a tree has 2 racks: --workers must be even" >&2; exit 2; }
    topo_up=(tree --racks 2 --per-rack $((workers / 2)) --rate 1gbit --uplink-rate 400mbit) ;;
  *) echo "dnn_traffic.sh: --topology is star or tree, not '$topology'" >&2; exit 2 ;;
esac
if [[ -z $sim ]]; then
  [[ -z $fabric && $servers == 1 && -z $rack_of ]] ||
    { echo "dnn_traffic.sh: --fabric, --servers and --rack-of are for --sim" >&2; exit 2; }
elif [[ -z $fabric ]]; then
  # The emulated fabric's rates; links of 10 us each (runner.sh --sim's, the netns star's
  # round trip).
  case $topology in
    star) fabric=star:rate=1Gbps,latency=10us ;;
    tree) fabric=tree:racks=2,oversub=$(awk -v w="$workers" 'BEGIN { print w / 2 * 1000 / 400 }'),rate=1Gbps,latency=10us ;;
  esac
fi
if [[ $rack_of == leaves ]]; then
  leaves=$(sed -nE 's/^leaf-spine:(.*,)?leaves=([0-9]+).*/\2/p' <<<"$fabric")
  [[ -n $leaves ]] || { echo "dnn_traffic.sh: --rack-of leaves needs a leaf-spine --fabric, not '$fabric'" >&2; exit 2; }
  rack_of=$(awk -v n="$workers" -v s="$servers" -v l="$leaves" \
    'BEGIN { for (w = 0; w < n; w++) printf "%s%d", (w ? "+" : ""), (s + w) % l }')
fi
where=${sim:+"gradwire sim --topology $fabric --num-servers $servers --phantom-payloads"}
where=${where:-"topo.sh up ${topo_up[*]}"}
# The fabric as runs.csv's topology column and the titles name it (no commas in a CSV cell).
topo_label=$topology
[[ -z $sim ]] || topo_label="sim ${fabric//,/;}"
cd "$(dirname "$0")/.."
gradwire=${GRADWIRE:-build/apps/gradwire/gradwire}
topo=experiments/topo/topo.sh
# shellcheck source=experiments/lib/netns_job.sh
source experiments/lib/netns_job.sh
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
# shellcheck source=experiments/lib/raw_runs.sh
source experiments/lib/raw_runs.sh
csv=$out/runs.csv
summary=$out/summary.csv

scheme_flags() {  # scheme -> gradwire flags
  case $1 in
    no-overlap) echo "--no-overlap" ;;
    overlap) echo "" ;;
    priority) echo "--push-order priority" ;;
    credit) echo "--push-order credit:credit=$credit" ;;
    global-priority)
      if [[ -n $rack_of ]]; then
        echo "--push-order priority --windows global-priority:rack-of=$rack_of"
      elif [[ $topology == tree ]]; then
        echo "--push-order priority --windows global-priority:racks=2"
      else
        echo "--push-order priority --windows global-priority"
      fi ;;
    rack-turns) echo "--windows topology:rack-of=$rack_of" ;;
  esac
}
# Dots, not underscores: plot_timeline.sh titles its plot with the name, and gnuplot would
# read an underscore as a subscript.
job_dir() { echo "$out/runs/$1.$2.$3.r$4"; }  # model sync scheme rep
# A job's means over every worker's iterations >= warmup: iteration, compute (with any injected
# delay), write, gate, wait, and samples/s.
job_row() {
  csv_awk -v from="$warmup" -v n="$workers" -v b="$batch" '
    col("iteration") >= from { k++; c += col("compute_s") + col("delay_s"); w += col("write_s")
      g += col("gate_s"); q += col("wait_s") }
    END { it = (c + w + q) / k
      printf "%.5f,%.5f,%.5f,%.5f,%.5f,%.3f", it, c / k, w / k, g / k, q / k, n * b / it }' \
    "$1/iterations.csv"
}

# mem_watch FILE: until killed, writes to FILE the largest fall of MemAvailable (KiB) below its
# value when it started. mem_gib FILE: that fall in GiB.
mem_watch() {
  local base now peak=0
  base=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
  while :; do
    now=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
    ((base - now > peak)) && { peak=$((base - now)); echo "$peak" >"$1"; }
    sleep 0.5
  done
}
mem_gib() { awk '{ printf "%.2f", $1 / 1048576 }' "$1" 2>/dev/null || true; }

# run_job RUN FLAGS...: one job, emulated in the network namespaces or simulated (--sim).
run_job() {
  local run=$1
  shift
  if [[ -n $sim ]]; then
    mkdir -p "$run"
    "$gradwire" sim --out "$run" --log-level warn --topology "$fabric" --num-servers "$servers" \
      --phantom-payloads "$@" >"$run/sim.log" 2>&1
  else
    netns_job "$gradwire" "$run" "$workers" "$@"
  fi
}

read -ra model_list <<<"$models"
read -ra sync_list <<<"$syncs"
read -ra scheme_list <<<"$schemes"
# R2SP's turns are round-robin windows: gradwire refuses global-priority windows under it.
# Rack turns are R2SP's, on a fabric whose racks are known.
applies() {  # sync scheme
  case $2 in
    global-priority) [[ $1 != r2sp ]] ;;
    rack-turns) [[ $1 == r2sp && -n $rack_of ]] ;;
    *) true ;;
  esac
}
total=0
for s in "${sync_list[@]}"; do for sc in "${scheme_list[@]}"; do
  applies "$s" "$sc" && total=$((total + ${#model_list[@]} * reps))
done; done
# R2SP's first 5 iterations are its BSP warm-up (round-robin's default warmup=5).
if [[ " ${sync_list[*]} " == *" r2sp "* ]] && ((warmup < 5)); then
  echo "dnn_traffic.sh: warning: r2sp rows average iterations >= $warmup, but its first 5 are" \
    "BSP warm-up: give --warmup 5 and --iterations > 5 to measure its turns" >&2
fi
# Simulated time has no wall to wait for: the timeout only has to exceed the longest
# silence, which at hundreds of workers is minutes of wire time.
timeout=300
[[ -z $sim ]] || timeout=3600
common=(--num-workers "$workers" --batch "$batch" --iterations "$iterations"
  --part-bytes "$part_bytes" --device-tflops "$tflops" --timeout "$timeout")

if [[ $mode == dry-run ]]; then
  echo "dnn_traffic.sh: $total jobs into $out/; $where"
  for m in "${model_list[@]}"; do for s in "${sync_list[@]}"; do for sc in "${scheme_list[@]}"; do
    applies "$s" "$sc" || continue
    for ((r = 1; r <= reps; r++)); do
      echo "  $(job_dir "$m" "$s" "$sc" "$r")/: --workload model:$m --sync $s ${common[*]} $(scheme_flags "$sc")"
    done
  done; done; done
  exit 0
fi
command -v gnuplot >/dev/null || { echo "dnn_traffic.sh: gnuplot missing (make deps)" >&2; exit 1; }

if [[ $mode == run ]]; then
  [[ -n $sim || $(id -u) -eq 0 ]] || { echo "dnn_traffic.sh: needs root (network namespaces; or --sim)" >&2; exit 1; }
  [[ -x $gradwire ]] || { echo "dnn_traffic.sh: no gradwire at $gradwire (make build)" >&2; exit 1; }
  gradwire=$(realpath "$gradwire")
  mkdir -p "$out/runs"
  # Kept for the README: a later --report-only must still say how the jobs were run.
  printf '%s\n' "experiments/dnn_traffic.sh $(printf '%q ' "${args[@]}")" "$(git rev-parse HEAD)" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc) cores, kernel $(uname -r)" >"$out/provenance.txt"
  echo "model,topology,sync,scheme,rep,workers,batch,iteration_s,compute_s,write_s,gate_s,wait_s,samples_per_s,wall_s,mem_peak_gib,status" >"$csv"
  if [[ -z $sim ]]; then
    trap '"$topo" down >/dev/null 2>&1 || true' EXIT
    "$topo" up "${topo_up[@]}" >/dev/null
  fi
  k=0
  started=$(date +%s)
  for m in "${model_list[@]}"; do for s in "${sync_list[@]}"; do for sc in "${scheme_list[@]}"; do
    applies "$s" "$sc" || continue
    for ((r = 1; r <= reps; r++)); do
      k=$((k + 1))
      elapsed=$(($(date +%s) - started))
      eta=$((k > 1 ? elapsed * (total - k + 1) / (k - 1) : 0))
      echo "dnn_traffic.sh: [$k/$total] $m, $s, $sc, rep $r (${elapsed} s, ETA ${eta} s)" >&2
      run=$(job_dir "$m" "$s" "$sc" "$r")
      mem_file=$(mktemp)
      echo 0 >"$mem_file"
      mem_watch "$mem_file" &
      watcher=$!
      # A failed job is a row with status failed: the others still count.
      # shellcheck disable=SC2046  # a scheme is a list of flags
      if run_job "$run" --workload "model:$m" --sync "$s" "${common[@]}" \
        $(scheme_flags "$sc") && row=$(job_row "$run") &&
        wall=$(csv_awk 'FNR == 2 { print col("wall_s") }' "$run/server-0.csv"); then
        status=ok
      else
        row=",,,,," wall="" status=failed
      fi
      kill "$watcher" 2>/dev/null || true
      wait "$watcher" 2>/dev/null || true
      mem=$(mem_gib "$mem_file")
      rm -f "$mem_file"
      echo "$m,$topo_label,$s,$sc,$r,$workers,$batch,$row,$wall,$mem,$status" >>"$csv"
    done
  done; done; done
  [[ -n $sim ]] || "$topo" down >/dev/null
fi

# ---- summary: samples/s per model x sync x scheme, mean, sd, n, 95 % CI (Student t) ----
[[ -f $csv ]] || { echo "dnn_traffic.sh: no $csv (run without --report-only first)" >&2; exit 1; }
echo "model,topology,sync,scheme,n,samples_per_s,sd,ci95_low,ci95_high,iteration_s,compute_s,write_s,wait_s,vs_no_overlap,mem_peak_gib" >"$summary"
# Rows in the order the schemes ran; vs_no_overlap = samples/s over the no-overlap baseline's.
# t: the two-sided 97.5 % quantile of Student's t for n - 1 degrees of freedom (1..30; the
# normal's 1.96 beyond).
csv_awk -v order="$all_schemes" '
  BEGIN { split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093 2.086 2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 2.045 2.042", t, " ")
    ns = split(order, scheme, " ") }
  col("status") == "ok" {
    key = col("model") "," col("topology") "," col("sync")
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    k = key SUBSEP col("scheme"); v = col("samples_per_s")
    n[k]++; s[k] += v; ss[k] += v * v; it[k] += col("iteration_s"); c[k] += col("compute_s")
    w[k] += col("write_s"); q[k] += col("wait_s")
    # Runs older than the column have no memory figure: their cell stays empty.
    if (has("mem_peak_gib") && col("mem_peak_gib") != "" && (!(k in mem) || col("mem_peak_gib") + 0 > mem[k]))
      mem[k] = col("mem_peak_gib") + 0 }
  END {
    for (i = 1; i <= nk; i++) {
      base = keys[i] SUBSEP "no-overlap"; b = (base in n) ? s[base] / n[base] : 0
      for (j = 1; j <= ns; j++) {
        k = keys[i] SUBSEP scheme[j]; if (!(k in n)) continue
        m = s[k] / n[k]; sd = n[k] > 1 ? sqrt((ss[k] - n[k] * m * m) / (n[k] - 1)) : 0
        if (sd != sd || ss[k] - n[k] * m * m < 0) sd = 0
        h = n[k] > 1 ? (n[k] - 1 <= 30 ? t[n[k] - 1] : 1.96) * sd / sqrt(n[k]) : 0
        printf "%s,%s,%d,%.2f,%.2f,%.2f,%.2f,%.4f,%.4f,%.4f,%.4f,%s,%s\n", keys[i], scheme[j], n[k], m, sd,
          m - h, m + h, it[k] / n[k], c[k] / n[k], w[k] / n[k], q[k] / n[k], b ? sprintf("%.3f", m / b) : "",
          (k in mem) ? sprintf("%.2f", mem[k]) : ""
      } } }' "$csv" >>"$summary"
column -s, -t "$summary" >&2

# ---- plot: samples/s per scheme (x), a series per model x sync, 95 % CI error bars ----
data=$(mktemp -d)
# The topology is down by now; --report-only must not take down one another run put up.
trap 'rm -rf "$data"' EXIT
configs=$(csv_awk '{ print col("model") " " col("sync") }' "$summary" | awk '!seen[$0]++')
i=0
plot=""
while read -r m s; do
  [[ -n $m ]] || continue
  i=$((i + 1))
  csv_awk -v m="$m" -v s="$s" -v order="$all_schemes" '
    BEGIN { split(order, x, " "); for (j in x) pos[x[j]] = j }
    col("model") == m && col("sync") == s {
      print pos[col("scheme")], col("samples_per_s"), col("ci95_low"), col("ci95_high"), col("scheme") }' \
    "$summary" >"$data/$i.dat"
  # Series side by side around each scheme's position.
  plot+="${plot:+, }\"$data/$i.dat\" using (\$1 + ($i - 0.5 * (N + 1)) * 0.12):2:3:4 with yerrorbars"
  plot+=" pt 7 ps 1.3 lw 2 title \"$m, $s\""
done <<<"$configs"
if ((i > 0)); then
  xtics=$(awk -v order="$all_schemes" 'BEGIN { n = split(order, x, " ")
    for (j = 1; j <= n; j++) printf "%s\"%s\" %d", (j > 1 ? ", " : ""), x[j], j }')
  gnuplot <<EOF
set terminal pngcairo size 900,520 font ",11"
set output "$out/dnn-traffic.png"
set title "$workers workers, $topo_label, batch $batch per worker: mean of the repetitions, 95 % CI" noenhanced
set ylabel "samples/s (all workers)"
set xtics ($xtics)
set xrange [0.5:$(wc -w <<<"$all_schemes").5]
set yrange [0:*]
set grid ytics
set key bottom right noenhanced
N = $i
plot $plot
EOF
fi

# ---- one iteration's timeline per scheme (repetition 1) ----
# They read the jobs' own CSVs: a committed folder keeps them packed (runs.tar.xz).
raw_runs_unpack "$out" || exit 1
timelines=()
# A timeline has a lane per worker: past 16 they are too thin to read.
((workers <= 16)) && timeline_configs=$configs || timeline_configs=""
while read -r m s; do
  [[ -n $m ]] || continue
  for sc in $all_schemes; do
    run=$(job_dir "$m" "$s" "$sc" 1)
    [[ -f $run/layers.csv || -f $run/layers-0.csv ]] || continue
    # The first measured iteration, the same one in every scheme.
    if experiments/plot_timeline.sh "$run" "$warmup" >/dev/null; then
      mv "$run/timeline.png" "$out/timeline-$m-$s-$sc.png"
      timelines+=("timeline-$m-$s-$sc.png")
    fi
  done
done <<<"$timeline_configs"

# ---- README: how the results were made, and the table ----
# The flags a scheme's jobs were given after the common ones (which end with --timeout), from
# the command.txt of its first job found; fails when no job of that scheme left one.
ran_flags() {
  local cmd
  cmd=$(find "$out/runs" -path "*.$1.r1/command.txt" 2>/dev/null | sort | head -n 1)
  [[ -n $cmd ]] || return 1
  # An emulated job's command.txt goes on after its flags (" ; ..."); a simulated one ends with them.
  sed -nE '1{s/^[^;]* --timeout [0-9]+ ?([^;]*[^; ])? ;.*/\1/p;t;s/^[^;]* --timeout [0-9]+ ?(.*[^ ])?$/\1/p}' "$cmd"
}
[[ -f $out/provenance.txt ]] || { echo "dnn_traffic.sh: no $out/provenance.txt" >&2; exit 1; }
{
  mapfile -t prov <"$out/provenance.txt"
  echo "# Real DNN traffic: push orders on $workers workers ($topo_label)"
  echo
  root=" (as root)"
  [[ -z $sim ]] || root=""
  echo "Made by \`${prov[0]}\`$root at commit ${prov[1]}, ${prov[2]},"
  # The machine and each scheme's flags as the jobs ran (provenance.txt, the jobs' command.txt),
  # not as this report's machine and script would give them today.
  machine=${prov[3]:-"$(nproc) cores, kernel $(uname -r) (where this report was made: the run did not record its own)"}
  if [[ -n $sim ]]; then
    echo "on $machine. Simulated: \`$where\` (every process a SimGrid actor, writes of sizes"
    echo "without bytes; the repetitions of a deterministic simulation agree)."
  else
    echo "on $machine. Topology: \`experiments/topo/topo.sh up ${topo_up[*]}\`."
  fi
  echo "Every job: \`--workload model:MODEL --sync SYNC ${common[*]}\` plus its scheme's flags:"
  echo
  for sc in $all_schemes; do
    # Schemes this study did not run are not listed.
    [[ " $schemes " == *" $sc "* ]] || continue
    if ! flags=$(ran_flags "$sc"); then
      flags="$(scheme_flags "$sc")" note=" (the script's today: no command.txt of this scheme's jobs)"
    else
      note=""
    fi
    [[ -n $flags ]] && flags="\`$flags\`" || flags="no flag (fifo, overlapping backward)"
    echo "- $sc: $flags$note"
  done
  echo
  echo "samples/s = $workers workers x batch $batch / mean iteration time (compute + write + wait,"
  echo "every worker's iterations >= $warmup of 0..$((iterations - 1))). n repetitions per row;"
  echo "sd their standard deviation; ci95 the 95 % confidence interval of the mean (Student t,"
  echo "n - 1 degrees of freedom). vs_no_overlap: samples/s over the no-overlap row's."
  echo "Times in seconds per iteration (means). mem_peak_gib: the most any one job took from the"
  echo "machine's MemAvailable (server, workers and socket buffers; empty for runs before it was kept),"
  echo "of $(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB here."
  echo
  echo '```'
  column -s, -t "$summary"
  echo '```'
  echo
  echo "![samples/s](dnn-traffic.png)"
  echo
  if ((${#timelines[@]} > 0)); then
    echo "One iteration ($warmup) of repetition 1 per scheme (experiments/plot_timeline.sh):"
    echo
    for f in "${timelines[@]}"; do echo "![${f%.png}]($f)"; done
    echo
  fi
  echo "Files: runs.csv (one row per job), summary.csv (this table), runs/<job>/ (each job's"
  echo "CSVs, logs and command.txt)."
  if [[ -n $sim ]]; then
    echo "A simulation is deterministic: git keeps no runs/ of it (the command above makes them"
    echo "again, byte for byte)."
  fi
  [[ -f $out/findings.md ]] && { echo; cat "$out/findings.md"; }
} >"$out/README.md"
echo "dnn_traffic.sh: wrote $out/" >&2
[[ -n $sim ]] || raw_runs_pack_committed "$out"
