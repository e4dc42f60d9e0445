#!/usr/bin/env bash
# `make windows`: incast vs round-robin write windows on an emulated star (issue #5). One
# server behind a shaped link (1 Gbit/s both ways, 1 MB switch buffer), N workers, gradients of
# one size, BSP; each policy is a real job (gradwire server and workers in their network
# namespaces, TCP with CUBIC), in the same run:
#   burst        every worker posts as soon as its parameters landed (windows granted at once,
#                but recorded): "all at once", as far as the pulls that precede it end together;
#   round-robin  R2SP's turns (after its warm-up, which is burst); "round-robin:KEYS" (e.g.
#                round-robin:lead=0, turns that wait for each window's end) gets the warm-up too.
# The reference is iperf3 through the same bottleneck in the same run (one CUBIC flow), so
# "bytes/rate" is the link's real goodput, not its nominal rate (TCP/IP headers take ~4.5 %).
#
# Measured window: the same iterations for every policy, from the first iteration >= the
# warm-up in which every one of round-robin's pushes went in a bounded window (windows.csv:
# no row of the iteration has bound_s = inf; the warm-up's burst windows are unbounded, and
# the iteration where turns begin can still hold an unbounded grant that a bounded one
# replaced), to the last. Without round-robin among the policies: from the warm-up on.
# From the server's windows.csv, over that window:
#   push completion = landed - requested, per worker per iteration (mean, percentiles, max);
#   makespan        = last landed - first requested, per iteration;
#   request spread  = last requested - first requested, per iteration: how far from
#                     simultaneous the pushes were asked for (burst's baseline is all at once
#                     only to within this spread: parameter pulls end at different times).
#   turn idle       = for each round-robin window whose writer was already waiting when the
#                     window before it ended (a pure hand-over: BSP's barrier between
#                     iterations is not one), its writer's first-post notice (posted_s) minus
#                     that window's end: how long the link idled between the two writers
#                     (negative: the notice came first, the bytes queued behind; idle counts 0).
# Targets: round-robin's makespan within 5 % of N x gradient / goodput, its median turn idle
# <= 5 % of one push's time on the wire at that goodput (issue 21), and its mean push
# completion <= 0.75 x burst's, each judged on the mean over the repetitions with its 95 %
# confidence interval (Student t). Each repetition runs every policy in turn (interleaved, so
# a drift of the machine weighs on all alike) and has its own measured window.
#
# Writes into OUT: windows.csv (one row per policy per repetition), cells.csv (per policy: the
# repetitions' mean, sd and 95 % CI half-width of mean completion, makespan / ideal, mean
# completion / burst's and turn idle / wire time), pushes.csv (every measured push), pushes.png,
# turns.csv (every measured hand-over), turns.png (with round-robin), README.md (the command,
# commit, binary, date, machine), provenance.txt and runs/<policy>-r<rep>/ (each job's CSVs and
# logs). As root (network namespaces), but for --dry-run.
#
# Usage: experiments/windows.sh PATH/TO/gradwire [OPTIONS]
# Options (each defaults to its environment variable, then to the value shown):
#   --workers N          workers, one per star leaf (WORKERS, 8)
#   --grad SIZE          gradient bytes per push, IEC (GRAD, 100M = 100 MiB)
#   --rate RATE          server link rate, tc syntax (RATE, 1gbit)
#   --iterations N       iterations per worker (ITERATIONS, 8)
#   --reps N             repetitions of every policy (REPS, 5)
#   --warmup N           round-robin's burst warm-up in iterations (WARMUP, 5)
#   --policies "P ..."   window policies compared, --windows values (POLICIES, "burst round-robin";
#                        round-robin gets :warmup=N)
#   --out DIR            where results go (default results/runs/windows-<UTC date-time>, which
#                        git ignores; to replace the committed results give --out results/windows)
#   --prefix P           topology prefix (GW_TOPO_PREFIX, gw): runs with different ones coexist
#   --dry-run            print the provenance and every job; start and write nothing
#   --report-only        redo the analysis, plot and README of OUT (--out) from its runs/ (or
#                        runs.tar.xz), with the options the measurement was made with (checked
#                        against its provenance.txt) and its iperf3 reference
#   -h, --help           this text
# Exit 2: bad usage.
set -euo pipefail
name=windows
usage_line="usage: experiments/windows.sh PATH/TO/gradwire [--workers N] [--grad SIZE] [--rate RATE] [--iterations N] [--reps N] [--warmup N] [--policies \"P ...\"] [--out DIR] [--prefix P] [--dry-run | --report-only]   (--help lists them)"
bad_usage() { echo "windows.sh: $*" >&2; echo "$usage_line" >&2; exit 2; }
# The command as given, with the knobs set in the environment before it (its defaults).
knobs=(WORKERS GRAD RATE ITERATIONS REPS WARMUP POLICIES GW_TOPO_PREFIX GW_NETNS_SERVERS GW_NETNS_TRANSPORT)
command_line=""
for k in "${knobs[@]}"; do [[ -z ${!k:-} ]] || command_line+="$k=$(printf %q "${!k}") "; done
command_line+=$(printf '%q ' "$0" "$@")
command_line=${command_line% }

workers=${WORKERS:-8} grad=${GRAD:-100M} rate=${RATE:-1gbit} iterations=${ITERATIONS:-8}
reps=${REPS:-5} warmup=${WARMUP:-5} policies=${POLICIES:-burst round-robin} out="" dry_run="" report_only="" gradwire=""
while (($#)); do
  opt=$1 val="" inline=""
  [[ $1 == --*=* ]] && opt=${1%%=*} val=${1#*=} inline=1
  case $opt in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --dry-run) [[ -z $inline ]] || bad_usage "--dry-run takes no value"; dry_run=1 ;;
    --report-only) [[ -z $inline ]] || bad_usage "--report-only takes no value"; report_only=1 ;;
    --workers | --grad | --rate | --iterations | --reps | --warmup | --policies | --out | --prefix)
      if [[ -z $inline ]]; then
        [[ $# -ge 2 ]] || bad_usage "$opt needs a value"
        val=$2
        shift
      fi
      [[ -n $val ]] || bad_usage "$opt needs a value"
      case $opt in
        --workers) workers=$val ;; --grad) grad=$val ;; --rate) rate=$val ;;
        --iterations) iterations=$val ;; --reps) reps=$val ;; --warmup) warmup=$val ;; --policies) policies=$val ;;
        --out) out=$val ;; --prefix) export GW_TOPO_PREFIX=$val ;;
      esac ;;
    -*) bad_usage "unknown option '$opt'" ;;
    *) if [[ -z $gradwire ]]; then gradwire=$1
       elif [[ -z $out ]]; then out=$1  # the old positional OUT
       else bad_usage "unexpected argument '$1'"; fi ;;
  esac
  shift
done
[[ -n $gradwire ]] || bad_usage "no gradwire binary given"
[[ -z $dry_run || -z $report_only ]] || bad_usage "--dry-run and --report-only exclude each other"
[[ -z $report_only || -n $out ]] || bad_usage "--report-only needs --out DIR (the results to redo)"
for v in workers iterations reps; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bad_usage "--$v wants a positive integer, not '${!v}'"
done
[[ $warmup =~ ^[0-9]+$ ]] || bad_usage "--warmup wants an integer >= 0, not '$warmup'"
((iterations > warmup + 1)) ||
  bad_usage "--iterations $iterations leaves nothing to measure after --warmup $warmup (the iteration turns begin in can still hold a burst grant): give at least $((warmup + 2))"
# The round-robin policies (turns), by their names in --policies.
turn_policies=""
for policy in $policies; do [[ $policy != round-robin && $policy != round-robin:* ]] || turn_policies+=" $policy"; done
# gradwire's own rule (T_iter is measured from worker 0's iteration 5 on), checked before the
# star and the reference run take their minute.
[[ -z $turn_policies ]] || ((warmup >= 5)) ||
  bad_usage "round-robin needs --warmup >= 5 (gradwire measures T_iter from iteration 5), not $warmup"
grad_bytes=$(numfmt --from=iec "$grad" 2>/dev/null) || bad_usage "--grad wants a size like 100M, not '$grad'"
[[ -n ${policies// /} ]] || bad_usage "--policies is empty"
# For titles and prose: 104857600 -> 100MiB, 1gbit -> 1 Gbit/s.
grad_label=$(numfmt --to=iec-i --suffix=B "$grad_bytes")
rate_label=$(awk -v r="$rate" 'BEGIN { if (match(r, /^[0-9.]+/) == 0) { print r; exit }
  v = substr(r, 1, RLENGTH); u = tolower(substr(r, RLENGTH + 1)); sub(/bit$/, "", u)
  print v " " (u == "" ? "" : toupper(u)) "bit/s" }')
[[ -e $gradwire ]] && gradwire=$(realpath "$gradwire")
out=${out:-results/runs/$name-$(date -u +%Y%m%dT%H%M%SZ)}
out=$(realpath -m "$out")  # relative to where it was given, before the cd
cd "$(dirname "$0")/.."
repo=$PWD
shown() { [[ $1 == "$repo"/* ]] && echo "${1#"$repo"/}" || echo "$1"; }
topo=experiments/topo/topo.sh
# shellcheck source=experiments/lib/netns_job.sh
source experiments/lib/netns_job.sh
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
# shellcheck source=experiments/lib/provenance.sh
source experiments/lib/provenance.sh
# shellcheck source=experiments/lib/raw_runs.sh
source experiments/lib/raw_runs.sh
# shellcheck source=experiments/lib/stats.sh
source experiments/lib/stats.sh

window_flag() {
  case $1 in
    round-robin) echo "round-robin:warmup=$warmup" ;;
    round-robin:*) echo "round-robin:warmup=$warmup,${1#round-robin:}" ;;
    *) echo "$1" ;;
  esac
}
run_dir() { echo "$out/runs/${1//[:=,+]/-}-r$2"; }  # policy rep
job=(--num-workers "$workers" --workload synthetic --grad-bytes "$grad" --iterations "$iterations"
  --sync bsp --timeout 300)
commit=$(code_commit)
binary=$(binary_text "$gradwire" "$(shown "$gradwire")")
provenance() {
  provenance_head "$command_line" "$commit" "$binary"
  echo "topology=topo.sh up star --workers $workers --rate $rate${GW_TOPO_PREFIX:+ (prefix $GW_TOPO_PREFIX)}"
  echo "job=${job[*]}"
  echo "policies=$policies"
  echo "reps=$reps"
  echo "warmup=$warmup"
}
if [[ -n $dry_run ]]; then
  provenance
  echo "out=$(shown "$out")"
  echo "reference: iperf3 -C cubic -t 8 -O 2, worker 0 -> server"
  for ((r = 1; r <= reps; r++)); do for policy in $policies; do
    echo "job -> $(shown "$(run_dir "$policy" "$r")")/: gradwire server/worker ${job[*]} --windows $(window_flag "$policy")"
  done; done
  exit 0
fi
command -v gnuplot >/dev/null || { echo "windows.sh: gnuplot missing (make deps)" >&2; exit 1; }
if [[ -z $report_only ]]; then  # the measurement's own needs
  command -v iperf3 >/dev/null || { echo "windows.sh: iperf3 missing (make deps)" >&2; exit 1; }
  [[ $(id -u) -eq 0 ]] || { echo "windows.sh: needs root (network namespaces)" >&2; exit 1; }
  [[ -x $gradwire ]] || { echo "windows.sh: no gradwire binary at $gradwire" >&2; exit 1; }
fi
if [[ -d $out && -n $(ls -A "$out") && ! -f $out/provenance.txt && ! -f $out/windows.csv ]]; then
  echo "windows.sh: $(shown "$out") holds files but no windows.sh output: pick another --out" >&2
  exit 2
fi

tmp=$(mktemp -d)
if [[ -n $report_only ]]; then
  trap 'rm -rf "$tmp"' EXIT
  prov() { sed -n "s/^$1=//p" "$out/provenance.txt" 2>/dev/null | head -1; }
  [[ -f $out/provenance.txt ]] || { echo "windows.sh: no $(shown "$out")/provenance.txt to redo" >&2; exit 1; }
  [[ "$(prov job) $(prov policies) $(prov reps) $(prov warmup)" == "${job[*]} $policies $reps $warmup" ]] || {
    echo "windows.sh: the options differ from the measurement's (provenance.txt: job=$(prov job), policies=$(prov policies), reps=$(prov reps), warmup=$(prov warmup)): give the same ones" >&2
    exit 2
  }
  raw_runs_unpack "$out"
  # The reference measured with the jobs (older runs kept it only in windows.csv, in Mbit/s).
  goodput_bps=$(prov reference_bps)
  [[ -n $goodput_bps ]] || goodput_bps=$(csv_awk 'FNR == 2 { printf "%.0f", col("goodput_mbps") * 1e6 }' "$out/windows.csv")
  goodput_mbps=$(awk -v b="$goodput_bps" 'BEGIN { printf "%.1f", b / 1e6 }')
  redone="Analysis, plot and this README redone by \`$command_line\` at commit $commit on $(date -u +%Y-%m-%dT%H:%MZ)."
  command_line=$(prov command) commit=$(prov commit) binary=$(prov gradwire)
else
trap 'rm -rf "$tmp"; "$topo" down >/dev/null 2>&1 || true' EXIT
rm -rf "$out/runs"
mkdir -p "$out/runs"
provenance >"$out/provenance.txt"
echo "windows.sh: building a star: $workers workers, server link $rate, 1 MB buffer" >&2
"$topo" up star --workers "$workers" --rate "$rate" >/dev/null

# Reference: one CUBIC flow worker 0 -> server through the bottleneck, 8 s (first 2 omitted).
"$topo" exec server iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
sleep 0.5
goodput_bps=$("$topo" exec w0 iperf3 -c 10.77.0.100 -p 5201 -C cubic -t 8 -O 2 -J |
  awk -F'[:,]' '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { print $2; exit }')
wait
goodput_mbps=$(awk -v b="$goodput_bps" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "windows.sh: iperf3 reference: $goodput_mbps Mbit/s" >&2
echo "reference_bps=$goodput_bps" >>"$out/provenance.txt"

started=$(date +%s)
k=0 total=$((reps * $(wc -w <<<"$policies")))
for ((r = 1; r <= reps; r++)); do for policy in $policies; do
  k=$((k + 1))
  elapsed=$(($(date +%s) - started))
  echo "windows.sh: [$k/$total] $policy, repetition $r: $iterations iterations of $workers x $grad pushes" \
    "(${elapsed} s, ETA $((k > 1 ? elapsed * (total - k + 1) / (k - 1) : 0)) s)" >&2
  netns_job "$gradwire" "$(run_dir "$policy" "$r")" "$workers" "${job[@]}" --windows "$(window_flag "$policy")" ||
    exit 1
done; done
fi

# ---- analysis, per repetition ----
# A repetition's first measured iteration (see the header): the one after the round-robin
# policies' last iteration >= the warm-up that holds an unbounded window (bound_s inf: a burst
# grant, also one that a bounded grant replaced as turns began), and at least the warm-up; none
# left: fail.
measure_from() {  # rep
  local from=$warmup policy next
  for policy in $turn_policies; do
    next=$(csv_awk -v w0="$warmup" '{ i = col("iteration") + 0; if (i > last) last = i
        if (i >= w0 && col("bound_s") ~ /inf/ && i + 1 > from) from = i + 1 }
      END { if (from < w0) from = w0; print (from <= last ? from : "") }' "$(run_dir "$policy" "$1")/windows.csv")
    [[ -n $next ]] || {
      echo "windows.sh: $policy's last iteration still held an unbounded window: nothing to measure; see $(shown "$(run_dir "$policy" "$1")")/windows.csv (more --iterations?)" >&2
      exit 1
    }
    ((next <= from)) || from=$next
  done
  echo "$from"
}

pushes="$out/pushes.csv"
summary="$out/windows.csv"
turns="$out/turns.csv"
echo "rep,policy,worker,iteration,requested_s,landed_s,completion_s" >"$pushes"
echo "rep,policy,measured_iterations,pushes,mean_completion_s,completion_p10_s,completion_p50_s,completion_p90_s,max_completion_s,mean_request_spread_s,max_request_spread_s,mean_makespan_s,ideal_makespan_s,makespan_over_ideal,goodput_mbps,mean_completion_over_burst,turns,median_turn_idle_s,turn_idle_over_wire" >"$summary"
echo "rep,policy,iteration,worker,gap_s" >"$turns"
ideal=$(awk -v n="$workers" -v b="$grad_bytes" -v g="$goodput_bps" 'BEGIN { printf "%.6f", n * b * 8 / g }')
wire=$(awk -v b="$grad_bytes" -v g="$goodput_bps" 'BEGIN { printf "%.9f", b * 8 / g }')  # one push
for ((r = 1; r <= reps; r++)); do
  from=$(measure_from "$r")
  echo "windows.sh: repetition $r: measuring iterations $from..$((iterations - 1))" >&2
  for policy in $policies; do
    # A push's first window row holds its request; sorted by iteration, then worker.
    csv_awk -v p="$policy" -v r="$r" -v w0="$from" 'col("landed_s") !~ /nan/ && col("iteration") >= w0 {
        k = col("worker") "," col("iteration")
        if (!(k in req)) { req[k] = col("requested_s"); land[k] = col("landed_s") } }
      END { for (k in req) printf "%s,%s,%s,%.9f,%.9f,%.9f\n", r, p, k, req[k], land[k], land[k] - req[k] }' \
      "$(run_dir "$policy" "$r")/windows.csv" | sort -t, -k4,4n -k3,3n >>"$pushes"
  done
  # Hand-overs (see the header): ring windows in start order; a window counts if the one
  # before it ended landed, its writer's notice came and it was asked for by then. Runs from
  # before the notices (no posted_s) have none.
  for policy in $turn_policies; do
    csv_awk -v w0="$from" 'has("posted_s") && col("bound_s") !~ /inf/ && col("iteration") >= w0 {
        printf "%s,%s,%s,%s,%s,%s,%s\n", col("start_s"), col("end_s"), col("end"), col("posted_s"),
          col("requested_s"), col("worker"), col("iteration") }' "$(run_dir "$policy" "$r")/windows.csv" |
      sort -t, -k1,1g |
      awk -F, -v r="$r" -v p="$policy" 'NR > 1 && how == "landed" && $4 !~ /nan/ && $5 + 0 <= end + 0 {
          printf "%s,%s,%s,%s,%.9f\n", r, p, $7, $6, $4 - end }
        { end = $2; how = $3 }' >>"$turns"
  done
  burst_mean=""
  for policy in $policies; do
    # Percentiles by nearest rank over the repetition's sorted completions.
    pct=$(csv_awk -v p="$policy" -v r="$r" 'col("rep") == r && col("policy") == p { print col("completion_s") }' "$pushes" |
      sort -g | awk '{ c[NR] = $1 } END { n = NR
        split("0.1 0.5 0.9", q, " ")
        for (j = 1; j <= 3; j++) { k = int(q[j] * n + 0.999999); if (k < 1) k = 1; printf "%s%.4f", (j > 1 ? "," : ""), c[k] } }')
    # The median idle (nearest rank, a negative gap counting 0) over the repetition's hand-overs.
    turn=$(csv_awk -v p="$policy" -v r="$r" 'col("rep") == r && col("policy") == p { g = col("gap_s") + 0; print (g > 0 ? g : 0) }' "$turns" |
      sort -g | awk -v wire="$wire" '{ c[NR] = $1 } END { if (!NR) { print ",,"; exit }
        k = int(0.5 * NR + 0.999999); printf "%d,%.6f,%.4f", NR, c[k], c[k] / wire }')
    # The ratio divides the means as printed (4 decimals); burst's own row gets 1.
    csv_awk -v p="$policy" -v r="$r" -v ideal="$ideal" -v g="$goodput_bps" -v burst="$burst_mean" -v pct="$pct" \
      -v turn="$turn" -v range="$from-$((iterations - 1))" '
      col("rep") == r && col("policy") == p {
        n++; c = col("completion_s"); s += c; if (c > mx) mx = c
        it = col("iteration"); q = col("requested_s")
        if (!(it in lo) || q < lo[it]) lo[it] = q
        if (!(it in rhi) || q > rhi[it]) rhi[it] = q
        if (col("landed_s") > hi[it]) hi[it] = col("landed_s") }
      END { for (it in lo) { m += hi[it] - lo[it]; sp = rhi[it] - lo[it]; sps += sp; if (sp > spmax) spmax = sp; k++ }
        mean = sprintf("%.4f", s / n); if (p == "burst") burst = mean
        ratio = (burst == "") ? "" : sprintf("%.4f", mean / burst)
        printf "%s,%s,%s,%d,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.1f,%s,%s\n", r, p, range, n, mean, pct, mx,
          sps / k, spmax, m / k, ideal, m / k / ideal, g / 1e6, ratio, turn }' "$pushes" >>"$summary"
    [[ $policy != burst ]] ||
      burst_mean=$(csv_awk -v r="$r" 'col("rep") == r && col("policy") == "burst" { print col("mean_completion_s") }' "$summary")
  done
done
column -s, -t "$summary" >&2

# ---- over the repetitions: mean, sd and 95 % CI half-width per policy ----
cells="$out/cells.csv"
metrics="mean_completion_s makespan_over_ideal mean_completion_over_burst mean_request_spread_s turn_idle_over_wire"
{
  printf "policy,n"
  for m in $metrics; do printf ",%s,%s_sd,%s_ci95" "$m" "$m" "$m"; done
  echo
  for policy in $policies; do
    csv_awk -v p="$policy" -v tq="$T95_TABLE" -v metrics="$metrics" '
      BEGIN { split(tq, t, " "); nm = split(metrics, mt, " ") }
      col("policy") == p { c++; for (i = 1; i <= nm; i++) { v = col(mt[i]); if (v == "") empty[i] = 1; x[i, c] = v + 0 } }
      END { line = p "," c
        for (i = 1; i <= nm; i++) {
          if (i in empty) { line = line ",,,"; continue }
          s = 0; for (j = 1; j <= c; j++) s += x[i, j]; mean = s / c
          line = line "," sprintf("%.4f", mean)
          if (c < 2) { line = line ",,"; continue }
          v = 0; for (j = 1; j <= c; j++) v += (x[i, j] - mean) ^ 2; sd = sqrt(v / (c - 1))
          line = line "," sprintf("%.4f", sd) "," sprintf("%.4f", (c - 1 <= 30 ? t[c - 1] : 1.960) * sd / sqrt(c)) }
        print line }' "$summary"
  done
} >"$cells"
column -s, -t "$cells" >&2
if ((reps == 1)); then
  reps_text="one repetition: no error bars"
else
  reps_text="$reps repetitions; error bars: 95 % CI of the mean (Student t)"
fi

# A figure of two panels: CDFs (gnuplot plot command CDF_PLOT over the named stats in STATS)
# and one bar per policy with its 95 % CI (BARS: policy,value,ci rows), EXTRA appended to the
# bars' plot command.
cdf_and_bars() {  # PNG TITLE CDF_TITLE CDF_XLABEL CDF_YLABEL STATS CDF_PLOT BARS_TITLE BARS_YLABEL BARS YMAX EXTRA
  gnuplot <<EOF
set terminal pngcairo size 1400,600 font ",11"
set output "$1"
set multiplot layout 1,2 title "$2" noenhanced
set title "$3" noenhanced
set xlabel "$4"
set ylabel "$5"
set key outside below horizontal noenhanced
set bmargin 6
set grid
load "$6"
set yrange [0:1.02]
plot $7
set title "$8" noenhanced
set datafile separator ","
set xlabel "window policy"
set ylabel "$9"
set yrange [0:${11}]
set xrange [-0.5:$(($(wc -l <"${10}") - 1)).5]
set style fill solid 0.6 border -1
set boxwidth 0.5
unset key
plot "${10}" using 0:2:xtic(1) with boxes, "" using 0:2:3 with yerrorbars lw 2 pt 7 lc rgb "black"${12}
unset multiplot
EOF
}

# Left: push completion, every policy, every repetition's pushes pooled, as a CDF. Right: the
# repetitions' mean push completion per policy with its 95 % CI.
plot="" i=0
for policy in $policies; do
  i=$((i + 1))
  f="$tmp/completions-${policy//[:=,+]/-}"
  csv_awk -v p="$policy" 'col("policy") == p { print col("completion_s") }' "$pushes" | sort -g >"$f"
  label=$policy
  [[ $policy == burst ]] && label="burst (each at once)"
  [[ $policy == round-robin ]] && label="round-robin (R2SP turns)"
  plot+="${plot:+, }\"$f\" using 1:(1.0/P${i}_records) smooth cumulative lw 2 title \"$label\""
  echo "stats \"$f\" using 1 nooutput name \"P$i\"" >>"$tmp/stats.gp"
done
csv_awk '{ printf "%s,%s,%s\n", col("policy"), col("mean_completion_s"), (col("mean_completion_s_ci95") == "" ? 0 : col("mean_completion_s_ci95")) }' \
  "$cells" >"$tmp/bars.csv"
cdf_and_bars "$out/pushes.png" "$workers workers x $grad_label pushes through a $rate_label server link, BSP; $reps_text" \
  "push completion, every measured push of every repetition" "push completion (landed - requested), s" \
  "fraction of pushes" "$tmp/stats.gp" "$plot" \
  "mean push completion (per repetition, then the mean over them)" "mean push completion, s" \
  "$tmp/bars.csv" "$(awk -F, '{ y = $2 + $3; if (y > m) m = y } END { printf "%.6f", 1.1 * m }' "$tmp/bars.csv")" ""
# With turns: every hand-over's gap as a CDF (the link's idle time between two writers;
# negative: the next writer's bytes queued behind the last ones), and the median idle per
# policy over one push's wire time with its 95 % CI.
if [[ -n $turn_policies && $(wc -l <"$turns") -gt 1 ]]; then
  plot="" i=0
  : >"$tmp/turn-stats.gp"
  for policy in $turn_policies; do
    i=$((i + 1))
    f="$tmp/turns-${policy//[:=,+]/-}"
    csv_awk -v p="$policy" 'col("policy") == p { printf "%.6f\n", col("gap_s") * 1000 }' "$turns" | sort -g >"$f"
    [[ -s $f ]] || continue
    plot+="${plot:+, }\"$f\" using 1:(1.0/T${i}_records) smooth cumulative lw 2 title \"$policy\""
    echo "stats \"$f\" using 1 nooutput name \"T$i\"" >>"$tmp/turn-stats.gp"
  done
  csv_awk -v tp=" $turn_policies " 'index(tp, " " col("policy") " ") && col("turn_idle_over_wire") != "" {
      printf "%s,%s,%s\n", col("policy"), col("turn_idle_over_wire"), (col("turn_idle_over_wire_ci95") == "" ? 0 : col("turn_idle_over_wire_ci95")) }' \
    "$cells" >"$tmp/turn-bars.csv"
  cdf_and_bars "$out/turns.png" "Hand-overs between turns: $workers workers x $grad_label, $rate_label server link, BSP; $reps_text" \
    "gap from a window's end to the next writer's first post, every measured hand-over" \
    "gap, ms (negative: the next writer's bytes queued behind)" "fraction of hand-overs" \
    "$tmp/turn-stats.gp" "$plot" "median idle between turns / one push's wire time (target <= 0.05)" \
    "median idle / wire time" "$tmp/turn-bars.csv" \
    "$(awk -F, '{ y = $2 + $3; if (y > m) m = y } END { printf "%.6f", (m > 0.05 ? 1.1 * m : 0.06) }' "$tmp/turn-bars.csv")" \
    ', 0.05 with lines dt 2 lc rgb "red"'
fi

{
  echo "# Write windows against incast: ${policies// / vs }, $workers workers x $grad_label, $rate_label"
  echo
  echo "Made by \`$command_line\` (as root) at commit $commit on $(sed -n 's/^date=//p' "$out/provenance.txt"),"
  echo "$(sed -n 's/^machine=//p' "$out/provenance.txt"); binary $binary."
  [[ -z $report_only ]] || echo "$redone"
  echo
  echo "Star of network namespaces (\`topo.sh up star --workers $workers --rate $rate\`): server"
  echo "link $rate_label both ways (HTB, 1 MB bfifo), $workers workers pushing $grad_label gradients under"
  echo "BSP, TCP with CUBIC. Each job: \`gradwire server/worker ${job[*]} --windows POLICY\`"
  echo "(round-robin: \`round-robin:warmup=$warmup\`)."
  echo
  echo "Measured: per repetition, from the first iteration >= the warm-up ($warmup) after round-robin's"
  echo "last one holding an unbounded (burst) window, to the last of 0-$((iterations - 1)); the same"
  echo "iterations for every policy of that repetition (measured_iterations below). $reps_text."
  echo
  echo "Reference in the same run: iperf3, one CUBIC flow through the bottleneck: $goodput_mbps Mbit/s."
  echo "Ideal makespan = $workers x $grad_label / that goodput = ${ideal} s."
  echo
  echo "Over the repetitions (mean, sd, 95 % CI half-width; cells.csv):"
  echo
  echo '```'
  column -s, -t "$cells"
  echo '```'
  echo
  csv_awk -v tp=" $turn_policies " 'index(tp, " " col("policy") " ") {
      p = col("policy"); r = col("makespan_over_ideal"); h = col("makespan_over_ideal_ci95")
      printf "- %s makespan / ideal: %.3f%s (target <= 1.05): %s\n", p, r, (h == "" ? "" : sprintf(" +- %.3f", h)),
        (r <= 1.05 ? (h == "" || r + h <= 1.05 ? "met" : "met on the mean, not over its whole CI") : "NOT met")
      r = col("mean_completion_over_burst"); h = col("mean_completion_over_burst_ci95")
      if (r != "") printf "- %s mean push completion / burst: %.3f%s (target <= 0.75): %s\n", p, r, (h == "" ? "" : sprintf(" +- %.3f", h)),
        (r <= 0.75 ? (h == "" || r + h <= 0.75 ? "met" : "met on the mean, not over its whole CI") : "NOT met")
      r = col("turn_idle_over_wire"); h = col("turn_idle_over_wire_ci95")
      if (r != "") printf "- %s median idle between turns / one push wire time: %.3f%s (target <= 0.05): %s\n", p, r, (h == "" ? "" : sprintf(" +- %.3f", h)),
        (r <= 0.05 ? (h == "" || r + h <= 0.05 ? "met" : "met on the mean, not over its whole CI") : "NOT met") }' "$cells"
  csv_awk 'col("policy") == "burst" { n++; s += col("mean_request_spread_s"); if (col("max_request_spread_s") > mx) mx = col("max_request_spread_s")
      p10 += col("completion_p10_s"); p50 += col("completion_p50_s"); p90 += col("completion_p90_s") }
    END { if (!n) exit
      printf "- The burst baseline is \"all at once\" only to within its request spread: its pushes were\n"
      printf "  requested over %.3f s per iteration on average (at most %.3f s), as the parameter pulls\n", s / n, mx
      printf "  before them ended at different times; a push requested late meets fewer competitors.\n"
      printf "  Its completions (means over the repetitions): p10 %.3f s, median %.3f s, p90 %.3f s. The\n", p10 / n, p50 / n, p90 / n
      printf "  comparison holds for pushes this spread, not for strictly simultaneous ones.\n" }' "$summary"
  echo
  echo "Every repetition (windows.csv):"
  echo
  echo '```'
  column -s, -t "$summary"
  echo '```'
  echo
  echo "Columns: completion = landed - requested per push (mean, nearest-rank p10/p50/p90, max);"
  echo "request spread = last requested - first requested per iteration; makespan = last landed -"
  echo "first requested per iteration; mean_completion_over_burst divides by burst's mean of the"
  echo "same repetition."
  echo
  echo "![push completion](pushes.png)"
  if [[ -f $out/turns.png ]]; then
    echo
    echo "Hand-overs (turns.csv: every one; a gap is the next writer's first-post notice minus the"
    echo "window before it ending; idle counts a negative gap as 0; wire time = $grad_label / the"
    echo "iperf3 goodput = $wire s):"
    echo
    echo "![hand-overs](turns.png)"
  fi
  echo
  echo "Files: cells.csv (over the repetitions), windows.csv (every repetition), pushes.csv (every"
  echo "measured push), turns.csv (every measured hand-over between turns), provenance.txt, runs/<policy>-r<rep>/ (each job's windows.csv, writes-W.csv,"
  echo "worker-W.csv, logs and command.txt; committed packed as runs.tar.xz)."
} >"$out/README.md"
echo "windows.sh: wrote $(shown "$out")/README.md" >&2
raw_runs_pack_committed "$out"
