#!/usr/bin/env bash
# Runs an experiment spec: topology x workers x gradient sizes x schemes x repetitions, each a
# real gradwire job in an emulated topology (experiments/topo), and writes into OUT:
#   runs.csv        one row per job (repetition)
#   cells.csv       one row per cell (delay x workers x gradient x scheme): n repetitions and,
#                   of iteration_s, goodput_mbps, updates_per_s and rows_per_s, the mean, the
#                   standard deviation (_sd) and the half-width of the 95 % confidence interval
#                   of the mean (_ci95; Student t, n - 1 degrees of freedom, experiments/lib/stats.sh);
#                   _sd and _ci95 are empty with one repetition. Then the means of compute_s,
#                   write_s, gate_s, wait_s, wall_s.
#   NAME.png        mean iteration time per cell, error bars = the 95 % CI (none with one rep)
#   README.md       the command, commit, binary, date, machine, settings, the cells' table
#   provenance.txt  what README.md's first lines say (kept for --plot-only)
#   runs/<job>/     each job's CSVs, logs, command.txt
# As root (network namespaces), except --dry-run and --plot-only.
#
# Usage: experiments/runner.sh SPEC [--out DIR] [--reps N] [--prefix P] [--sim] [--dry-run | --plot-only]
#   --out DIR    where results go (default results/runs/NAME-<UTC date-time>, which git ignores;
#                to commit a result give --out results/NAME explicitly). A DIR that exists must
#                be empty or an earlier runner output (it has runs.csv or provenance.txt), whose
#                runs/ is then replaced.
#   --reps N     repetitions per cell, overriding the spec's REPETITIONS
#   --prefix P   topology name prefix (GW_TOPO_PREFIX for every topo.sh call, so runs with
#                different prefixes coexist; `topo.sh down` at exit takes down only P's)
#   --sim        simulate each job instead (`gradwire sim`, SimGrid; no root, no namespaces) on
#                the spec's topology as a simulated fabric: star --rate R [--slow-workers W,W
#                --slow-rate S] (links of 10 us, a --delay-ms D path's D split over its two links) or tree --racks K --per-rack P --rate R
#                --uplink-rate U. What the flow model has no counterpart for (--buffer,
#                --host-queue, --sysctl) is left out and listed in provenance.txt; a star's
#                --slow-workers and --slow-rate are simulated, other options refused. Results default to NAME-sim-<date>.
#                The same job gives the same result: one repetition per cell unless --reps
#   --dry-run    print every job (topology, environment, flags, where results go); start and
#                write nothing
#   --plot-only  redraw cells.csv, the plot and README.md from OUT/runs.csv (needs --out)
#   --rescan     rebuild OUT/runs.csv from the jobs' own CSVs in OUT/runs/ (unpacked from
#                OUT/runs.tar.xz if need be), then redraw as --plot-only: for a metric added
#                after the jobs ran (needs --out; the spec's cells, repetitions as found)
# GRADWIRE=path/to/gradwire (default build/apps/gradwire/gradwire). Exit 2: bad usage or spec.
#
# A spec is a bash file of assignments (experiments/specs/*.sh):
#   NAME=incast                      default OUT results/runs/NAME-<date>
#   TITLE="..."                      first line of the README and the plot
#   TOPOLOGY=(star --rate 1gbit)     `topo.sh up` arguments; a star gets --workers N added, a
#                                    tree's size is its own (racks x per-rack = WORKERS)
#   WORKERS=(2 4 8 16)               --num-workers (and the topology's worker count)
#   GRADS=(1M 10M 100M)              --grad-bytes (synthetic workload; IEC: 1M = 1 MiB)
#   SCHEMES=("--sync bsp" ...)       flag sets compared, one line (or bar) each on the plot
#   LABELS=("BSP" ...)               optional, parallel to SCHEMES: names in legends and tables
#                                    (default: the flags); no commas or double quotes
#   ITERATIONS=8  MEASURE_FROM=5     iterations per worker; rows average iterations >= this
#   METRIC=iteration_s               what the plot shows: iteration_s (mean iteration time per
#                                    worker) or round_s (coded jobs: the server's mean round
#                                    time, rounds.csv duration_s of rounds >= MEASURE_FROM)
#   REPETITIONS=5                    jobs per cell (--reps overrides)
#   JOB=(--workload synthetic)       flags every job gets
#   DELAYS_MS=(0 1 10)               one-way delay per worker<->server path (topo.sh
#                                    --delay-ms), a dimension of its own; with more than one,
#                                    WORKERS must be one count and the plot is against delay
#   SERVERS=1  TRANSPORT=tcp         passed to netns_job as GW_NETNS_SERVERS, GW_NETNS_TRANSPORT
#                                    (it adds --num-servers); SERVERS > 1 also gives topo.sh up
#                                    --servers S
#   PREFIX=                          topology prefix (--prefix overrides); empty: topo.sh's own
set -euo pipefail
usage="usage: experiments/runner.sh SPEC [--out DIR] [--reps N] [--prefix P] [--sim] [--dry-run | --plot-only | --rescan]   (specs: experiments/specs/)"
bad_usage() { echo "runner.sh: $*" >&2; echo "$usage" >&2; exit 2; }
spec="" out="" reps="" prefix="" mode="" sim=""
# The options given (the README's command repeats them).
out_given="" prefix_given=""
while (($#)); do
  case $1 in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --dry-run | --plot-only | --rescan)
      [[ -z $mode || $mode == "$1" ]] || bad_usage "--dry-run, --plot-only and --rescan exclude each other"
      mode=$1 ;;
    --out | --reps | --prefix)
      [[ $# -ge 2 && -n $2 ]] || bad_usage "$1 needs a value"
      case $1 in --out) out=$2 out_given=1 ;; --reps) reps=$2 ;; --prefix) prefix=$2 prefix_given=1 ;; esac
      shift ;;
    --out=* | --reps=* | --prefix=*)
      v=${1#*=}
      [[ -n $v ]] || bad_usage "${1%%=*} needs a value"
      case $1 in --out=*) out=$v out_given=1 ;; --reps=*) reps=$v ;; --prefix=*) prefix=$v prefix_given=1 ;; esac ;;
    --sim) sim=1 ;;
    -*) bad_usage "unknown option '$1'" ;;
    *) [[ -z $spec ]] || bad_usage "one spec only ('$spec', '$1')"
      spec=$1 ;;
  esac
  shift
done
[[ -n $spec ]] || bad_usage "no spec given"
[[ -f $spec ]] || bad_usage "no spec file '$spec' (see experiments/specs/)"
[[ -z $reps || $reps =~ ^[1-9][0-9]*$ ]] || bad_usage "--reps wants a positive integer, not '$reps'"
[[ $mode != --plot-only || -n $out ]] || bad_usage "--plot-only needs --out DIR (the results to redraw)"
[[ $mode != --rescan || -n $out ]] || bad_usage "--rescan needs --out DIR (the results to rebuild)"
spec=$(realpath "$spec")
[[ -z $out ]] || out=$(realpath -m "$out")  # relative to the caller's directory, before the cd
cd "$(dirname "$0")/.."
repo=$(pwd)
gradwire=$(realpath -m "${GRADWIRE:-build/apps/gradwire/gradwire}")
NAME="" TITLE="" TOPOLOGY=() WORKERS=() GRADS=() SCHEMES=() LABELS=() ITERATIONS=8 MEASURE_FROM=5
REPETITIONS=5 JOB=(--workload synthetic) DELAYS_MS=(0) SERVERS=1 TRANSPORT=tcp PREFIX=""
METRIC=iteration_s
# shellcheck source=/dev/null
source "$spec"
spec_error() { echo "runner.sh: $spec: $*" >&2; exit 2; }
[[ -n $NAME && ${#TOPOLOGY[@]} -gt 0 && ${#WORKERS[@]} -gt 0 && ${#SCHEMES[@]} -gt 0 ]] ||
  spec_error "must set NAME, TOPOLOGY, WORKERS and SCHEMES"
[[ ${#GRADS[@]} -gt 0 ]] || GRADS=(4M)
((${#DELAYS_MS[@]} == 1 || ${#WORKERS[@]} == 1)) || spec_error "varies both DELAYS_MS and WORKERS: vary one"
((${#LABELS[@]} == 0 || ${#LABELS[@]} == ${#SCHEMES[@]})) ||
  spec_error "LABELS has ${#LABELS[@]} entries for ${#SCHEMES[@]} SCHEMES (one per scheme, same order)"
for l in "${LABELS[@]}"; do
  [[ -n $l && $l != *[,\"]* ]] || spec_error "label '$l': empty, or a comma or double quote in it"
done
if ! [[ $ITERATIONS =~ ^[1-9][0-9]*$ && $MEASURE_FROM =~ ^[0-9]+$ ]] || ((MEASURE_FROM >= ITERATIONS)); then
  spec_error "wants ITERATIONS > MEASURE_FROM >= 0 (got $ITERATIONS, $MEASURE_FROM)"
fi
[[ $METRIC == iteration_s || $METRIC == round_s ]] || spec_error "METRIC '$METRIC' is neither iteration_s nor round_s"
[[ $REPETITIONS =~ ^[1-9][0-9]*$ ]] || spec_error "REPETITIONS '$REPETITIONS' is not a positive integer"
[[ $SERVERS =~ ^[1-9][0-9]*$ ]] || spec_error "SERVERS '$SERVERS' is not a positive integer"
[[ $TRANSPORT == tcp || $TRANSPORT == rdma ]] || spec_error "TRANSPORT '$TRANSPORT' is neither tcp nor rdma"
for grad in "${GRADS[@]}"; do
  numfmt --from=iec "$grad" >/dev/null 2>&1 || spec_error "gradient size '$grad' is not a size (1M, 512K)"
done
if [[ -n $sim ]]; then
  REPETITIONS=1  # a simulation is deterministic: more repetitions repeat one number
  [[ $TRANSPORT == tcp ]] || spec_error "--sim: the simulated transport stands for TCP, not $TRANSPORT"
fi
[[ -n $reps ]] && REPETITIONS=$reps
[[ -n $prefix ]] || prefix=$PREFIX
# topo.sh's rule: the prefix names the namespaces (<P>srv, <P>sw, <P>w<r>).
[[ -z $prefix || $prefix =~ ^[a-z][a-z0-9]{0,5}$ ]] ||
  bad_usage "prefix '$prefix': a lowercase letter, then at most 5 lowercase letters or digits"
# Every topo.sh call (ours and netns_job's `topo.sh exec`) sees the prefix: down at exit then
# takes down this run's topology only.
[[ -n $prefix ]] && export GW_TOPO_PREFIX=$prefix
export GW_NETNS_SERVERS=$SERVERS GW_NETNS_TRANSPORT=$TRANSPORT
[[ -n $out ]] || out=$repo/results/runs/$NAME${sim:+-sim}-$(date -u +%Y%m%d-%H%M%S)
csv=$out/runs.csv
cells=$out/cells.csv
topo=experiments/topo/topo.sh
# shellcheck source=experiments/lib/netns_job.sh
source experiments/lib/netns_job.sh
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
# shellcheck source=experiments/lib/provenance.sh
source experiments/lib/provenance.sh
# shellcheck source=experiments/lib/raw_runs.sh
source experiments/lib/raw_runs.sh

# A path as the README shows it: relative to the repository when inside it.
shown() { [[ $1 == "$repo"/* ]] && echo "${1#"$repo"/}" || echo "$1"; }
# The command as given (paths made repository-relative, so it runs from the repository root).
command_line() {
  local c
  c="experiments/runner.sh $(shown "$spec")"
  [[ -n $out_given ]] && c+=" --out $(shown "$out")"
  [[ -n $reps ]] && c+=" --reps $reps"
  [[ -n $prefix_given ]] && c+=" --prefix $prefix"
  [[ -n $sim ]] && c+=" --sim"
  echo "$c"
}

# A scheme or label as one CSV cell: its commas become semicolons.
cell() { tr ',' ';' <<<"$*"; }
slug() {
  local s="$*"
  tr -c 'a-zA-Z0-9.=\n-' '_' <<<"${s//--/}" | tr -s '_' | sed 's/^_//; s/_$//'
}
label() { echo "${LABELS[$1]:-${SCHEMES[$1]}}"; }  # scheme index -> its legend
# Bytes as people read them: 1048576 -> "1 MiB", 1572864 -> "1.5 MiB", 4096 -> "4 KiB".
human_bytes() {
  awk -v b="$1" 'BEGIN { split("B KiB MiB GiB TiB", u, " "); i = 1
    while (b >= 1024 && i < 5) { b /= 1024; i++ }
    f = b == int(b) ? "%d %s\n" : "%.1f %s\n"; printf f, b, u[i] }'
}

cells_total=$((${#DELAYS_MS[@]} * ${#WORKERS[@]} * ${#GRADS[@]} * ${#SCHEMES[@]}))
total=$((cells_total * REPETITIONS))
# topo.sh up arguments for n workers and one-way delay d ms.
topo_args() {
  local n=$1 d=$2 args=("${TOPOLOGY[@]}")
  # A star takes the worker count; a tree's is racks x per-rack, given in TOPOLOGY.
  [[ ${TOPOLOGY[0]} == star ]] && args+=(--workers "$n")
  [[ $d != 0 ]] && args+=(--delay-ms "$d")
  ((SERVERS > 1)) && args+=(--servers "$SERVERS")
  echo "${args[@]}"
}
# topo.sh's rate (1gbit, 400mbit) as gradwire sim's (1Gbps, 400Mbps), and in bits per second.
sim_rate() {
  case $1 in
    *gbit) echo "${1%gbit}Gbps" ;; *mbit) echo "${1%mbit}Mbps" ;; *kbit) echo "${1%kbit}kbps" ;;
    *) return 1 ;;
  esac
}
rate_bps() {
  case $1 in
    *gbit) awk -v v="${1%gbit}" 'BEGIN { print v * 1e9 }' ;;
    *mbit) awk -v v="${1%mbit}" 'BEGIN { print v * 1e6 }' ;;
    *kbit) awk -v v="${1%kbit}" 'BEGIN { print v * 1e3 }' ;;
    *) return 1 ;;
  esac
}
# What of TOPOLOGY a simulated fabric leaves out (the flow model has no buffers, host queues
# or TCP settings), for provenance.txt.
sim_left_out() {
  local a=("${TOPOLOGY[@]:1}") i out=""
  for ((i = 0; i < ${#a[@]}; i++)); do
    case ${a[i]} in --buffer | --host-queue | --sysctl) out+="${out:+ }${a[i]} ${a[i + 1]}"; i=$((i + 1)) ;; esac
  done
  echo "${out:-nothing}"
}
# gradwire sim's --topology for TOPOLOGY with one-way delay d ms on each worker<->server path
# (two links: half on each) over a base of 10 us per link: the emulated star's round trip
# without a delay line is ~0.04 ms, four links.
sim_topology() {
  local d=$1 a=("${TOPOLOGY[@]:1}") i rate="" uplink="" racks="" per_rack="" slow="" slow_rate=""
  for ((i = 0; i < ${#a[@]}; i++)); do
    case ${a[i]} in
      --rate) rate=${a[i + 1]} ;;
      --uplink-rate) uplink=${a[i + 1]} ;;
      --racks) racks=${a[i + 1]} ;;
      --per-rack) per_rack=${a[i + 1]} ;;
      --slow-workers) slow=${a[i + 1]//,/+} ;;
      --slow-rate) slow_rate=$(sim_rate "${a[i + 1]}") || spec_error "--sim: rate '${a[i + 1]}'" ;;
      --buffer | --host-queue | --sysctl) ;;
      *) spec_error "--sim: topology option ${a[i]} has no simulated counterpart yet" ;;
    esac
    i=$((i + 1))
  done
  local latency sim
  latency="$(awk -v d="$d" 'BEGIN { printf "%g", 10 + d * 1000 / 2 }')us"
  sim=$(sim_rate "${rate:-1gbit}") || spec_error "--sim: rate '$rate'"
  case ${TOPOLOGY[0]} in
    star) echo "star:rate=$sim,latency=$latency${slow:+,slow=$slow,slow_rate=$slow_rate}" ;;
    tree)
      [[ -n $racks && -n $per_rack && -n $rate ]] || spec_error "--sim: a tree needs --racks, --per-rack, --rate"
      local r u oversub
      r=$(rate_bps "$rate") || spec_error "--sim: rate '$rate'"
      u=$(rate_bps "${uplink:-$rate}") || spec_error "--sim: rate '$uplink'"
      # A rack's host links over its uplink; an uplink as fast as them all is 1.
      oversub=$(awk -v r="$r" -v u="$u" -v p="$per_rack" 'BEGIN { f = r * p / u; printf "%g", f < 1 ? 1 : f }')
      echo "tree:racks=$racks,oversub=$oversub,rate=$sim,latency=$latency" ;;
    *) spec_error "--sim: topology '${TOPOLOGY[0]}' has no simulated counterpart" ;;
  esac
}
# A fabric --sim cannot simulate is refused here, before anything runs (the calls below run in
# subshells, whose exit would not end the script).
[[ -z $sim ]] || sim_topology "${DELAYS_MS[0]}" >/dev/null
# A job's directory: the delay is in its name only when the spec varies it.
job_slug() {  # n grad scheme rep delay
  slug "n$1 grad$2 $3 r$4$( ((${#DELAYS_MS[@]} > 1)) && echo " delay$5ms")"
}
environment() {
  echo "${GW_TOPO_PREFIX:+GW_TOPO_PREFIX=$GW_TOPO_PREFIX }GW_NETNS_SERVERS=$SERVERS GW_NETNS_TRANSPORT=$TRANSPORT"
}
if [[ $mode == --dry-run ]]; then
  echo "spec $NAME: $total jobs ($cells_total cells x $REPETITIONS repetitions) into $out/"
  echo "command: $(command_line)"
  echo "environment: $(environment)"
  echo "iterations $ITERATIONS per worker, measured from $MEASURE_FROM; $SERVERS server(s) over $TRANSPORT"
  for d in "${DELAYS_MS[@]}"; do for n in "${WORKERS[@]}"; do
    if [[ -n $sim ]]; then
      echo "gradwire sim --topology $(sim_topology "$d") (left out: $(sim_left_out))"
    else
      echo "topo.sh up $(topo_args "$n" "$d")"
    fi
    for grad in "${GRADS[@]}"; do for i in "${!SCHEMES[@]}"; do
      for ((rep = 1; rep <= REPETITIONS; rep++)); do
        echo "  job -> $out/runs/$(job_slug "$n" "$grad" "${SCHEMES[i]}" "$rep" "$d")/: gradwire" \
          "$SERVERS server(s)+$n workers --num-workers $n --grad-bytes $grad --iterations $ITERATIONS" \
          "${JOB[*]} ${SCHEMES[i]}  [$(label "$i")]"
      done
    done; done
  done; done
  exit 0
fi

runs_header="workers,grad_bytes,scheme,rep,iteration_s,compute_s,write_s,gate_s,wait_s,updates_per_s,goodput_mbps,wall_s,delay_ms,rows_per_s,round_s"
# One job's runs.csv row from its own CSVs (RUN_DIR: iterations.csv, server-0.csv, rounds.csv).
# An iteration is compute + injected straggler delay (delay_s, 0 without --straggler) + write +
# wait. rows_per_s: minibatch rows per second, summed over workers (each its rows over its
# time): the fair measure when --batch-tuning gives workers different batches; empty for runs
# without a batch column. round_s: coded jobs, the server's mean round time over rounds >=
# MEASURE_FROM (rounds.csv); empty for others.
job_row() {  # run n bytes scheme rep delay
  local run=$1 n=$2 bytes=$3 row rps wall round=""
  row=$(csv_awk -v from="$MEASURE_FROM" -v n="$n" -v b="$bytes" '
    col("iteration") >= from { k++; c += col("compute_s"); w += col("write_s")
      q += col("wait_s"); g += col("gate_s"); d = has("delay_s") ? col("delay_s") : 0
      s += d; t[col("worker")] += col("compute_s") + d + col("write_s") + col("wait_s")
      if (has("batch")) r[col("worker")] += col("batch") }
    END { if (k == 0) { print "no iteration >= " from > "/dev/stderr"; exit 1 }
      it = (c + s + w + q) / k; rps = ""
      if (has("batch")) { rps = 0; for (x in t) if (t[x] > 0) rps += r[x] / t[x]; rps = sprintf("%.1f", rps) }
      printf "%.5f,%.5f,%.5f,%.5f,%.5f,%.3f,%.1f\t%s", it, c / k, w / k, g / k, q / k, n / it, n * b * 8 / it / 1e6, rps }' \
    "$run/iterations.csv") || return 1
  rps=${row#*$'\t'}
  row=${row%$'\t'*}
  wall=$(csv_awk 'FNR == 2 { print col("wall_s") }' "$run/server-0.csv")
  if [[ -f $run/rounds.csv ]]; then
    round=$(csv_awk -v from="$MEASURE_FROM" 'col("round") >= from { s += col("duration_s"); k++ }
      END { if (k) printf "%.5f", s / k }' "$run/rounds.csv")
  fi
  echo "$n,$bytes,$(cell "$4"),$5,$row,$wall,$6,$rps,$round"
}

command -v gnuplot >/dev/null || { echo "runner.sh: gnuplot missing (make deps)" >&2; exit 1; }
data=$(mktemp -d)
if [[ $mode == --rescan ]]; then
  trap 'rm -rf "$data"' EXIT
  raw_runs_unpack "$out"
  # The jobs were measured from the iteration their provenance says, if it says one.
  if [[ -f $out/provenance.txt ]] && grep -q '^measure_from=[0-9]' "$out/provenance.txt"; then
    MEASURE_FROM=$(sed -n 's/^measure_from=//p' "$out/provenance.txt")
  fi
  [[ -d $out/runs ]] || { echo "runner.sh: no $(shown "$out")/runs/ (nor runs.tar.xz) to rescan" >&2; exit 1; }
  echo "$runs_header" >"$data/runs.csv"
  found=0
  for d in "${DELAYS_MS[@]}"; do for n in "${WORKERS[@]}"; do for grad in "${GRADS[@]}"; do
    for scheme in "${SCHEMES[@]}"; do
      for ((rep = 1; ; rep++)); do
        run=$out/runs/$(job_slug "$n" "$grad" "$scheme" "$rep" "$d")
        [[ -f $run/iterations.csv ]] || break
        job_row "$run" "$n" "$(numfmt --from=iec "$grad")" "$scheme" "$rep" "$d" >>"$data/runs.csv"
        found=$((found + 1))
      done
    done
  done; done; done
  ((found > 0)) || { echo "runner.sh: no job of the spec in $(shown "$out")/runs/" >&2; exit 1; }
  mv "$data/runs.csv" "$csv"
  echo "runner.sh: rebuilt $(shown "$csv") from $found jobs" >&2
elif [[ $mode != --plot-only ]]; then
  [[ -n $sim || $(id -u) -eq 0 ]] || { echo "runner.sh: needs root (network namespaces)" >&2; exit 1; }
  [[ -x $gradwire ]] || { echo "runner.sh: no gradwire binary at $gradwire (make, or GRADWIRE=...)" >&2; exit 1; }
  if [[ -d $out && -n $(ls -A "$out") && ! -f $out/runs.csv && ! -f $out/provenance.txt ]]; then
    echo "runner.sh: $out holds files but no runner output (runs.csv, provenance.txt): pick another --out" >&2
    exit 2
  fi
  # Only a run takes down the topology (its own prefix's): --plot-only must not end another run's.
  if [[ -n $sim ]]; then
    trap 'rm -rf "$data"' EXIT
  else
    trap 'rm -rf "$data"; "$topo" down >/dev/null 2>&1 || true' EXIT
  fi
  rm -rf "$out/runs"
  mkdir -p "$out/runs"
  # The code and binary measured, and the settings: README.md's first lines (also after
  # --plot-only, which may run at another commit). One key=value a line, read back by key.
  commit=$(code_commit)
  {
    echo "command=$(command_line)"
    echo "commit=$commit"
    echo "gradwire=$(binary_text "$gradwire" "$(shown "$gradwire")")"
    echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "machine=$(nproc) cores, kernel $(uname -r)"
    if [[ -n $sim ]]; then
      echo "topology=gradwire sim --topology $(sim_topology "${DELAYS_MS[0]}")$(
        ((${#DELAYS_MS[@]} > 1)) && echo " (latency for D in ${DELAYS_MS[*]} ms)") (simulating topo.sh up ${TOPOLOGY[*]}; left out: $(sim_left_out))"
      echo "environment=simulated (SimGrid $(pkg-config --modversion simgrid 2>/dev/null || echo '?'))"
    else
      echo "topology=topo.sh up ${TOPOLOGY[*]}$([[ ${TOPOLOGY[0]} == star ]] && echo " --workers N")$(
        ((${#DELAYS_MS[@]} > 1)) && echo " --delay-ms D (D in ${DELAYS_MS[*]})")$(
        ((SERVERS > 1)) && echo " --servers $SERVERS")"
      echo "environment=$(environment)"
    fi
    echo "job=--grad-bytes G --iterations $ITERATIONS --timeout 300 ${JOB[*]}"
    echo "iterations=$ITERATIONS"
    echo "measure_from=$MEASURE_FROM"
    echo "repetitions=$REPETITIONS"
  } >"$out/provenance.txt"
  echo "$runs_header" >"$csv"
  rm -f "$cells" "$out/README.md" "$out/$NAME.png"
  k=0
  started=$(date +%s)
  for d in "${DELAYS_MS[@]}"; do for n in "${WORKERS[@]}"; do
    # shellcheck disable=SC2046  # topo_args is a list of arguments
    [[ -n $sim ]] || "$topo" up $(topo_args "$n" "$d") >/dev/null
    for grad in "${GRADS[@]}"; do for i in "${!SCHEMES[@]}"; do
      scheme=${SCHEMES[i]}
      for ((rep = 1; rep <= REPETITIONS; rep++)); do
        k=$((k + 1))
        elapsed=$(($(date +%s) - started))
        eta=$((k > 1 ? elapsed * (total - k + 1) / (k - 1) : 0))
        echo "runner.sh: [$k/$total] $n workers, $grad, $(label "$i"), delay ${d} ms, rep $rep" \
          "(${elapsed} s, ETA ${eta} s)" >&2
        run=$out/runs/$(job_slug "$n" "$grad" "$scheme" "$rep" "$d")
        if [[ -n $sim ]]; then
          mkdir -p "$run"
          # Run inside the job's folder: its command.txt says --out ., no path of this machine.
          # shellcheck disable=SC2086  # a scheme is a list of flags
          (cd "$run" && "$gradwire" sim --out . --topology "$(sim_topology "$d")" --log-level warn \
            --num-servers "$SERVERS" --num-workers "$n" --grad-bytes "$grad" \
            --iterations "$ITERATIONS" --timeout 300 "${JOB[@]}" $scheme >sim.log 2>&1) ||
            { echo "runner.sh: the simulated job failed: $(shown "$run")/sim.log:" >&2; tail -5 "$run/sim.log" >&2; exit 1; }
        else
          # shellcheck disable=SC2086  # a scheme is a list of flags
          netns_job "$gradwire" "$run" "$n" --num-workers "$n" --grad-bytes "$grad" \
            --iterations "$ITERATIONS" --timeout 300 "${JOB[@]}" $scheme || exit 1
        fi
        job_row "$run" "$n" "$(numfmt --from=iec "$grad")" "$scheme" "$rep" "$d" >>"$csv" || exit 1
      done
    done; done
  done; done
else
  trap 'rm -rf "$data"' EXIT
fi

# ---- cells.csv: the repetitions of each cell aggregated ----
[[ -f $csv ]] || { echo "runner.sh: no $csv" >&2; exit 1; }
# The cells in the spec's order, each with its label.
{
  echo "delay_ms,workers,grad_bytes,scheme,label"
  for d in "${DELAYS_MS[@]}"; do for n in "${WORKERS[@]}"; do for grad in "${GRADS[@]}"; do
    for i in "${!SCHEMES[@]}"; do
      echo "$d,$n,$(numfmt --from=iec "$grad"),$(cell "${SCHEMES[i]}"),$(cell "$(label "$i")")"
    done
  done; done; done
} >"$data/keys.csv"
# Student t quantiles for the CIs (experiments/lib/stats.sh).
# shellcheck source=experiments/lib/stats.sh
source experiments/lib/stats.sh
t_table=$T95_TABLE
stats="iteration_s goodput_mbps updates_per_s rows_per_s round_s"
means="compute_s write_s gate_s wait_s wall_s"
{
  printf "delay_ms,workers,grad_bytes,scheme,label,n"
  for m in $stats; do printf ",%s,%s_sd,%s_ci95" "$m" "$m" "$m"; done
  for m in $means; do printf ",%s" "$m"; done
  echo
  # A cell's mean, sd (n - 1) and CI half-width t * sd / sqrt(n); sd and CI empty for n = 1. A
  # metric empty in any of the cell's rows (rows_per_s of runs older than the column) is empty.
  csv_awk -v keys="$data/keys.csv" -v tq="$t_table" -v stats="$stats" -v means="$means" '
    BEGIN { split(tq, t, " "); ns = split(stats, st, " "); nm = split(means, mn, " ")
      fmt["iteration_s"] = "%.6f"; fmt["goodput_mbps"] = "%.2f"; fmt["updates_per_s"] = "%.3f"
      fmt["rows_per_s"] = "%.1f"; fmt["round_s"] = "%.6f" }
    function key(d, w, b, s) { return (d + 0) SUBSEP (w + 0) SUBSEP (b + 0) SUBSEP s }
    FILENAME == keys { k = key(col("delay_ms"), col("workers"), col("grad_bytes"), col("scheme"))
      if (!(k in label)) { order[++no] = k; label[k] = col("label")
        head[k] = col("delay_ms") "," col("workers") "," col("grad_bytes") "," col("scheme") }
      next }
    { k = key(has("delay_ms") ? col("delay_ms") : 0, col("workers"), col("grad_bytes"), col("scheme"))
      if (!(k in label)) { if (!(k in warned)) printf "runner.sh: runs.csv row of a cell not in the spec, left out: %s\n", $0 >"/dev/stderr"
        warned[k] = 1; next }
      j = ++n[k]
      for (i = 1; i <= ns; i++) { v = has(st[i]) ? col(st[i]) : ""; if (v == "") empty[k, st[i]] = 1; x[k, st[i], j] = v + 0 }
      for (i = 1; i <= nm; i++) { v = has(mn[i]) ? col(mn[i]) : ""; if (v == "") empty[k, mn[i]] = 1; sum[k, mn[i]] += v } }
    END {
      for (o = 1; o <= no; o++) {
        k = order[o]; if (!(k in n)) continue
        c = n[k]; line = head[k] "," label[k] "," c
        for (i = 1; i <= ns; i++) {
          m = st[i]
          if ((k, m) in empty) { line = line ",,,"; continue }
          s = 0; for (j = 1; j <= c; j++) s += x[k, m, j]; mean = s / c
          line = line "," sprintf(fmt[m], mean)
          if (c == 1) { line = line ",,"; continue }
          v = 0; for (j = 1; j <= c; j++) v += (x[k, m, j] - mean) ^ 2; sd = sqrt(v / (c - 1))
          h = (c - 1 <= 30 ? t[c - 1] : 1.960) * sd / sqrt(c)
          line = line "," sprintf(fmt[m], sd) "," sprintf(fmt[m], h)
        }
        for (i = 1; i <= nm; i++) line = line "," (((k, mn[i]) in empty) ? "" : sprintf("%.5f", sum[k, mn[i]] / c))
        print line } }' "$data/keys.csv" "$csv"
} >"$cells"
[[ $(wc -l <"$cells") -gt 1 ]] || { echo "runner.sh: no row of $csv matches a cell of the spec" >&2; exit 1; }
nmin=$(csv_awk 'NR == 2 || col("n") + 0 < m { m = col("n") + 0 } END { print m }' "$cells")
nmax=$(csv_awk '{ if (col("n") + 0 > m) m = col("n") + 0 } END { print m }' "$cells")
if ((nmin == nmax && nmax == 1)); then reps_text="1 repetition per cell"
elif ((nmin == nmax)); then reps_text="$nmax repetitions per cell"
else reps_text="$nmin to $nmax repetitions per cell (n in the table)"; fi
if ((nmax > 1)); then
  bars_text="error bars: 95 % confidence interval of the mean (Student t)"
else
  bars_text="one repetition: no error bars"
fi

# ---- plot: the spec's METRIC with its 95 % CI, from cells.csv ----
if [[ $METRIC == round_s ]]; then
  metric_label="mean server round time (s)"
  csv_awk '$0 != "" && col("round_s") == "" { e = 1 } END { exit e }' "$cells" ||
    { echo "runner.sh: METRIC=round_s, but a cell has no round_s (not coded, or runs.csv older than the column: --rescan)" >&2; exit 1; }
else
  metric_label="mean iteration time per worker (s)"
fi
# The key goes below the panels, where it hides no data: enough rows for every label at
# gnuplot's ~7 px per character of a 10 pt font (plus the sample line) across one panel.
key_rows() {  # panel width in pixels -> rows the key takes
  local i longest=0 l
  for i in "${!SCHEMES[@]}"; do l=$(label "$i"); ((${#l} > longest)) && longest=${#l}; done
  awk -v w="$1" -v n="${#SCHEMES[@]}" -v c="$longest" 'BEGIN {
    cols = int((w - 40) / ((c + 9) * 7)); if (cols < 1) cols = 1
    print int((n + cols - 1) / cols) }'
}
subtitle="mean of the repetitions ($reps_text), $bars_text"
# Mean iteration time against the cells.csv column named XCOL, one panel per gradient size, a
# line per scheme. Extra gnuplot settings (axis label, log scale) come as the last argument.
# DODGE is a gnuplot expression of x and d (the line's place among the schemes, -1..1): lines
# are moved apart by it so that error bars at one x do not hide each other.
line_plot() {  # xcol title settings dodge
  local xcol=$1 title=$2 settings=$3 dodge=$4 grad bytes plot i width=520 rows style x d total
  rows=$(key_rows "$width")
  # One panel alone is too narrow for the title and the subtitle: at least the bars' 760.
  total=$((width * ${#GRADS[@]}))
  ((total < 760)) && total=760
  {
    echo "set terminal pngcairo size $total,$((440 + 18 * rows)) font \",10\""
    echo "set output \"$out/$NAME.png\""
    echo "set datafile separator \",\""
    printf 'set multiplot layout 1,%s title "%s\\n%s" noenhanced\n' "${#GRADS[@]}" "$title" "$subtitle"
    echo "set ylabel \"$metric_label\"; set grid"
    # A margin of its own below the x label for the key; points off the panel's edges.
    echo "set key outside below center horizontal Left reverse noenhanced; set bmargin $((rows + 5))"
    echo "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05; set autoscale xfix"
    echo "$settings"
    for grad in "${GRADS[@]}"; do
      bytes=$(numfmt --from=iec "$grad")
      echo "set title \"gradient $(human_bytes "$bytes")\""
      plot="plot"
      for i in "${!SCHEMES[@]}"; do
        csv_awk -v b="$bytes" -v s="$(cell "${SCHEMES[i]}")" -v x="$xcol" -v m="$METRIC" \
          'col("grad_bytes") == b && col("scheme") == s {
             h = col(m "_ci95"); print col(x) "," col(m) "," (h == "" ? 0 : h) }' "$cells" |
          sort -t, -k1,1n >"$data/$bytes-$i.csv"
        [[ $plot != plot ]] && plot+=","
        if ((nmax > 1)); then
          d=$(awk -v i="$i" -v n="${#SCHEMES[@]}" 'BEGIN { print (n > 1 ? 2 * i / (n - 1) - 1 : 0) }')
          x=${dodge//d/($d)}
          style="using (${x//x/\$1}):2:3 with yerrorlines"
        else
          style="using 1:2 with linespoints"
        fi
        # gnuplot's 8 colours come round again: the 9th line on is dashed.
        plot+=" \"$data/$bytes-$i.csv\" $style lw 2 pt 7 dt $((i >= 8 ? 2 : 1)) title \"$(label "$i")\""
      done
      echo "$plot"
    done
    echo "unset multiplot"
  } >"$data/lines.gp"
  gnuplot "$data/lines.gp"  # from a file, gnuplot exits non-zero on an error
}
if ((${#DELAYS_MS[@]} > 1)); then
  line_plot delay_ms "${TITLE:-$NAME} (${WORKERS[0]} workers)" \
    "set xlabel \"one-way delay worker<->server (ms)\"; set xtics ($(IFS=,; echo "${DELAYS_MS[*]}"))" \
    "x + d * $(printf '%s\n' "${DELAYS_MS[@]}" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print (b - a) * 0.012 }')"
elif ((${#WORKERS[@]} > 1)); then
  line_plot workers "${TITLE:-$NAME}" "set xlabel \"workers\"; set logscale x 2; set xtics ($(IFS=,; echo "${WORKERS[*]}"))" \
    "x * 2 ** (d * 0.04)"
else
  # One worker count: clustered bars, a cluster per gradient size, a bar per scheme; columns
  # mean,ci95 per scheme (the CI 0 with one repetition).
  {
    printf "gradient"
    for i in "${!SCHEMES[@]}"; do printf ',%s,ci95' "$(label "$i")"; done
    echo
    for grad in "${GRADS[@]}"; do
      bytes=$(numfmt --from=iec "$grad")
      printf "%s" "$(human_bytes "$bytes")"
      for i in "${!SCHEMES[@]}"; do
        printf ",%s" "$(csv_awk -v b="$bytes" -v s="$(cell "${SCHEMES[i]}")" -v m="$METRIC" \
          'col("grad_bytes") == b && col("scheme") == s {
             h = col(m "_ci95"); print col(m) "," (h == "" ? 0 : h); found = 1; exit }
           END { if (!found) print "," }' "$cells")"
      done
      echo
    done
  } >"$data/bars.csv"
  width=$((160 + 36 * ${#GRADS[@]} * ${#SCHEMES[@]}))
  ((width < 760)) && width=760
  rows=$(key_rows "$width")
  if ((nmax > 1)); then
    histogram="errorbars gap 1 lw 1" using="(column(2*i)):(column(2*i+1)):xtic(1)"
  else
    histogram="clustered gap 1" using="(column(2*i)):xtic(1)"
  fi
  cat >"$data/bars.gp" <<EOF
set terminal pngcairo size $width,$((480 + 18 * rows)) font ",10"
set output "$out/$NAME.png"
set datafile separator ","
set title "${TITLE:-$NAME} (${WORKERS[0]} workers)\\n$subtitle" noenhanced
set ylabel "$metric_label"
set yrange [0:*]
set style data histograms
set style histogram $histogram
set style fill solid 0.8 border -1
set key outside below center horizontal Left reverse noenhanced
set bmargin $((rows + 3))
set grid ytics
plot for [i=1:${#SCHEMES[@]}] "$data/bars.csv" using $using title columnhead(2*i)
EOF
  gnuplot "$data/bars.gp"
fi

# ---- README.md ----
prov() {  # key -> its provenance value ("not recorded" for runs made before provenance.txt)
  local v
  v=$(sed -n "s/^$1=//p" "$out/provenance.txt" 2>/dev/null | head -1)
  echo "${v:-not recorded}"
}
{
  echo "# ${TITLE:-$NAME}"
  echo
  if [[ -f $out/provenance.txt ]]; then
    echo "Made by \`$(prov command)\` (as root) at commit $(prov commit) on $(prov date),"
    echo "$(prov machine); binary $(prov gradwire)."
  else
    echo "The runs predate provenance.txt: the command, commit, date and settings that made"
    echo "runs.csv are in the README.md of the commit that added it (\`git log -- $(shown "$out")/runs.csv\`)."
  fi
  if [[ $mode == --plot-only || $mode == --rescan ]]; then
    c=$(code_commit)
    echo "Cells, plot and this README redrawn from $([[ $mode == --rescan ]] && echo "the jobs' CSVs (runs.csv rebuilt)" || echo runs.csv) by \`$(command_line) $mode\` at commit $c on $(date -u +%Y-%m-%dT%H:%MZ)."
  fi
  echo
  if [[ -f $out/provenance.txt ]]; then
    echo "- Topology: \`$(prov topology)\`; environment \`$(prov environment)\`."
    echo "- Each job: \`$(prov job)\` plus the scheme's flags."
  fi
  echo "- $reps_text (a cell: delay x workers x gradient x scheme)."
  if [[ -f $out/provenance.txt ]]; then
    window="iterations >= $(prov measure_from) of 0..$(($(prov iterations) - 1))"
  else
    window="iterations >= the spec's MEASURE_FROM then"
  fi
  echo "- Measured: every worker's $window (iteration = compute + injected"
  echo "  straggler delay + write + wait; gate is the part of write spent waiting for a window)."
  echo "  updates/s = workers / iteration; goodput = workers x gradient / iteration (Mbit/s = 10^6 bit/s);"
  echo "  rows/s = minibatch rows per second summed over workers (each worker's rows over its time: the"
  echo "  measure to compare with --batch-tuning; coded rows count --batch per worker and round; empty"
  echo "  in runs older than the column)."
  if ((nmax > 1)); then
    echo "- Each cell: the mean over its n repetitions ± the half-width of the 95 % confidence interval of"
    echo "  that mean (Student t with n - 1 degrees of freedom: t = 12.706 for n = 2, 4.303 for 3, 2.776"
    echo "  for 5; table in experiments/runner.sh). The plot's error bars are that interval. A cell with"
    echo "  one repetition has no ± and no error bar."
  else
    echo "- One repetition per cell: no ± and no error bars (a spread needs two or more; \`--reps N\`)."
  fi
  echo
  echo "| scheme | flags |"
  echo "| --- | --- |"
  for i in "${!SCHEMES[@]}"; do echo "| $(label "$i") | \`${SCHEMES[i]}\` |"; done
  echo
  echo "![$NAME]($NAME.png)"
  echo
  delay_col=$([[ ${#DELAYS_MS[@]} -gt 1 ]] && echo 1 || echo 0)
  printf "%s| workers | gradient | scheme | n | iteration (s) | round (s) | goodput (Mbit/s) | updates/s | rows/s | compute (s) | write (s) | gate (s) | wait (s) |\n" \
    "$( ((delay_col)) && echo "| delay (ms) ")"
  printf "%s| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" "$( ((delay_col)) && echo "| ---: ")"
  csv_awk -v dc="$delay_col" '
    function pm(m, f,  v, h) { v = col(m); if (v == "") return ""; h = col(m "_ci95")
      return sprintf(f, v) (h == "" ? "" : sprintf(" ± " f, h)) }
    function gib(b,  u, i, f) { split("B KiB MiB GiB", u, " "); i = 1; while (b >= 1024 && i < 4) { b /= 1024; i++ }
      f = b == int(b) ? "%d %s" : "%.1f %s"; return sprintf(f, b, u[i]) }
    function t4(m) { return col(m) == "" ? "" : sprintf("%.4f", col(m)) }
    { printf "%s| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
        dc ? "| " col("delay_ms") " " : "", col("workers"), gib(col("grad_bytes")), col("label"), col("n"),
        pm("iteration_s", "%.4f"), (has("round_s") ? pm("round_s", "%.4f") : ""), pm("goodput_mbps", "%.1f"), pm("updates_per_s", "%.2f"),
        pm("rows_per_s", "%.0f"), t4("compute_s"), t4("write_s"), t4("gate_s"), t4("wait_s") }' "$cells"
  echo
  echo "Files: \`cells.csv\` (per cell: n, mean, sd, ci95 = CI half-width), \`runs.csv\` (one row per"
  echo "job), \`runs/<job>/\` (each job's CSVs, logs and command.txt)$([[ -f $out/provenance.txt ]] && echo ", \`provenance.txt\`")."
} >"$out/README.md"
echo "runner.sh: wrote $out/" >&2
raw_runs_pack_committed "$out"
