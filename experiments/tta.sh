#!/usr/bin/env bash
# `make tta`: time to accuracy under contention (issue #5). Fashion-MNIST on a 784-H-10 MLP
# (H = 1024: 3.2 MB gradients), N workers behind a shaped server link (1 Gbit/s both ways,
# 1 MB switch buffer: the star of experiments/topo), TCP with CUBIC; the same job under each
# sync rule: BSP, ASP, SSP and R2SP (round-robin write windows). Every rule processes the same
# data (the same iterations per worker, batch 64 each); worker 0 keeps its model every K
# iterations and evaluates them after the run (accuracy.csv), so evaluation does not slow the
# run.
#
# Writes into OUT: tta.csv (per rule: time to the target accuracy, final accuracy, wall time,
# mean iteration time and its split), accuracy.png (test accuracy over time), README.md (the
# command, commit, binary, date, machine), provenance.txt and runs/<rule>/. As root (network
# namespaces), but for --dry-run and --plot-only.
#
# Usage: experiments/tta.sh PATH/TO/gradwire [OPTIONS]
# Options (each defaults to its environment variable, then to the value shown):
#   --workers N          workers, one per star leaf (WORKERS, 8)
#   --rate RATE          server link rate, tc syntax (RATE, 1gbit)
#   --hidden H           hidden units of the MLP (HIDDEN, 1024)
#   --iterations N       iterations per worker (ITERATIONS, 300)
#   --eval-every K       keep worker 0's model every K iterations (EVAL_EVERY, 10)
#   --target A           test accuracy whose first reaching is timed (TARGET, 0.82)
#   --lr X               learning rate (LR, 0.05)
#   --rules "R ..."      sync rules compared (RULES, "bsp asp ssp:2 r2sp"): --sync values, or
#                        r2sp-tuned (--sync r2sp --batch-tuning: batches sized by speed, so
#                        workers then process different rows per iteration)
#   --straggler MODEL    a --straggler model (STRAGGLER, none), e.g.
#                        persistent:workers=1+2,factor=4,base=0.05 for heterogeneous compute
#   --out DIR            where results go (default results/runs/tta-<UTC date-time>, which git
#                        ignores; to replace the committed results give --out results/tta)
#   --prefix P           topology prefix (GW_TOPO_PREFIX, gw): runs with different ones coexist
#   --plot-only          redo the analysis of OUT/runs/ (needs --out; PLOT_ONLY=1); the job's
#                        settings then come from OUT/provenance.txt where it has them, and the
#                        README keeps the measurement's provenance beside the redraw's
#   --dry-run            print the provenance and every job; start and write nothing
#   -h, --help           this text
# Exit 2: bad usage.
set -euo pipefail
name=tta
usage_line="usage: experiments/tta.sh PATH/TO/gradwire [--workers N] [--rate RATE] [--hidden H] [--iterations N] [--eval-every K] [--target A] [--lr X] [--rules \"R ...\"] [--straggler MODEL] [--out DIR] [--prefix P] [--plot-only | --dry-run]   (--help lists them)"
bad_usage() { echo "tta.sh: $*" >&2; echo "$usage_line" >&2; exit 2; }
# The command as given, with the knobs set in the environment before it (its defaults).
knobs=(WORKERS RATE HIDDEN ITERATIONS EVAL_EVERY TARGET LR RULES STRAGGLER PLOT_ONLY GW_TOPO_PREFIX
  GW_NETNS_SERVERS GW_NETNS_TRANSPORT)
command_line=""
for k in "${knobs[@]}"; do [[ -z ${!k:-} ]] || command_line+="$k=$(printf %q "${!k}") "; done
command_line+=$(printf '%q ' "$0" "$@")
command_line=${command_line% }

workers=${WORKERS:-8} rate=${RATE:-1gbit} hidden=${HIDDEN:-1024} iterations=${ITERATIONS:-300}
eval_every=${EVAL_EVERY:-10} target=${TARGET:-0.82} lr=${LR:-0.05} rules=${RULES:-bsp asp ssp:2 r2sp}
straggler=${STRAGGLER:-none} plot_only=${PLOT_ONLY:-} out="" out_given="" dry_run="" gradwire=""
while (($#)); do
  opt=$1 val="" inline=""
  [[ $1 == --*=* ]] && opt=${1%%=*} val=${1#*=} inline=1
  case $opt in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --dry-run | --plot-only)
      [[ -z $inline ]] || bad_usage "$opt takes no value"
      case $opt in --dry-run) dry_run=1 ;; --plot-only) plot_only=1 ;; esac ;;
    --workers | --rate | --hidden | --iterations | --eval-every | --target | --lr | --rules | \
      --straggler | --out | --prefix)
      if [[ -z $inline ]]; then
        [[ $# -ge 2 ]] || bad_usage "$opt needs a value"
        val=$2
        shift
      fi
      [[ -n $val ]] || bad_usage "$opt needs a value"
      case $opt in
        --workers) workers=$val ;; --rate) rate=$val ;; --hidden) hidden=$val ;;
        --iterations) iterations=$val ;; --eval-every) eval_every=$val ;; --target) target=$val ;;
        --lr) lr=$val ;; --rules) rules=$val ;; --straggler) straggler=$val ;;
        --out) out=$val out_given=1 ;; --prefix) export GW_TOPO_PREFIX=$val ;;
      esac ;;
    -*) bad_usage "unknown option '$opt'" ;;
    *) if [[ -z $gradwire ]]; then gradwire=$1
       elif [[ -z $out ]]; then out=$1 out_given=1  # the old positional OUT
       else bad_usage "unexpected argument '$1'"; fi ;;
  esac
  shift
done
[[ -n $gradwire ]] || bad_usage "no gradwire binary given"
[[ -z $plot_only || -z $dry_run ]] || bad_usage "--plot-only and --dry-run exclude each other"
[[ -z $plot_only || -n $out_given ]] || bad_usage "--plot-only needs --out DIR (the results to redo)"
for v in workers hidden iterations eval_every; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bad_usage "--${v//_/-} wants a positive integer, not '${!v}'"
done
[[ $target =~ ^0?\.[0-9]+$|^1(\.0*)?$ ]] || bad_usage "--target wants an accuracy in (0, 1], not '$target'"
[[ $lr =~ ^[0-9]*\.?[0-9]+([eE]-?[0-9]+)?$ ]] || bad_usage "--lr wants a positive number, not '$lr'"
[[ -n ${rules// /} ]] || bad_usage "--rules is empty"
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

prov() {  # key -> the measurement's provenance value (empty when not recorded)
  sed -n "s/^$1=//p" "$out/provenance.txt" 2>/dev/null | head -1
}
if [[ -n $plot_only && -f $out/provenance.txt ]]; then
  # The settings the runs were made with, not today's defaults.
  for v in workers rate hidden iterations eval_every lr rules straggler; do
    p=$(prov "$v")
    [[ -z $p ]] || printf -v "$v" '%s' "$p"
  done
fi
run_dir() { echo "$out/runs/${1//:/-}"; }
# For titles and prose: 1gbit -> 1 Gbit/s.
rate_label=$(awk -v r="$rate" 'BEGIN { if (match(r, /^[0-9.]+/) == 0) { print r; exit }
  v = substr(r, 1, RLENGTH); u = tolower(substr(r, RLENGTH + 1)); sub(/bit$/, "", u)
  print v " " (u == "" ? "" : toupper(u)) "bit/s" }')
job=(--num-workers "$workers" --workload mlp --hidden "$hidden" --iterations "$iterations"
  --lr "$lr" --eval-every "$eval_every" --timeout 120 --straggler "$straggler")
rule_flags() { [[ $1 == r2sp-tuned ]] && echo "--sync r2sp --batch-tuning" || echo "--sync $1"; }
commit=$(code_commit)
binary=$(binary_text "$gradwire" "$(shown "$gradwire")")
provenance() {
  provenance_head "$command_line" "$commit" "$binary"
  echo "topology=topo.sh up star --workers $workers --rate $rate${GW_TOPO_PREFIX:+ (prefix $GW_TOPO_PREFIX)}"
  echo "job=${job[*]}"
  local v
  for v in workers rate hidden iterations eval_every lr rules straggler target; do echo "$v=${!v}"; done
}
if [[ -n $dry_run ]]; then
  provenance
  echo "out=$(shown "$out")"
  for rule in $rules; do
    echo "job -> $(shown "$(run_dir "$rule")")/: gradwire server/worker ${job[*]} $(rule_flags "$rule")"
  done
  exit 0
fi
command -v gnuplot >/dev/null || { echo "tta.sh: gnuplot missing (make deps)" >&2; exit 1; }
# A committed folder keeps its raw runs packed (runs.tar.xz): --plot-only reads them.
[[ -n $plot_only ]] && raw_runs_unpack "$out"

if [[ -z $plot_only ]]; then
[[ $(id -u) -eq 0 ]] || { echo "tta.sh: needs root (network namespaces)" >&2; exit 1; }
[[ -x $gradwire ]] || { echo "tta.sh: no gradwire binary at $gradwire" >&2; exit 1; }
if [[ -d $out && -n $(ls -A "$out") && ! -f $out/provenance.txt && ! -f $out/tta.csv ]]; then
  echo "tta.sh: $(shown "$out") holds files but no tta.sh output: pick another --out" >&2
  exit 2
fi
rm -rf "$out/runs"
mkdir -p "$out/runs"
provenance >"$out/provenance.txt"
trap '"$topo" down >/dev/null 2>&1 || true' EXIT
echo "tta.sh: building a star: $workers workers, server link $rate, 1 MB buffer" >&2
"$topo" up star --workers "$workers" --rate "$rate" >/dev/null

started=$(date +%s)
i=0
for rule in $rules; do
  i=$((i + 1))
  echo "tta.sh: [$i/$(wc -w <<<"$rules")] $rule ($(($(date +%s) - started)) s so far)..." >&2
  # shellcheck disable=SC2046  # rule_flags is a list of flags
  netns_job "$gradwire" "$(run_dir "$rule")" "$workers" "${job[@]}" $(rule_flags "$rule") || exit 1
done
fi

# ---- analysis ----
csv="$out/tta.csv"
echo "rule,target,time_to_target_s,iteration_at_target,final_accuracy,wall_s,iteration_s,compute_s,write_s,gate_s,wait_s" >"$csv"
for rule in $rules; do
  run=$(run_dir "$rule")
  [[ -f $run/accuracy.csv && -f $run/summary.csv ]] ||
    { echo "tta.sh: $(shown "$run") lacks accuracy.csv or summary.csv" >&2; exit 1; }
  [[ -f $run/iterations.csv ]] || merge_iterations "$run"
  # First kept model at or above the target (interpolation would claim more than we measured).
  reach=$(csv_awk -v t="$target" 'col("test_accuracy") >= t {
      printf "%.3f,%d", col("elapsed_s"), col("iteration"); f = 1; exit }
    END { if (!f) print "," }' "$run/accuracy.csv")
  final=$(csv_awk '{ a = col("test_accuracy") } END { printf "%.4f", a }' "$run/accuracy.csv")
  wall=$(csv_awk 'FNR == 2 { printf "%.2f", has("train_s") ? col("train_s") : col("wall_s") }' "$run/summary.csv")
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
  plot+="\"$(run_dir "$rule")/accuracy.csv\" using \"elapsed_s\":\"test_accuracy\" with linespoints lw 2 pt 7 ps 0.5 title \"$rule\""
done
# 0.5-0.9 shows where the rules differ; a range the kept models leave is widened to 0-1.
yrange=$(for rule in $rules; do
  csv_awk '{ print col("test_accuracy") }' "$(run_dir "$rule")/accuracy.csv" | tail -n 1; done |
  sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s:%s", (lo < 0.55 ? 0 : 0.5), (hi > 0.9 ? 1 : 0.9) }')
gnuplot <<EOF
set terminal pngcairo size 1000,600 font ",11"
set output "$out/accuracy.png"
set datafile separator ","
set datafile columnheaders
set title "Fashion-MNIST, MLP 784-$hidden-10, $workers workers behind a $rate_label server link, $iterations iterations each"
set xlabel "time since the workers joined, s"
set ylabel "test accuracy (worker 0's model)"
set yrange [$yrange]
set key outside below horizontal
set bmargin 6
set grid
set arrow from graph 0, first $target to graph 1, first $target nohead dt 2 lc rgb "gray"
plot $plot
EOF

same="(the same data for every rule)"
[[ " $rules " == *" r2sp-tuned "* ]] && same="(r2sp-tuned: batches sized by worker speed, the same total per round)"
{
  echo "# Time to accuracy under contention: ${rules// /, }; stragglers: $straggler"
  echo
  if [[ -f $out/provenance.txt ]]; then
    echo "Measured by \`$(prov command)\` (as root) at commit $(prov commit) on $(prov date),"
    echo "$(prov machine); binary $(prov gradwire)."
  else
    echo "Measured by an earlier tta.sh that recorded no provenance: its command, commit and date"
    echo "are in the README.md of the commit that added these runs (\`git log -- $(shown "$out")\`)."
  fi
  if [[ -n $plot_only ]]; then
    echo "Analysis, plot and this README redone from runs/ by \`$command_line\` at commit $commit on"
    echo "$(date -u +%Y-%m-%dT%H:%MZ)."
  fi
  echo
  echo "Star of network namespaces (\`topo.sh up star --workers $workers --rate $rate\`), server link"
  echo "$rate_label both ways (HTB, 1 MB bfifo),"
  echo "$workers workers, Fashion-MNIST on a 784-$hidden-10 MLP ($((4 * (784 * hidden + hidden + 10 * hidden + 10) / 1000)) kB"
  echo "gradients), batch 64 per worker, lr $lr, momentum 0.9, $iterations iterations per worker"
  echo "$same, TCP with CUBIC, --straggler $straggler. Each job: \`gradwire server/worker ${job[*]}\`"
  echo "and the rule's flags (\`--sync RULE\`; r2sp-tuned: \`--sync r2sp --batch-tuning\`). Accuracy of worker 0's model every $eval_every iterations on the 10,000 test"
  echo "images; time to the first kept model >= $target."
  echo "Iteration times are worker means: compute (with --straggler's emulated time), write (gate: the part waiting for a window),"
  echo "wait (for parameters)."
  echo
  echo '```'
  column -s, -t "$csv"
  echo '```'
  echo
  echo "![accuracy over time](accuracy.png)"
  echo
  echo "Files: tta.csv, provenance.txt, runs/<rule>/ (accuracy.csv, iterations.csv, windows.csv"
  echo "for r2sp, logs, command.txt)."
} >"$out/README.md"
echo "tta.sh: wrote $(shown "$out")/README.md" >&2
raw_runs_pack_committed "$out"
