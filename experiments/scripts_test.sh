#!/usr/bin/env bash
# Checks the experiment scripts where they went wrong before (issue 20 items 7, 10 and 11),
# without root or network namespaces, and with one real (small) job grid:
#   1. plot_run.sh on a fabricated plain run (iterations.csv with delay_s and gate_s, values
#      chosen here; summary.csv; accuracy.csv): exit 0, a PNG three panels wide, and the
#      breakdown it reports equals the values here (compute, delay, write - gate, gate, wait;
#      iteration 0 left out), the loss from every finite row, the accuracy evaluations counted;
#   2. plot_run.sh on a fabricated MDS run (every worker loss nan, rounds.csv with the loss on
#      even rounds): exit 0, a PNG, the loss taken from rounds.csv's finite rows; and on an
#      old run without delay_s/gate_s: exit 0 with them as 0;
#   3. windows.sh, coding.sh, tta.sh: --help exits 0 and lists --out; an unknown option and a
#      missing value exit 2; windows.sh --report-only on fabricated runs of burst, round-robin
#      and round-robin:lead=0: the hand-overs between turns (turns.csv) and their median idle
#      over one push's wire time are the ones worked out here, turns.png is drawn;
#   4. their --dry-run: the command recorded for the README is the one given (environment
#      knobs, script, options), the default --out lies under results/runs/<name>-, a given
#      --out is kept, and nothing is written; the settings reach the job lines and titles;
#      coding.sh --sim (and SIM=1): every job a `gradwire sim` one, provenance says simulated,
#      and bad usage with it (--sim=1, --sim with --plot-only, an odd n) still exits 2;
#   5. coding.sh --plot-only on a fabricated coding.csv: exit 0, both PNGs, a README naming the
#      redraw's command and saying the measurement recorded no provenance; on one with
#      repetitions, the README and plots say 95 % CI over repetitions; on one whose provenance
#      says simulated, the README says so;
#      tta.sh --plot-only on a fabricated lr sweep with repetitions: each rule's means, CIs,
#      targets reached and best lr as computed by hand, both plots;
#   6. coding.sh measuring for real (4 workers, mu 10, 4 rounds, 2 repetitions): a row per job
#      in coding-reps.csv with seeds 1 and 2 drawing different delays, and each coding.csv row
#      the mean of its jobs with the 95 % CI Student's t gives for 2 (12.706 x s.e.);
#      skipped, saying so, when GRADWIRE is not a binary;
#   6d. dnn_traffic.sh --sim on two simulated workers: rows, summary, plot, README;
#   6e. sim_validation.sh on fabricated dnn_traffic.sh folders (values chosen here): each cell's
#      iteration times, its CI carried over from samples/s, ratio and verdict as worked out
#      here; a pair of a DNN folder and a runner.sh folder exits 2;
#   7. shellcheck on these scripts is quiet (skipped, saying so, when shellcheck is missing).
# Prints PASS/FAIL per check; exits 1 if any failed. ~20 s.
# Usage: experiments/scripts_test.sh [GRADWIRE]   (needed only by 6)
# shellcheck disable=SC2015  # COND && r=0 || r=1 throughout: the assignment cannot fail
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
gradwire=${1:-build/apps/gradwire/gradwire}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-scripts-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=experiments/lib/check.sh
source "$here/lib/check.sh"
is_png() { [[ -s $1 && $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; }
png_width() { od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
# shellcheck source=experiments/lib/csv.sh
source "$here/lib/csv.sh"
# Where the scripts run from: the repository root, as make runs them.
cd "$repo"

# ---- 1. plot_run.sh, plain run ----
plain=$tmp/plain
mkdir -p "$plain"
{
  echo "worker,iteration,compute_s,write_s,wait_s,bytes,loss,delay_s,messages,gate_s,batch"
  for w in 0 1; do
    # Iteration 0 holds the join wait (wait 9 s): left out of the breakdown.
    echo "$w,0,0.001,0.002,9,100,2.3,0,1,0,64"
    for i in 1 2 3; do
      # compute 10 ms, delay 20 ms, write 5 ms of which gate 3 ms, wait 1 ms; one NaN loss.
      loss=$(awk -v i="$i" -v w="$w" 'BEGIN { print (i == 2 && w == 1) ? "nan" : 2.3 - 0.1 * i }')
      echo "$w,$i,0.010,0.005,0.001,100,$loss,0.020,1,0.003,64"
    done
  done
} >"$plain/iterations.csv"
cat >"$plain/summary.csv" <<'EOF'
workload,sync,workers,iterations,partial,train_s,test_accuracy
softmax,bsp,2,4,0,0.2,0.7
EOF
cat >"$plain/accuracy.csv" <<'EOF'
iteration,elapsed_s,test_loss,test_accuracy
0,0.001,2.30,0.10
2,0.050,1.20,0.55
3,0.080,0.90,0.70
EOF
rc=0
report=$(experiments/plot_run.sh "$plain" "plain test" 2>"$tmp/plain.err") || rc=$?
check "plot_run plain run: exit 0" "$rc" "exit $rc $(head -c 300 "$tmp/plain.err")"
is_png "$plain/run.png" && r=0 || r=1
check "plot_run plain run: run.png is a PNG" "$r" "$(ls -l "$plain/run.png" 2>&1)"
width=$(png_width "$plain/run.png" 2>/dev/null || echo 0)
[[ $width == 1680 ]] && r=0 || r=1
check "plot_run plain run: three panels (accuracy.csv)" "$r" "width $width px (1680 = 3 panels)"
want="ms per iteration, mean over workers: compute 10.00, straggler delay 20.00, write without gate 2.00, gate 3.00, wait 1.00"
[[ $report == *"$want"* ]] && r=0 || r=1
check "plot_run plain run: breakdown has delay and gate" "$r" "$(grep -F 'ms per' <<<"$report")"
[[ $report == *"loss: 4 iterations with a finite loss (mean over workers, iterations.csv)"* ]] && r=0 || r=1
check "plot_run plain run: NaN loss skipped, not the row" "$r" "$(grep -F 'loss:' <<<"$report")"
[[ $report == *"test accuracy: 3 evaluations"* ]] && r=0 || r=1
check "plot_run plain run: accuracy panel" "$r" "$(grep -F 'accuracy' <<<"$report")"

# ---- 2. plot_run.sh, MDS run and an old run ----
mds=$tmp/mds
mkdir -p "$mds"
{
  echo "worker,iteration,compute_s,write_s,wait_s,bytes,loss,delay_s,messages,gate_s,batch"
  for w in 0 1 2; do for r in 0 1 2 3 4 5; do echo "$w,$r,0.001,0.001,0.002,16384,nan,0.02,1,0,64"; done; done
} >"$mds/iterations.csv"
{
  echo "round,iteration,phase,duration_s,decode_s,messages_used,workers_used,loss"
  for r in 0 1 2 3 4 5; do
    loss=nan
    ((r % 2)) || loss=$((100 - 10 * r))
    echo "$r,$((r / 2)),$((r % 2)),0.03,0.0001,2,2,$loss"
  done
} >"$mds/rounds.csv"
cat >"$mds/summary.csv" <<'EOF'
workload,sync,coding,workers,iterations,partial,train_loss_last20,test_accuracy
linreg,coded,mds:k=2,3,3,0,,-1
EOF
rc=0
report=$(experiments/plot_run.sh "$mds" 2>"$tmp/mds.err") || rc=$?
check "plot_run MDS run: exit 0" "$rc" "exit $rc $(head -c 300 "$tmp/mds.err")"
is_png "$mds/run.png" && r=0 || r=1
check "plot_run MDS run: run.png is a PNG" "$r" "$(ls -l "$mds/run.png" 2>&1)"
[[ $report == *"loss: 3 iterations with a finite loss (server, rounds.csv)"* ]] && r=0 || r=1
check "plot_run MDS run: loss from rounds.csv" "$r" "$(grep -F 'loss:' <<<"$report")"
old=$tmp/old
mkdir -p "$old"
printf 'worker,iteration,compute_s,write_s,wait_s,bytes,loss\n0,0,0.01,0.01,0.01,1,2\n0,1,0.01,0.01,0.01,1,1.5\n' \
  >"$old/iterations.csv"
rc=0
report=$(experiments/plot_run.sh "$old" 2>"$tmp/old.err") || rc=$?
[[ $rc == 0 && $report == *"straggler delay 0.00, write without gate 10.00, gate 0.00"* ]] && r=0 || r=1
check "plot_run old run (no delay_s, gate_s): 0 for them" "$r" "exit $rc $(grep -F 'ms per' <<<"$report") $(head -c 200 "$tmp/old.err")"

# ---- 3. --help and bad usage ----
for s in windows coding tta; do
  rc=0
  help=$("experiments/$s.sh" --help 2>&1) || rc=$?
  [[ $rc == 0 && $help == *"--out DIR"* && $help == *"--dry-run"* ]] && r=0 || r=1
  check "$s.sh --help: exit 0, lists --out" "$r" "exit $rc, $(wc -l <<<"$help") lines"
  rc=0
  "experiments/$s.sh" "$gradwire" --no-such-option >/dev/null 2>"$tmp/err" || rc=$?
  [[ $rc == 2 ]] && grep -q "unknown option '--no-such-option'" "$tmp/err" && r=0 || r=1
  check "$s.sh unknown option: exit 2, named" "$r" "exit $rc: $(head -1 "$tmp/err")"
  rc=0
  "experiments/$s.sh" "$gradwire" --out >/dev/null 2>"$tmp/err" || rc=$?
  [[ $rc == 2 ]] && grep -q -- "--out needs a value" "$tmp/err" && r=0 || r=1
  check "$s.sh --out without a value: exit 2" "$r" "exit $rc: $(head -1 "$tmp/err")"
done
rc=0
"$here/windows.sh" "$gradwire" --iterations 6 --warmup 5 --dry-run >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc == 2 ]] && r=0 || r=1
check "windows.sh nothing after the warm-up: exit 2" "$r" "exit $rc: $(head -1 "$tmp/err")"
rc=0
"$here/windows.sh" "$gradwire" --report-only >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc == 2 ]] && grep -q -- "--report-only needs --out" "$tmp/err" && r=0 || r=1
check "windows.sh --report-only without --out: exit 2" "$r" "exit $rc: $(head -1 "$tmp/err")"
# --report-only redoes a measurement with its own options only: other options are refused.
mkdir -p "$tmp/wr"
printf 'command=x\njob=--num-workers 8 --workload synthetic --grad-bytes 100M --iterations 8 --sync bsp --timeout 300\npolicies=burst round-robin\nreps=5\nwarmup=5\n' \
  >"$tmp/wr/provenance.txt"
rc=0
"$here/windows.sh" "$gradwire" --report-only --out "$tmp/wr" --workers 4 >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc == 2 ]] && grep -q "options differ from the measurement" "$tmp/err" && r=0 || r=1
check "windows.sh --report-only with other options: exit 2" "$r" "exit $rc: $(head -1 "$tmp/err")"

# The hand-overs between turns, on fabricated runs (2 workers, iterations 5-6, 1 MiB, a 1 Gbit/s
# reference: a push's wire time 8.388608 ms). Round-robin: 0 -> 1 in iteration 5 hands over
# 0.2 ms after the end; iteration 6's first window was asked for after the one before it
# ended (BSP's barrier, not a hand-over); 0 -> 1 in 6 posts 0.5 ms before the end (-0.5 ms,
# idle 0). Median idle (nearest rank of 0, 0.0002): 0. lead=0: gaps 2 and 3 ms, median 2 ms,
# 0.2384 of the wire time.
wf=$tmp/wf
windows_row() {  # worker iteration requested start end bound posted
  echo "$1,$2,$3,$4,$5,$6,landed,$5,0,0,$7"
}
for p in burst round-robin round-robin-lead-0; do
  mkdir -p "$wf/runs/$p-r1"
  {
    echo "worker,iteration,requested_s,start_s,end_s,bound_s,end,landed_s,message,part,posted_s"
    case $p in
      burst) for i in 5 6; do windows_row 0 "$i" 1.$i 1.$i 1.${i}2 inf 1.${i}01; windows_row 1 "$i" 1.$i 1.$i 1.${i}3 inf 1.${i}01; done ;;
      round-robin)
        windows_row 0 5 1.000 1.000 1.010 0.05 1.001
        windows_row 1 5 1.000 1.008 1.020 0.05 1.0102
        windows_row 0 6 1.030 1.030 1.040 0.05 1.0305
        windows_row 1 6 1.030 1.038 1.050 0.05 1.0395 ;;
      *)
        windows_row 0 5 1.000 1.000 1.010 0.05 1.001
        windows_row 1 5 1.000 1.011 1.022 0.05 1.012
        windows_row 0 6 1.030 1.030 1.040 0.05 1.0305
        windows_row 1 6 1.030 1.042 1.052 0.05 1.043 ;;
    esac
  } >"$wf/runs/$p-r1/windows.csv"
done
printf 'command=fabricated
commit=none
gradwire=none
date=none
machine=none
job=--num-workers 2 --workload synthetic --grad-bytes 1M --iterations 7 --sync bsp --timeout 300
policies=burst round-robin round-robin:lead=0
reps=1
warmup=5
reference_bps=1000000000
' \
  >"$wf/provenance.txt"
rc=0
"$here/windows.sh" "$gradwire" --report-only --out "$wf" --workers 2 --grad 1M --iterations 7 --reps 1 \
  --policies "burst round-robin round-robin:lead=0" >/dev/null 2>"$tmp/err" || rc=$?
check "windows.sh --report-only on fabricated turns: exit 0" "$rc" "exit $rc: $(tail -2 "$tmp/err")"
got=$(csv_awk '{ printf "%s/%s/%s ", col("policy"), col("worker"), col("gap_s") }' "$wf/turns.csv" 2>&1 || true)
want="round-robin/1/0.000200000 round-robin/1/-0.000500000 round-robin:lead=0/1/0.002000000 round-robin:lead=0/1/0.003000000 "
[[ $got == "$want" ]] && r=0 || r=1
check "windows.sh: the hand-overs worked out by hand" "$r" "got '$got'"
got=$(csv_awk '{ printf "%s/%s/%s/%s ", col("policy"), col("turns"), col("median_turn_idle_s"), col("turn_idle_over_wire") }' "$wf/windows.csv" 2>&1 || true)
want="burst/// round-robin/2/0.000000/0.0000 round-robin:lead=0/2/0.002000/0.2384 "
[[ $got == "$want" ]] && r=0 || r=1
check "windows.sh: median idle per turn policy over the wire time" "$r" "got '$got'"
is_png "$wf/turns.png" && grep -q "round-robin:lead=0 median idle between turns / one push wire time: 0.238 (target <= 0.05): NOT met" "$wf/README.md" && r=0 || r=1
check "windows.sh: turns.png and the README's verdicts" "$r" "$(grep -m2 'median idle' "$wf/README.md" 2>&1)"

# ---- 4. --dry-run: the README's command is the one given ----
results_before=$(git status --porcelain --untracked-files=all -- results/ 2>/dev/null || true)
# One line of the dry run's provenance by key.
field() { sed -n "s/^$1=//p" <<<"$2" | head -1; }
dry() {  # name expected-command-line -- command...
  local name=$1 want=$2 out rc=0
  shift 3
  out=$("$@" 2>"$tmp/err") || rc=$?
  check "$name --dry-run: exit 0" "$rc" "exit $rc $(head -c 300 "$tmp/err")"
  [[ $(field command "$out") == "$want" ]] && r=0 || r=1
  check "$name --dry-run: command as given" "$r" "$(field command "$out")"
  [[ $(field commit "$out") =~ ^([0-9a-f]{7,}(-dirty)?|unknown)$ ]] && r=0 || r=1
  check "$name --dry-run: commit named" "$r" "$(field commit "$out")"
  printf '%s\n' "$out" >"$tmp/dry-$name"
}
dry windows "WORKERS=3 experiments/windows.sh $gradwire --grad 10M --policies burst\\ round-robin --iterations=9 --dry-run" -- \
  env WORKERS=3 experiments/windows.sh "$gradwire" --grad 10M --policies "burst round-robin" --iterations=9 --dry-run
[[ $(field out "$(cat "$tmp/dry-windows")") == results/runs/windows-2* ]] && r=0 || r=1
check "windows --dry-run: default out under results/runs/" "$r" "$(field out "$(cat "$tmp/dry-windows")")"
grep -q -- "--num-workers 3 --workload synthetic --grad-bytes 10M --iterations 9 .*--windows round-robin:warmup=5$" "$tmp/dry-windows" && r=0 || r=1
check "windows --dry-run: settings reach the jobs" "$r" "$(grep -m1 'round-robin:' "$tmp/dry-windows")"
dry coding "experiments/coding.sh $gradwire --ns 4\\ 8 --mus 1 --rounds 10 --reps 2 --out $tmp/coding-out --dry-run" -- \
  experiments/coding.sh "$gradwire" --ns "4 8" --mus 1 --rounds 10 --reps 2 --out "$tmp/coding-out" --dry-run
[[ $(field out "$(cat "$tmp/dry-coding")") == "$tmp/coding-out" && ! -e $tmp/coding-out ]] && r=0 || r=1
check "coding --dry-run: --out kept, nothing written" "$r" "$(field out "$(cat "$tmp/dry-coding")")"
[[ $(grep -c '^job: ' "$tmp/dry-coding") == 20 ]] && grep -q -- "--num-workers 8 .*--iterations 5 --coding mds.*,seed=2$" "$tmp/dry-coding" && r=0 || r=1
check "coding --dry-run: 2 n x 5 schemes x 2 seeds, MDS half" "$r" "$(grep -c '^job: ' "$tmp/dry-coding") jobs"
[[ $(field environment "$(cat "$tmp/dry-coding")") == real:* ]] && ! grep -q '^job: gradwire sim' "$tmp/dry-coding" && r=0 || r=1
check "coding --dry-run: real jobs, provenance says so" "$r" "$(field environment "$(cat "$tmp/dry-coding")")"
dry coding-sim "SIM=1 experiments/coding.sh $gradwire --ns 4\\ 8 --mus 1 --rounds 10 --reps 2 --dry-run" -- \
  env SIM=1 experiments/coding.sh "$gradwire" --ns "4 8" --mus 1 --rounds 10 --reps 2 --dry-run
[[ $(grep -c '^job: gradwire sim --num-workers ' "$tmp/dry-coding-sim") == 20 && $(grep -c '^job: ' "$tmp/dry-coding-sim") == 20 ]] &&
  [[ $(field environment "$(cat "$tmp/dry-coding-sim")") == simulated* ]] && r=0 || r=1
check "coding SIM=1 --dry-run: 20 gradwire sim jobs, provenance says simulated" "$r" \
  "$(grep -m1 '^job: ' "$tmp/dry-coding-sim"); $(field environment "$(cat "$tmp/dry-coding-sim")")"
experiments/coding.sh "$gradwire" --sim --ns 100 --mus 1 --reps 1 --dry-run >"$tmp/dry-coding-sim2" 2>&1 || true
grep -q -- "^job: gradwire sim --num-workers 100 .*--iterations 50 --coding mds.*base=0.0032,seed=1$" "$tmp/dry-coding-sim2" && r=0 || r=1
check "coding --sim --dry-run: n = 100, base = unit / n" "$r" "$(grep -m1 'coding mds' "$tmp/dry-coding-sim2")"
for bad in "--sim=1" "--sim --plot-only --out $tmp/nowhere" "--sim --ns 5 --dry-run"; do
  rc=0
  # shellcheck disable=SC2086  # bad is a list of arguments
  experiments/coding.sh "$gradwire" $bad >/dev/null 2>"$tmp/err" || rc=$?
  [[ $rc == 2 ]] && grep -q '^usage: ' "$tmp/err" && r=0 || r=1
  check "coding $bad: exit 2" "$r" "exit $rc: $(head -1 "$tmp/err")"
done
dry tta "RULES=bsp\\ asp experiments/tta.sh $gradwire --workers 4 --hidden 256 --lrs 0.01\\ 0.1 --reps 3 --dry-run" -- \
  env RULES="bsp asp" experiments/tta.sh "$gradwire" --workers 4 --hidden 256 --lrs "0.01 0.1" --reps 3 --dry-run
[[ $(grep -c '^job -> ' "$tmp/dry-tta") == 12 ]] && grep -q -- "-r3/: .*--num-workers 4 --workload mlp --hidden 256 .*--sync asp --lr 0.1 --seed 3$" "$tmp/dry-tta" && r=0 || r=1
check "tta --dry-run: 2 rules x 2 lrs x 3 seeds, options win" "$r" "$(grep -c '^job -> ' "$tmp/dry-tta") jobs"
experiments/tta.sh "$gradwire" --rules "bsp+priority" --part-bytes 16K --lrs 0.1 --reps 1 --dry-run >"$tmp/dry-tta-p" 2>&1 || true
grep -q -- "bsp+priority-lr0.1-r1/: .*--part-bytes 16K --sync bsp --push-order priority --lr 0.1 --seed 1$" "$tmp/dry-tta-p" && r=0 || r=1
check "tta --dry-run: RULE+priority and --part-bytes reach the job" "$r" "$(grep -m1 '^job -> ' "$tmp/dry-tta-p")"
results_after=$(git status --porcelain --untracked-files=all -- results/ 2>/dev/null || true)
[[ $results_before == "$results_after" ]] && r=0 || r=1
check "dry runs wrote nothing under results/" "$r" ""

# ---- 5. coding.sh --plot-only ----
# A coding.csv of 2 n x 5 schemes; $2/$3: columns appended to the header / to every row.
fab_coding_csv() {  # dir extra-header extra-cells
  mkdir -p "$1"
  {
    echo "mu,workers,scheme,rounds,measured_s,measured_se_s,same_draws_s,closed_form_s,monte_carlo_s,measured_over_model$2"
    for n in 4 8; do
      echo "1,$n,uncoded,10,0.20,0.01,0.19,0.19,0.19,1.05$3"
      echo "1,$n,replication:r=2,10,0.15,0.01,0.14,0.14,0.14,1.07$3"
      echo "1,$n,mds:k=3,10,0.10,0.01,0.10,0.10,0.10,1.00$3"
      echo "1,$n,gc-cr:s=1,10,0.21,0.01,0.20,0.20,0.20,1.05$3"
      echo "1,$n,mm:r=2,10,0.12,0.01,0.11,nan,0.11,1.09$3"
    done
  } >"$1/coding.csv"
}
cod=$tmp/coding
fab_coding_csv "$cod" "" ""
rc=0
experiments/coding.sh "$gradwire" --plot-only --out "$cod" >/dev/null 2>"$tmp/err" || rc=$?
check "coding --plot-only: exit 0" "$rc" "exit $rc $(grep -v '^Warning' "$tmp/err" | head -c 300)"
is_png "$cod/rounds.png" && is_png "$cod/speedup.png" && r=0 || r=1
check "coding --plot-only: rounds.png, speedup.png" "$r" ""
grep -qF "redrawn from coding.csv by \`experiments/coding.sh $gradwire --plot-only --out $cod\`" "$cod/README.md" &&
  grep -q "recorded no provenance" "$cod/README.md" && grep -q "n = 4, 8; mu = 1" "$cod/README.md" && r=0 || r=1
check "coding --plot-only: README names the redraw, n and mu" "$r" "$(head -3 "$cod/README.md" | tr '\n' ' ' | head -c 200)"
rc=0
experiments/coding.sh "$gradwire" --plot-only >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] && r=0 || r=1
check "coding --plot-only without --out: exit 2" "$r" "exit $rc"
grep -q "±1 s.e. over one job's rounds" "$cod/README.md" && r=0 || r=1
check "coding --plot-only, no repetitions: bars are s.e." "$r" ""
codr=$tmp/coding-reps
fab_coding_csv "$codr" ",reps,measured_ci95_s" ",5,0.0278"
rc=0
experiments/coding.sh "$gradwire" --plot-only --out "$codr" >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc == 0 ]] && is_png "$codr/speedup.png" && grep -q "95 % CI over repetitions" "$codr/README.md" &&
  grep -q "| 1 | 4 | uncoded | 200.00 ± 27.80 |" "$codr/README.md" && r=0 || r=1
check "coding --plot-only, 5 repetitions: 95 % CI shown" "$r" "exit $rc $(grep -m1 '| 1 | 4 | uncoded' "$codr/README.md")"
# A simulated measurement (its provenance says so): the redraw's README says simulated too.
cods=$tmp/coding-sim
fab_coding_csv "$cods" ",reps,measured_ci95_s" ",5,0.0278"
printf 'command=x --sim\ncommit=abc1234\nenvironment=simulated (SimGrid 3.32): gradwire sim --topology star\n' >"$cods/provenance.txt"
rc=0
experiments/coding.sh "$gradwire" --plot-only --out "$cods" >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc == 0 ]] && is_png "$cods/rounds.png" && grep -q "^Simulated by .x --sim. at commit abc1234" "$cods/README.md" &&
  grep -q "Every time below is simulated time" "$cods/README.md" && grep -q '^gradwire sim --num-workers N' "$cods/README.md" &&
  r=0 || r=1
check "coding --plot-only of a simulation: README says simulated" "$r" "exit $rc $(head -3 "$cods/README.md" | tr '\n' ' ' | head -c 200)"

# ---- 5b. tta.sh --plot-only on a fabricated sweep: 2 rules x 2 lrs x 2 repetitions ----
# Target 0.85. bsp reaches it in both repetitions at both lrs (lr 0.1 at 10 and 12 s, lr 0.01 at
# 20 and 22 s): best 0.1. asp reaches it at lr 0.1 in one repetition only (final 0.86, 0.80) and
# never at lr 0.01 (final 0.84 twice): best 0.01, the higher mean final accuracy.
tt=$tmp/tta
fab() {  # rule lr rep "iteration,elapsed,accuracy ..."
  local d="$tt/runs/${1//:/-}-lr$2-r$3" row
  mkdir -p "$d"
  { echo "iteration,elapsed_s,test_loss,test_accuracy"
    for row in $4; do IFS=, read -r i e a <<<"$row"; echo "$i,$e,0.5,$a"; done; } >"$d/accuracy.csv"
  printf 'wall_s\n30\n' >"$d/summary.csv"
  printf 'worker,iteration,compute_s,delay_s,write_s,wait_s,gate_s\n0,1,0.1,0,0.2,0.3,0\n' >"$d/iterations.csv"
}
fab bsp 0.1 1 "0,1,0.5 10,10,0.86 20,20,0.87"
fab bsp 0.1 2 "0,1,0.5 10,12,0.86 20,22,0.89"
fab bsp 0.01 1 "0,1,0.5 10,20,0.86 20,30,0.86"
fab bsp 0.01 2 "0,1,0.5 10,22,0.86 20,32,0.86"
fab asp 0.1 1 "0,1,0.5 10,8,0.86 20,16,0.86"
fab asp 0.1 2 "0,1,0.5 10,8,0.70 20,16,0.80"
fab asp 0.01 1 "0,1,0.5 10,8,0.80 20,16,0.84"
fab asp 0.01 2 "0,1,0.5 10,8,0.80 20,16,0.84"
printf 'command=fabricated\nlrs=0.01 0.1\nreps=2\nrules=bsp asp\nworkers=2\n' >"$tt/provenance.txt"
rc=0
experiments/tta.sh "$gradwire" --plot-only --target 0.85 --out "$tt" >/dev/null 2>"$tmp/err" || rc=$?
check "tta --plot-only sweep: exit 0" "$rc" "exit $rc $(tail -1 "$tmp/err" | head -c 300)"
# rule,lr,reps,reached,time,time CI,final,final CI,...,best: bsp 0.1 time 11 ± 12.706 x 1, final
# 0.88 ± 12.706 x 0.01; asp 0.1 time 8 (one of two, no CI).
got=$(csv_awk '{ printf "%s/%s/%s/%s/%s/%s/%s/%s/%s;", col("rule"), col("lr"), col("target_reached"),
    col("time_to_target_s"), col("time_to_target_ci95_s"), col("final_accuracy"), col("final_accuracy_ci95"),
    col("reps"), col("best") }' "$tt/tta.csv" 2>&1)
want="bsp/0.01/2/21.000/12.7060/0.8600/0.0000/2/0;bsp/0.1/2/11.000/12.7060/0.8800/0.1271/2/1;"
want+="asp/0.01/0/// 0.8400/0.0000/2/1;asp/0.1/1/8.000//0.8300/0.3812/2/0;"
want=${want// /}
[[ $got == "$want" ]] && r=0 || r=1
check "tta sweep: means, t(1) CIs, reached, best lr per rule" "$r" "$got"
[[ $(wc -l <"$tt/sweep.csv") == 9 ]] && is_png "$tt/accuracy.png" && is_png "$tt/sweep.png" && r=0 || r=1
check "tta sweep: 8 jobs in sweep.csv, accuracy.png, sweep.png" "$r" "$(wc -l <"$tt/sweep.csv") lines"
grep -q "sweep.png" "$tt/README.md" && grep -q -- "--seed R" "$tt/README.md" && r=0 || r=1
check "tta sweep: README shows the sweep, names the seeds" "$r" ""
# A sweep where no lr had every repetition reach the target (as LeNet-5's asynchronous rules
# at 0.82): the time panel says so instead of failing gnuplot, and the README is written.
rm -f "$tt/README.md" "$tt/sweep.png"
rc=0
experiments/tta.sh "$gradwire" --plot-only --target 0.95 --out "$tt" >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc == 0 && -f $tt/README.md ]] && is_png "$tt/sweep.png" && r=0 || r=1
check "tta sweep where no lr reaches the target: plots and README" "$r" "exit $rc $(tail -1 "$tmp/err" | head -c 300)"

# ---- 6. coding.sh measuring: repetitions aggregated ----
if [[ -x $gradwire && -f $gradwire ]]; then
  codm=$tmp/coding-measured
  rc=0
  experiments/coding.sh "$gradwire" --ns 4 --mus 10 --rounds 4 --unit 0.04 --reps 2 --out "$codm" \
    >"$tmp/codm.out" 2>&1 || rc=$?
  check "coding 4 workers x 2 repetitions: exit 0" "$rc" "exit $rc $(tail -c 300 "$tmp/codm.out")"
  jobs=$(csv_awk 'col("rep") == 1 || col("rep") == 2 { n++ } END { print n + 0 }' "$codm/coding-reps.csv" 2>&1)
  rows=$(csv_awk 'col("reps") == 2 { n++ } END { print n + 0 }' "$codm/coding.csv" 2>&1)
  [[ $jobs == 10 && $rows == 5 ]] && r=0 || r=1
  check "coding: 10 jobs in coding-reps.csv, 5 rows of 2" "$r" "$jobs jobs, $rows rows"
  # The seeds drew different delays: the model on each job's draws differs between them.
  differ=$(csv_awk 'col("scheme") == "uncoded" { d[col("rep")] = col("same_draws_s") } END { print (d[1] != d[2]) }' \
    "$codm/coding-reps.csv" 2>&1)
  [[ $differ == 1 ]] && r=0 || r=1
  check "coding: seed 1 and seed 2 draw different delays" "$r" "$(grep '^10,4,uncoded' "$codm/coding-reps.csv" | tr '\n' ' ')"
  # Each aggregate from its two jobs, recomputed here: mean, s.e. = |a - b| / 2, CI = 12.706 s.e.
  bad=$(csv_awk 'FILENAME ~ /coding-reps\.csv$/ { k = col("scheme"); m[k] += col("measured_s") / 2
      if (col("rep") == 1) a[k] = col("measured_s"); else b[k] = col("measured_s"); next }
    { k = col("scheme"); se = (a[k] > b[k] ? a[k] - b[k] : b[k] - a[k]) / 2
      if (m[k] - col("measured_s") > 1e-6 * m[k] || col("measured_s") - m[k] > 1e-6 * m[k] ||
          col("measured_ci95_s") - 12.706 * se > 1e-6 || 12.706 * se - col("measured_ci95_s") > 1e-6)
        printf "%s: %s ± %s, jobs %s %s; ", k, col("measured_s"), col("measured_ci95_s"), a[k], b[k] }' \
    "$codm/coding-reps.csv" "$codm/coding.csv" 2>&1)
  [[ -z $bad ]] && r=0 || r=1
  check "coding: each row the mean of its jobs, t(1) CI" "$r" "$bad"
  is_png "$codm/rounds.png" && is_png "$codm/speedup.png" && r=0 || r=1
  check "coding: rounds.png, speedup.png" "$r" ""
else
  echo "SKIP  coding measuring (no gradwire binary at $gradwire)"
fi

# ---- 6b. ring_timing on a hand-made windows.csv ----
# Ring rows (finite bound) start at 1.000, 1.010, 1.030, 1.040 s; posts 1, 2, 4, 2 ms after;
# ends 8, 9, 10, 8 ms after their posts; one burst row (inf) left out; the third ring row
# granted ahead. Idle gaps: 3 ms (1.012 - 1.009), 13 ms (1.034 - 1.021), 0 (the last posted at
# 1.042, before the third's end at 1.044).
rt=$tmp/rt.csv
{
  echo "worker,iteration,requested_s,start_s,end_s,bound_s,end,landed_s,message,part,posted_s,ahead"
  echo "0,5,0.9,0.900,0.950,inf,landed,0.950,0,0,0.901,0"
  echo "0,6,1.0,1.000,1.009,0.05,landed,1.009,0,0,1.001,0"
  echo "1,6,1.0,1.010,1.021,0.05,landed,1.021,0,0,1.012,0"
  echo "2,6,1.0,1.030,1.044,0.05,landed,1.044,0,0,1.034,1"
  echo "3,6,1.0,1.040,1.050,0.05,landed,1.050,0,0,1.042,0"
} >"$rt"
rc=0
out=$(experiments/ring_timing.sh "$rt" 2>&1) || rc=$?
r=1; [[ $rc == 0 && $out == *"1 of 4 ahead; median ms: grant to grant 10.0, grant to post 2.0, post to end 8.5, idle gap 3.0" ]] && r=0
check "ring_timing: hand-worked medians" "$r" "$out"
# A merged windows.csv of two servers (a server column): one line per server's ring; server 0's
# rows are the ones above, server 1's two turns 20 ms apart, posted 1 ms after, 9 ms each.
{
  echo "server,$(head -1 "$rt")"
  tail -n +2 "$rt" | sed 's/^/0,/'
  echo "1,0,6,1.0,1.000,1.010,0.05,landed,1.010,0,0,1.001,0"
  echo "1,1,6,1.0,1.020,1.030,0.05,landed,1.030,0,0,1.021,0"
} >"$tmp/rt2.csv"
rc=0
out=$(experiments/ring_timing.sh "$tmp/rt2.csv" 2>&1) || rc=$?
r=1
[[ $rc == 0 && $(wc -l <<<"$out") == 2 &&
  $out == *"(server 0): ring windows 1 of 4 ahead; median ms: grant to grant 10.0, grant to post 2.0, post to end 8.5, idle gap 3.0"* &&
  $out == *"(server 1): ring windows 0 of 2 ahead; median ms: grant to grant 20.0, grant to post 1.0, post to end 9.0, idle gap 11.0" ]] && r=0
check "ring_timing: one line per server's ring in a merged windows.csv" "$r" "$out"
rc=0; experiments/ring_timing.sh "$tmp/nope.csv" >/dev/null 2>&1 || rc=$?
r=1; ((rc == 2)) && r=0
check "ring_timing: a missing file exits 2" "$r" "exit $rc"

# ---- 6b'. turn_align on a hand-made capture and windows.csv ----
# Two ring turns, the capture's clock 100 s ahead. Grants leave 0.1 and 0.3 ms after their
# decisions (the offset takes the smaller: 0.0 and 0.2 ms), notices come back 1.0 ms after their
# grants, the server records them 2.0 and 2.8 ms after they arrived; worker 1 posts 2.0 ms after
# worker 0's window ended. A bulk segment and the server's ACK are not control frames; the bulk
# segment is the data the server received in the ring's 20 ms: 65160 bytes, 26.1 Mbit/s.
ta=$tmp/ta_windows.csv
{
  echo "server,worker,iteration,requested_s,start_s,end_s,bound_s,end,landed_s,message,part,posted_s,ahead,held_s"
  echo "0,0,5,0.99,1.000,1.010,0.05,landed,1.010,0,0,1.003,0,0"
  echo "0,1,5,0.99,1.008,1.020,0.05,landed,1.020,0,0,1.012,0,0"
} >"$ta"
out=$(python3 experiments/lib/turn_align.py "$ta" "$tmp/ta_turns.csv" 2>&1 <<'TCPDUMP'
101.000100 IP 10.77.0.100.7070 > 10.77.0.1.5000: Flags [P.], seq 1:57, ack 1, win 10, length 56
101.001100 IP 10.77.0.1.5000 > 10.77.0.100.7070: Flags [P.], seq 1:49, ack 57, win 10, length 48
101.001200 IP 10.77.0.1.5000 > 10.77.0.100.7070: Flags [.], seq 49:65209, ack 57, win 10, length 65160
101.001250 IP 10.77.0.100.7070 > 10.77.0.1.5000: Flags [.], ack 65209, win 10, length 0
101.008300 IP 10.77.0.100.7070 > 10.77.0.2.5001: Flags [P.], seq 1:57, ack 1, win 10, length 56
101.009300 IP 10.77.0.2.5001 > 10.77.0.100.7070: Flags [P.], seq 1:49, ack 57, win 10, length 48
TCPDUMP
) || true
r=1
[[ $out == *"grant decided -> on the wire: median 0.10 ms, p90 0.20 ms (2 turns)"* &&
  $out == *"notice back (round trip, worker, switch queue): median 1.00 ms, p90 1.00 ms (2 turns)"* &&
  $out == *"handled by the server: median 2.40 ms, p90 2.80 ms (2 turns)"* &&
  $out == *"idle before the turn, by windows.csv: median 2.00 ms, p90 2.00 ms (1 turns)"* &&
  $out == *"data into the server while the ring turned: 26.1 Mbit/s (20.0 ms)"* &&
  $(wc -l <"$tmp/ta_turns.csv") == 3 ]] && r=0
check "turn_align: grant, notice and handling times from a capture aligned with windows.csv" "$r" "$out"

# ---- 6c. coding_facts on a hand-made coding.csv ----
# Uncoded 100 ms (model 95: +5.3 %, same draws 98, 2 ms of system cost), MDS 50 ms (model
# Monte Carlo 45: +11.1 %, same draws 46.8, 3.2 ms): speedup 2.00; one cell within 6 %, none
# past 10 % but MDS; same draws at most 4 % from the model (46.8 / 45).
cf=$tmp/coding.csv
{
  echo "mu,workers,scheme,rounds,measured_s,measured_se_s,same_draws_s,closed_form_s,monte_carlo_s,measured_over_model,reps,measured_ci95_s"
  echo "1,4,uncoded,100,0.100,0.001,0.098,0.095,0.0951,1.0526,5,0.002"
  echo "1,4,mds:k=3,100,0.050,0.001,0.0468,,0.045,1.1111,5,0.002"
} >"$cf"
rc=0
out=$(experiments/coding_facts.sh "$cf" 2>&1) || rc=$?
r=1
[[ $rc == 0 && $out == *"cells 2: 1 within 6 % of the model, 1 within 10 %; largest gap 11.1 % (mu 1, n 4, mds:k=3)"* &&
  $out == *"mean 2.60 ms, 2.00-3.20 ms"* && $out == *"at mu 1: mean 2.60 ms"* &&
  $out == *"at most 4.0 % apart"* &&
  $out == *"mu 1, mds: n=4 2.00 (mds:k=3);"* ]] && r=0
check "coding_facts: hand-worked figures" "$r" "$out"

# ---- 6d. dnn_traffic.sh --sim: a tiny simulated study, no root ----
# Two workers of ResNet-18 on a simulated star, two schemes, two repetitions: a row per job,
# a summary row per scheme whose repetitions agree (a simulation is deterministic: sd 0), the
# plot and a README that says it was simulated.
if [[ -x $gradwire ]] && "$gradwire" sim --help >/dev/null 2>&1; then
  dt=$tmp/dnn-sim
  rc=0
  GRADWIRE=$gradwire "$here/dnn_traffic.sh" --sim --models resnet18 --workers 2 --iterations 2 \
    --warmup 1 --reps 2 --schemes "overlap priority" --out "$dt" >"$tmp/dt.out" 2>&1 || rc=$?
  r=1
  [[ $rc == 0 && $(grep -c ',ok$' "$dt/runs.csv") == 4 &&
    $(csv_awk 'col("sd") == "0.00" && col("n") == 2 { k++ } END { print k + 0 }' "$dt/summary.csv") == 2 ]] &&
    is_png "$dt/dnn-traffic.png" && grep -q 'Simulated: `gradwire sim --topology star:rate=1Gbps' "$dt/README.md" && r=0
  check "dnn_traffic --sim: rows, identical repetitions, plot, README" "$r" "exit $rc: $(tail -c 400 "$tmp/dt.out")"
  rc=0
  "$here/dnn_traffic.sh" --servers 2 --dry-run >"$tmp/dt.out" 2>&1 || rc=$?
  check "dnn_traffic --servers without --sim: exit 2" "$([[ $rc == 2 ]] && echo 0 || echo 1)" "exit $rc"
  # Six workers behind two servers on four leaves: worker w on leaf (2 + w) mod 4, its rack.
  rc=0
  out=$("$here/dnn_traffic.sh" --sim --workers 6 --servers 2 --fabric leaf-spine:leaves=4,spines=2,oversub=4 \
    --rack-of leaves --syncs "bsp r2sp" --schemes "global-priority rack-turns" --reps 1 --dry-run 2>&1) || rc=$?
  r=1
  [[ $rc == 0 && $(grep -c 'rack-of=2+3+0+1+2+3' <<<"$out") == 2 && $out == *"bsp.global-priority"* &&
    $out == *"r2sp.rack-turns"* && $out != *"bsp.rack-turns"* && $out != *"r2sp.global-priority"* ]] && r=0
  check "dnn_traffic --rack-of leaves: a leaf-spine's racks, rack-turns under r2sp only" "$r" "exit $rc: $out"
  # scale_study's plan: one dnn_traffic per fabric, the rules asked for, a fat-tree's k that
  # holds the workers and 4 servers (k^3/4 >= 68: k = 8).
  rc=0
  out=$("$here/scale_study.sh" --workers 64 --syncs "bsp r2sp" --dry-run 2>&1) || rc=$?
  r=1
  [[ $rc == 0 && $(grep -c '^experiments/dnn_traffic.sh --sim' <<<"$out") == 2 &&
    $(grep -c -- '--syncs bsp r2sp ' <<<"$out") == 2 && $out == *"fat-tree:k=8,"* ]] && r=0
  check "scale_study --dry-run: a study per fabric with the rules asked for" "$r" "exit $rc: $out"
else
  echo "SKIP  dnn_traffic --sim                                   (no gradwire with SimGrid at $gradwire)"
fi

# ---- 6e. sim_validation.sh on DNN-traffic folders (fabricated) ----
# Emulated overlap 12.8 s (20 samples/s, CI 19-21: +-5 %, so +-0.64 s) against 12.16 simulated
# (0.95x, within 10 %); priority 10.24 s (25, CI 24-26: +-0.4096 s) against 8.192 (0.80x, a miss).
dnn_header="model,topology,sync,scheme,n,samples_per_s,sd,ci95_low,ci95_high,iteration_s,compute_s,write_s,wait_s,vs_no_overlap,mem_peak_gib"
runs_header="model,topology,sync,scheme,rep,workers,batch,iteration_s,compute_s,write_s,gate_s,wait_s,samples_per_s,wall_s,mem_peak_gib,status"
mkdir -p "$tmp/sv/emu" "$tmp/sv/sim" "$tmp/sv/runner"
printf '%s\n' "$dnn_header" "resnet50,star,bsp,overlap,5,20.00,0.80,19.00,21.00,12.8000,7.9,0.3,4.6,1.0," \
  "resnet50,star,bsp,priority,5,25.00,0.80,24.00,26.00,10.2400,7.9,0.2,2.1,1.2," >"$tmp/sv/emu/summary.csv"
printf '%s\n' "$dnn_header" "resnet50,sim star,bsp,overlap,1,21.05,0.00,21.05,21.05,12.1600,7.9,0.3,4.0,1.0," \
  "resnet50,sim star,bsp,priority,1,31.25,0.00,31.25,31.25,8.1920,7.9,0.2,0.1,1.5," >"$tmp/sv/sim/summary.csv"
for d in emu sim; do
  printf '%s\n' "$runs_header" "resnet50,star,bsp,overlap,1,8,32,12.8,7.9,0.3,0,4.6,20,30,,ok" >"$tmp/sv/$d/runs.csv"
done
rc=0
"$here/sim_validation.sh" "$tmp/sv/out" "$tmp/sv/emu" "$tmp/sv/sim" >"$tmp/sv.out" 2>&1 || rc=$?
got=$(csv_awk '{ printf "%s|%s|%s|%s|%s|%s|%s|%s;", col("workers"), col("label"), col("emulated"),
  col("emulated_ci95"), col("simulated"), col("ratio"), col("noise_bound"), col("within") }' "$tmp/sv/out/table.csv" 2>&1)
want="8|resnet50 bsp overlap|12.800000|0.640000|12.160000|0.9500|0|1;8|resnet50 bsp priority|10.240000|0.409600|8.192000|0.8000|0|0;"
r=1
[[ $rc == 0 && $got == "$want" ]] && is_png "$tmp/sv/out/validation.png" && r=0
check "sim_validation on DNN-traffic folders: each cell's CI, ratio and verdict" "$r" "exit $rc: $got (want $want) $(tail -c 300 "$tmp/sv.out")"
echo "delay_ms,workers,grad_bytes,scheme,label,n,iteration_s" >"$tmp/sv/runner/cells.csv"
rc=0
"$here/sim_validation.sh" "$tmp/sv/out2" "$tmp/sv/emu" "$tmp/sv/runner" >"$tmp/sv.out" 2>&1 || rc=$?
r=1
[[ $rc == 2 ]] && grep -q "not outputs of the same script" "$tmp/sv.out" && r=0
check "sim_validation: a DNN folder paired with a runner.sh one exits 2" "$r" "exit $rc: $(cat "$tmp/sv.out")"

# ---- 7. shellcheck ----
if command -v shellcheck >/dev/null; then
  rc=0
  shellcheck experiments/{plot_run,windows,coding,coding_facts,tta,ring_timing,turn_capture,dnn_traffic,scale_study,sim_validation,scripts_test}.sh >"$tmp/sc" 2>&1 || rc=$?
  check "shellcheck quiet" "$rc" "$(head -c 400 "$tmp/sc")"
else
  echo "SKIP  shellcheck quiet                                    (shellcheck not installed)"
fi

echo "scripts_test.sh: $passes passed, $fails failed"
((fails == 0))
