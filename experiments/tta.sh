#!/usr/bin/env bash
# `make tta`: time to accuracy under contention (issue #5). Fashion-MNIST on a 784-H-10 MLP
# (H = 1024: 3.2 MB gradients), N workers behind a shaped server link (1 Gbit/s both ways,
# 1 MB switch buffer: the star of experiments/topo), TCP with CUBIC; the same job under each
# sync rule: BSP, ASP, SSP and R2SP (round-robin write windows). Every rule processes the same
# data (the same iterations per worker, batch 64 each); worker 0 keeps its model every K
# iterations and evaluates them after the run (accuracy.csv), so evaluation does not slow the
# run. Every rule runs at every learning rate of --lrs, REPS times each (repetition R with
# --seed R: its own data order and initial model, the same R for every rule and lr), so each
# rule can be compared at its own best learning rate, with 95 % confidence intervals.
#
# Writes into OUT: sweep.csv (one row per job), tta.csv (one row per rule and lr: the means
# over repetitions, their 95 % CIs, how many repetitions reached the target, and best=1 on each
# rule's best lr), accuracy.png (test accuracy over time, each rule at its best lr, mean and 95 %
# CI over repetitions), sweep.png (with more than one lr: final accuracy and time to the target
# against lr), README.md (the command, commit, binary, date, machine), provenance.txt and
# runs/<rule>-lr<lr>-r<R>/. As root (network namespaces), but for --dry-run and --plot-only.
# A rule's best lr: of the lrs where every repetition reached the target, the one with the
# shortest mean time to it; if none did, the one with the highest mean final accuracy.
#
# Usage: experiments/tta.sh PATH/TO/gradwire [OPTIONS]
# Options (each defaults to its environment variable, then to the value shown):
#   --workers N          workers, one per star leaf (WORKERS, 8)
#   --rate RATE          server link rate, tc syntax (RATE, 1gbit)
#   --hidden H           hidden units of the MLP (HIDDEN, 1024)
#   --model M            mlp (MODEL, the default: the C++ workers' 784-H-10 MLP) or lenet5-torch:
#                        LeNet-5 in PyTorch, Python workers (examples/torch/train_cnn.py, its
#                        gradient pushed part by part from backward hooks; needs `make`'s
#                        build/python beside the binary's build tree)
#   --iterations N       iterations per worker (ITERATIONS, 300)
#   --eval-every K       keep worker 0's model every K iterations (EVAL_EVERY, 10)
#   --target A           test accuracy whose first reaching is timed (TARGET, 0.82)
#   --lrs "X ..."        learning rates, each run by every rule (LRS, "0.05"); --lr X is --lrs X
#   --reps N             repetitions of every rule and lr, --seed 1..N (REPS, 5; a job takes
#                        ~1-2 min with the defaults, so 4 rules x 5 lrs x 3 reps ~2 h)
#   --rules "R ..."      sync rules compared (RULES, "bsp asp ssp:2 r2sp"): --sync values, or
#                        r2sp-tuned (--sync r2sp --batch-tuning: batches sized by speed, so
#                        workers then process different rows per iteration), or RULE+priority
#                        (--sync RULE --push-order priority: P3's order of the gradient's parts,
#                        one in flight; with --model lenet5-torch, whose parts are ranked by
#                        their first tensor, and --part-bytes small enough to make several)
#   --part-bytes B       the job's --part-bytes (PART_BYTES; default: the job's 4M, LeNet-5's
#                        247 kB gradient in one part)
#   --straggler MODEL    a --straggler model (STRAGGLER, none), e.g.
#                        persistent:workers=1+2,factor=4,base=0.05 for heterogeneous compute
#   --out DIR            where results go (default results/runs/tta-<UTC date-time>, which git
#                        ignores; to replace the committed results give --out results/tta)
#   --prefix P           topology prefix (GW_TOPO_PREFIX, gw): runs with different ones coexist
#   --plot-only          redo the analysis of OUT/runs/ (needs --out; PLOT_ONLY=1); the job's
#                        settings then come from OUT/provenance.txt where it has them, and the
#                        README keeps the measurement's provenance beside the redraw's (a folder
#                        from before --lrs/--reps: runs/<rule>/, one lr, one repetition)
#   --dry-run            print the provenance and every job; start and write nothing
#   -h, --help           this text
# Exit 2: bad usage.
set -euo pipefail
name=tta
usage_line="usage: experiments/tta.sh PATH/TO/gradwire [--workers N] [--rate RATE] [--hidden H] [--iterations N] [--eval-every K] [--target A] [--lrs \"X ...\" | --lr X] [--reps N] [--rules \"R ...\"] [--part-bytes B] [--straggler MODEL] [--out DIR] [--prefix P] [--plot-only | --dry-run]   (--help lists them)"
bad_usage() { echo "tta.sh: $*" >&2; echo "$usage_line" >&2; exit 2; }
# The command as given, with the knobs set in the environment before it (its defaults).
knobs=(WORKERS RATE HIDDEN MODEL ITERATIONS EVAL_EVERY TARGET LRS LR REPS RULES PART_BYTES STRAGGLER PLOT_ONLY
  GW_TOPO_PREFIX GW_NETNS_SERVERS GW_NETNS_TRANSPORT)
command_line=""
for k in "${knobs[@]}"; do [[ -z ${!k:-} ]] || command_line+="$k=$(printf %q "${!k}") "; done
command_line+=$(printf '%q ' "$0" "$@")
command_line=${command_line% }

workers=${WORKERS:-8} rate=${RATE:-1gbit} hidden=${HIDDEN:-1024} iterations=${ITERATIONS:-300}
model=${MODEL:-mlp}
eval_every=${EVAL_EVERY:-10} target=${TARGET:-0.82} lrs=${LRS:-${LR:-0.05}} reps=${REPS:-5}
rules=${RULES:-bsp asp ssp:2 r2sp}
part_bytes=${PART_BYTES:-} straggler=${STRAGGLER:-none} plot_only=${PLOT_ONLY:-} out="" out_given="" dry_run="" gradwire=""
while (($#)); do
  opt=$1 val="" inline=""
  [[ $1 == --*=* ]] && opt=${1%%=*} val=${1#*=} inline=1
  case $opt in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --dry-run | --plot-only)
      [[ -z $inline ]] || bad_usage "$opt takes no value"
      case $opt in --dry-run) dry_run=1 ;; --plot-only) plot_only=1 ;; esac ;;
    --workers | --rate | --hidden | --model | --iterations | --eval-every | --target | --lr | \
      --lrs | --reps | --rules | --part-bytes | --straggler | --out | --prefix)
      if [[ -z $inline ]]; then
        [[ $# -ge 2 ]] || bad_usage "$opt needs a value"
        val=$2
        shift
      fi
      [[ -n $val ]] || bad_usage "$opt needs a value"
      case $opt in
        --workers) workers=$val ;; --rate) rate=$val ;; --hidden) hidden=$val ;; --model) model=$val ;;
        --iterations) iterations=$val ;; --eval-every) eval_every=$val ;; --target) target=$val ;;
        --lr | --lrs) lrs=$val ;; --reps) reps=$val ;; --rules) rules=$val ;;
        --part-bytes) part_bytes=$val ;; --straggler) straggler=$val ;;
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
for v in workers hidden iterations eval_every reps; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bad_usage "--${v//_/-} wants a positive integer, not '${!v}'"
done
[[ $target =~ ^0?\.[0-9]+$|^1(\.0*)?$ ]] || bad_usage "--target wants an accuracy in (0, 1], not '$target'"
[[ -n ${lrs// /} ]] || bad_usage "--lrs is empty"
for lr in $lrs; do
  [[ $lr =~ ^[0-9]*\.?[0-9]+([eE]-?[0-9]+)?$ ]] || bad_usage "--lrs wants positive numbers, not '$lr'"
done
[[ -n ${rules// /} ]] || bad_usage "--rules is empty"
[[ $model == mlp || $model == lenet5-torch ]] || bad_usage "--model wants mlp or lenet5-torch, not '$model'"
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

prov() {  # key -> the measurement's provenance value (empty when not recorded)
  sed -n "s/^$1=//p" "$out/provenance.txt" 2>/dev/null | head -1
}
if [[ -n $plot_only && -f $out/provenance.txt ]]; then
  # The settings the runs were made with, not today's defaults.
  for v in workers rate hidden model iterations eval_every lrs reps rules part_bytes straggler; do
    p=$(prov "$v")
    [[ -z $p ]] || printf -v "$v" '%s' "$p"
  done
  [[ -n $(prov lrs) || -z $(prov lr) ]] || lrs=$(prov lr)
fi
# A committed folder keeps its raw runs packed (runs.tar.xz): --plot-only reads them.
[[ -n $plot_only ]] && raw_runs_unpack "$out"
# A folder from before --lrs/--reps holds runs/<rule>/: one lr, one run per rule, no --seed.
legacy=""
first_rule=${rules%% *}
[[ -n $plot_only && -d $out/runs/${first_rule//:/-} ]] && legacy=1 reps=1
run_dir() {  # rule lr rep
  if [[ -n $legacy ]]; then echo "$out/runs/${1//:/-}"; else echo "$out/runs/${1//:/-}-lr$2-r$3"; fi
}
model_label="MLP 784-$hidden-10"
[[ $model == lenet5-torch ]] && model_label="LeNet-5 (PyTorch workers)"
# For titles and prose: 1gbit -> 1 Gbit/s.
rate_label=$(awk -v r="$rate" 'BEGIN { if (match(r, /^[0-9.]+/) == 0) { print r; exit }
  v = substr(r, 1, RLENGTH); u = tolower(substr(r, RLENGTH + 1)); sub(/bit$/, "", u)
  print v " " (u == "" ? "" : toupper(u)) "bit/s" }')
if [[ $model == lenet5-torch ]]; then
  # Python workers: the model's layout and initial parameters are written into OUT first (the
  # same for every job; --seed changes the data order); the workers find the module beside the
  # binary's build tree.
  workload=(--workload "tensors:$(shown "$out")/lenet5")  # the jobs run from the checkout
  export GW_NETNS_WORKER_CMD="/usr/bin/python3 examples/torch/train_cnn.py"
  PYTHONPATH=$(realpath -m "$(dirname "$gradwire")/../../python")
  export PYTHONPATH
else
  workload=(--workload mlp --hidden "$hidden")
fi
job=(--num-workers "$workers" "${workload[@]}" --iterations "$iterations"
  --eval-every "$eval_every" --timeout 120 --straggler "$straggler"
  ${part_bytes:+--part-bytes "$part_bytes"})
job_flags() {  # rule lr rep -> the flags after job's
  local rule_flags="--sync $1"
  [[ $1 == r2sp-tuned ]] && rule_flags="--sync r2sp --batch-tuning"
  [[ $1 == *+priority ]] && rule_flags="--sync ${1%+priority} --push-order priority"
  echo "$rule_flags --lr $2 --seed $3"
}
commit=$(code_commit)
binary=$(binary_text "$gradwire" "$(shown "$gradwire")")
provenance() {
  provenance_head "$command_line" "$commit" "$binary"
  echo "topology=topo.sh up star --workers $workers --rate $rate${GW_TOPO_PREFIX:+ (prefix $GW_TOPO_PREFIX)}"
  echo "job=${job[*]}"
  local v
  for v in workers rate hidden model iterations eval_every lrs reps rules part_bytes straggler target; do echo "$v=${!v}"; done
}
total=$(($(wc -w <<<"$rules") * $(wc -w <<<"$lrs") * reps))
if [[ -n $dry_run ]]; then
  provenance
  echo "out=$(shown "$out")"
  for ((r = 1; r <= reps; r++)); do for lr in $lrs; do for rule in $rules; do
    echo "job -> $(shown "$(run_dir "$rule" "$lr" "$r")")/: gradwire server/worker ${job[*]} $(job_flags "$rule" "$lr" "$r")"
  done; done; done
  exit 0
fi
command -v gnuplot >/dev/null || { echo "tta.sh: gnuplot missing (make deps)" >&2; exit 1; }

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
if [[ $model == lenet5-torch ]]; then
  /usr/bin/python3 examples/torch/train_cnn.py --export "$out/lenet5" ||
    { echo "tta.sh: cannot export LeNet-5 (make builds build/python; make deps installs python3-torch)" >&2; exit 1; }
fi
trap '"$topo" down >/dev/null 2>&1 || true' EXIT
echo "tta.sh: building a star: $workers workers, server link $rate, 1 MB buffer" >&2
"$topo" up star --workers "$workers" --rate "$rate" >/dev/null

started=$(date +%s)
i=0
# Repetition-major: a repetition of the whole grid ends before the next starts, so a run cut
# short leaves whole repetitions.
for ((r = 1; r <= reps; r++)); do for lr in $lrs; do for rule in $rules; do
  i=$((i + 1))
  elapsed=$(($(date +%s) - started))
  eta=""
  ((i == 1)) || eta=", ETA $((elapsed * (total - i + 1) / (i - 1))) s"
  echo "tta.sh: [$i/$total] $rule, lr $lr, repetition $r/$reps ($elapsed s so far$eta)..." >&2
  # shellcheck disable=SC2046  # job_flags is a list of flags
  netns_job "$gradwire" "$(run_dir "$rule" "$lr" "$r")" "$workers" "${job[@]}" $(job_flags "$rule" "$lr" "$r") || exit 1
done; done; done
fi

# ---- analysis ----
# sweep.csv: one row per job; tta.csv: one per rule and lr (means over repetitions, 95 % CIs).
sweep="$out/sweep.csv"
csv="$out/tta.csv"
echo "rule,lr,rep,target,time_to_target_s,iteration_at_target,final_accuracy,wall_s,iteration_s,compute_s,write_s,gate_s,wait_s" >"$sweep"
for ((r = 1; r <= reps; r++)); do for lr in $lrs; do for rule in $rules; do
  run=$(run_dir "$rule" "$lr" "$r")
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
  echo "$rule,$lr,$r,$target,$reach,$final,$wall,$split" >>"$sweep"
done; done; done
# Per rule and lr: mean and 95 % CI (Student t over repetitions; none with one) of the time to
# the target (over the repetitions that reached it, CI only when all did), the final accuracy,
# the iteration time; best = 1 on the rule's best lr (the header's rule).
csv_awk -v tq="$T95_TABLE" -v rules="$rules" -v lrs="$lrs" '
  function ci(s, q, n,   v) { if (n < 2) return ""; v = (q - s * s / n) / (n - 1); if (v < 0) v = 0
    return sprintf("%.4f", (n - 1 <= 30 ? t[n - 1] : 1.960) * sqrt(v / n)) }
  BEGIN { split(tq, t, " ") }
  { k = col("rule") SUBSEP col("lr"); n[k]++
    f = col("final_accuracy"); fs[k] += f; fq[k] += f * f
    i = col("iteration_s"); is[k] += i; iq[k] += i * i; ws[k] += col("wall_s")
    cs[k] += col("compute_s"); wr[k] += col("write_s"); gs[k] += col("gate_s"); qs[k] += col("wait_s")
    if (col("time_to_target_s") != "") { d = col("time_to_target_s"); hit[k]++; ts[k] += d; tq2[k] += d * d } }
  END {
    print "rule,lr,reps,target_reached,time_to_target_s,time_to_target_ci95_s,final_accuracy,final_accuracy_ci95,iteration_s,iteration_s_ci95,wall_s,compute_s,write_s,gate_s,wait_s,best"
    nr = split(rules, R, " "); nl = split(lrs, L, " ")
    for (a = 1; a <= nr; a++) {
      best = ""; bt = ""; ba = ""
      for (b = 1; b <= nl; b++) { k = R[a] SUBSEP L[b]; if (!(k in n)) continue
        if (hit[k] == n[k]) { m = ts[k] / n[k]; if (bt == "" || m < bt) { bt = m; best = L[b] } } }
      if (best == "") for (b = 1; b <= nl; b++) { k = R[a] SUBSEP L[b]; if (!(k in n)) continue
        m = fs[k] / n[k]; if (ba == "" || m > ba) { ba = m; best = L[b] } }
      for (b = 1; b <= nl; b++) { k = R[a] SUBSEP L[b]; if (!(k in n)) continue; c = n[k]
        printf "%s,%s,%d,%d,%s,%s,%.4f,%s,%.4f,%s,%.2f,%.4f,%.4f,%.4f,%.4f,%d\n", R[a], L[b], c, hit[k] + 0,
          (hit[k] ? sprintf("%.3f", ts[k] / hit[k]) : ""), (hit[k] == c ? ci(ts[k], tq2[k], c) : ""),
          fs[k] / c, ci(fs[k], fq[k], c), is[k] / c, ci(is[k], iq[k], c), ws[k] / c,
          cs[k] / c, wr[k] / c, gs[k] / c, qs[k] / c, (L[b] == best) } } }' "$sweep" >"$csv"
column -s, -t "$csv" >&2

# Accuracy over time, each rule at its best lr: per kept iteration the mean elapsed time and
# the mean test accuracy with its 95 % CI over repetitions.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [[ -n $plot_only ]] || "$topo" down >/dev/null 2>&1 || true' EXIT
best_lr() { csv_awk -v r="$1" 'col("rule") == r && col("best") == 1 { print col("lr") }' "$csv"; }
plot="" yvals=""
for rule in $rules; do
  lr=$(best_lr "$rule")
  files=()
  for ((r = 1; r <= reps; r++)); do files+=("$(run_dir "$rule" "$lr" "$r")/accuracy.csv"); done
  dat="$tmp/${rule//:/-}.dat"
  csv_awk -v tq="$T95_TABLE" 'BEGIN { split(tq, t, " ") }
    { i = col("iteration"); n[i]++; e[i] += col("elapsed_s"); a = col("test_accuracy"); s[i] += a; q[i] += a * a }
    END { for (i in n) { m = s[i] / n[i]; h = 0
        if (n[i] > 1) { v = (q[i] - s[i] * m) / (n[i] - 1); if (v < 0) v = 0; h = (n[i] - 1 <= 30 ? t[n[i] - 1] : 1.960) * sqrt(v / n[i]) }
        printf "%d %.4f %.5f %.5f\n", i, e[i] / n[i], m, h } }' "${files[@]}" | sort -n >"$dat"
  [[ -n $plot ]] && plot+=", "
  style="with linespoints lw 2 pt 7 ps 0.5"
  ((reps < 2)) || style="using 2:3:4 with yerrorlines lw 2 pt 7 ps 0.5"
  [[ $style == using* ]] || style="using 2:3 $style"
  plot+="\"$dat\" $style title \"$rule (lr $lr)\""
  yvals+="$(tail -n 1 "$dat" | awk '{ print $3 }') "
done
# 0.5-0.9 shows where the rules differ; a range the kept models leave is widened to 0-1.
yrange=$(tr ' ' '\n' <<<"$yvals" | sed '/^$/d' | sort -g |
  awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s:%s", (lo < 0.55 ? 0 : 0.5), (hi > 0.9 ? 1 : 0.9) }')
ci_text=""
((reps < 2)) || ci_text=", mean and 95 % CI of $reps repetitions"
lr_text="every rule at its best lr (of ${lrs// /, })"
(($(wc -w <<<"$lrs") > 1)) || lr_text="lr $lrs for every rule"
gnuplot <<GP
set terminal pngcairo size 1000,600 font ",11"
set output "$out/accuracy.png"
set title "Fashion-MNIST, $model_label, $workers workers behind a $rate_label server link, $iterations iterations each\n$lr_text$ci_text"
set xlabel "time since the workers joined, s"
set ylabel "test accuracy (worker 0's model)"
set yrange [$yrange]
set key outside below horizontal
set bmargin 6
set grid
set arrow from graph 0, first $target to graph 1, first $target nohead dt 2 lc rgb "gray"
plot $plot
GP

# The sweep: final accuracy and time to the target against lr, one line per rule.
rm -f "$out/sweep.png"
if (($(wc -w <<<"$lrs") > 1)); then
  acc_plot="" ttt_plot="" i=0
  for rule in $rules; do
    i=$((i + 1))
    csv_awk -v r="$rule" 'col("rule") == r { c = col("final_accuracy_ci95"); d = col("time_to_target_ci95_s")
        print col("lr"), col("final_accuracy"), (c == "" ? 0 : c),
          (col("target_reached") == col("reps") ? col("time_to_target_s") : "NaN"), (d == "" ? 0 : d) }' \
      "$csv" | sort -g >"$tmp/sweep-$i.dat"
    [[ -n $acc_plot ]] && acc_plot+=", " ttt_plot+=", "
    acc_plot+="\"$tmp/sweep-$i.dat\" using 1:2:3 with yerrorlines lw 2 pt 7 lc $i title \"$rule\""
    ttt_plot+="\"$tmp/sweep-$i.dat\" using 1:4:5 with yerrorlines lw 2 pt 7 lc $i title \"$rule\""
  done
  # With no lr where every repetition reached the target the panel says so: gnuplot refuses a
  # plot whose every point is undefined.
  ttt_panel="set title \"time to $target (only lrs where every repetition reached it)\"; set ylabel \"s\"
plot $ttt_plot"
  if [[ $(csv_awk 'col("reps") > 0 && col("target_reached") == col("reps") { n++ } END { print n + 0 }' "$csv") == 0 ]]; then
    ttt_panel="set title \"time to $target: no lr where every repetition reached it\"
unset logscale x; set xrange [0:1]; set yrange [0:1]; unset xtics; unset ytics; unset xlabel; unset ylabel
plot 2 notitle"
  fi
  gnuplot <<GP
set terminal pngcairo size 1200,520 font ",11"
set output "$out/sweep.png"
set multiplot layout 1,2 title "learning-rate sweep: $workers workers, $rate_label server link, $iterations iterations, momentum 0.9$ci_text"
set logscale x; set grid; set xlabel "learning rate"; set key outside below horizontal; set bmargin 6
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
set title "final test accuracy"; set ylabel "accuracy"
plot $acc_plot
$ttt_panel
unset multiplot
GP
fi
rm -rf "$tmp"

same="(the same data for every rule)"
[[ " $rules " == *" r2sp-tuned "* ]] && same="(r2sp-tuned: batches sized by worker speed, the same total per round)"
{
  echo "# Time to accuracy under contention: ${rules// /, }; lr ${lrs// /, }; stragglers: $straggler"
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
  if [[ $model == lenet5-torch ]]; then
    echo "$workers Python workers (examples/torch/train_cnn.py: PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null), one thread each),"
    echo "Fashion-MNIST on LeNet-5 (61,706 parameters: 247 kB gradients, pushed from backward hooks"
    echo "${part_bytes:+in parts of $part_bytes, each }as soon as its tensors' gradients are in; the same initial model for"
    echo "every repetition, --seed R its data order),"
    echo "batch 64 per worker, momentum 0.9, $iterations iterations per worker"
    echo "$same, TCP with CUBIC, --straggler $straggler. Each job: \`gradwire server ${job[*]}\` and"
    echo "\`$GW_NETNS_WORKER_CMD ${job[*]}\` per worker"
  else
    echo "$workers workers, Fashion-MNIST on a 784-$hidden-10 MLP ($((4 * (784 * hidden + hidden + 10 * hidden + 10) / 1000)) kB"
    echo "gradients), batch 64 per worker, momentum 0.9, $iterations iterations per worker"
    echo "$same, TCP with CUBIC, --straggler $straggler. Each job: \`gradwire server/worker ${job[*]}\`"
  fi
  echo "and the rule's flags (\`--sync RULE\`; r2sp-tuned: \`--sync r2sp --batch-tuning\`; RULE+priority:"
  echo "\`--sync RULE --push-order priority\`), \`--lr LR\`"
  if [[ -n $legacy ]]; then
    echo "(one run per rule, the default --seed 1). Accuracy of worker 0's model every $eval_every iterations on the 10,000 test"
  else
    echo "and \`--seed R\` for repetition R of $reps. Accuracy of worker 0's model every $eval_every iterations on the 10,000 test"
  fi
  echo "images; time to the first kept model >= $target."
  echo "Iteration times are worker means: compute (with --straggler's emulated time), write (gate: the part waiting for a window),"
  echo "wait (for parameters)."
  echo
  echo "tta.csv: per rule and lr, the mean over repetitions and the half-width of its 95 % CI"
  echo "(Student t; empty with one repetition). time_to_target_s averages the repetitions that reached"
  echo "the target (target_reached of reps), its CI only when all did. best = 1: the rule's best lr (of"
  echo "the lrs where every repetition reached the target, the fastest; else the highest final accuracy)."
  echo "sweep.csv: every job."
  echo
  echo '```'
  column -s, -t "$csv"
  echo '```'
  echo
  echo "![accuracy over time](accuracy.png)"
  if [[ -f $out/sweep.png ]]; then
    echo
    echo "![learning-rate sweep](sweep.png)"
  fi
  echo
  echo "Files: tta.csv, sweep.csv, provenance.txt, runs/$([[ -n $legacy ]] && echo "<rule>" || echo "<rule>-lr<lr>-r<R>")/ (accuracy.csv, iterations.csv,"
  echo "windows.csv for r2sp, logs, command.txt)."
} >"$out/README.md"
echo "tta.sh: wrote $(shown "$out")/README.md" >&2
raw_runs_pack_committed "$out"
