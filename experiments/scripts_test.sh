#!/usr/bin/env bash
# Checks the experiment scripts where they went wrong before (issue 20 items 7 and 11), without
# root, network namespaces or a real job:
#   1. plot_run.sh on a fabricated plain run (iterations.csv with delay_s and gate_s, values
#      chosen here; summary.csv; accuracy.csv): exit 0, a PNG three panels wide, and the
#      breakdown it reports equals the values here (compute, delay, write - gate, gate, wait;
#      iteration 0 left out), the loss from every finite row, the accuracy evaluations counted;
#   2. plot_run.sh on a fabricated MDS run (every worker loss nan, rounds.csv with the loss on
#      even rounds): exit 0, a PNG, the loss taken from rounds.csv's finite rows; and on an
#      old run without delay_s/gate_s: exit 0 with them as 0;
#   3. windows.sh, coding.sh, tta.sh: --help exits 0 and lists --out; an unknown option and a
#      missing value exit 2;
#   4. their --dry-run: the command recorded for the README is the one given (environment
#      knobs, script, options), the default --out lies under results/runs/<name>-, a given
#      --out is kept, and nothing is written; the settings reach the job lines and titles;
#   5. coding.sh --plot-only on a fabricated coding.csv: exit 0, both PNGs, a README naming the
#      redraw's command and saying the measurement recorded no provenance;
#   6. shellcheck on these scripts is quiet (skipped, saying so, when shellcheck is missing).
# Prints PASS/FAIL per check; exits 1 if any failed. ~10 s.
# Usage: experiments/scripts_test.sh [GRADWIRE]   (only named in dry runs; need not exist)
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
dry coding "experiments/coding.sh $gradwire --ns 4\\ 8 --mus 1 --rounds 10 --out $tmp/coding-out --dry-run" -- \
  experiments/coding.sh "$gradwire" --ns "4 8" --mus 1 --rounds 10 --out "$tmp/coding-out" --dry-run
[[ $(field out "$(cat "$tmp/dry-coding")") == "$tmp/coding-out" && ! -e $tmp/coding-out ]] && r=0 || r=1
check "coding --dry-run: --out kept, nothing written" "$r" "$(field out "$(cat "$tmp/dry-coding")")"
[[ $(grep -c '^job: ' "$tmp/dry-coding") == 10 ]] && grep -q -- "--num-workers 8 .*--iterations 5 --coding mds" "$tmp/dry-coding" && r=0 || r=1
check "coding --dry-run: 2 n x 5 schemes, MDS half the rounds" "$r" "$(grep -c '^job: ' "$tmp/dry-coding") jobs"
dry tta "RULES=bsp\\ asp experiments/tta.sh $gradwire --workers 4 --hidden 256 --dry-run" -- \
  env RULES="bsp asp" experiments/tta.sh "$gradwire" --workers 4 --hidden 256 --dry-run
[[ $(grep -c '^job -> ' "$tmp/dry-tta") == 2 ]] && grep -q -- "--num-workers 4 --workload mlp --hidden 256 .*--sync asp$" "$tmp/dry-tta" && r=0 || r=1
check "tta --dry-run: RULES from the environment, options win" "$r" "$(grep -c '^job -> ' "$tmp/dry-tta") jobs"
results_after=$(git status --porcelain --untracked-files=all -- results/ 2>/dev/null || true)
[[ $results_before == "$results_after" ]] && r=0 || r=1
check "dry runs wrote nothing under results/" "$r" ""

# ---- 5. coding.sh --plot-only ----
cod=$tmp/coding
mkdir -p "$cod"
{
  echo "mu,workers,scheme,rounds,measured_s,measured_se_s,same_draws_s,closed_form_s,monte_carlo_s,measured_over_model"
  for n in 4 8; do
    echo "1,$n,uncoded,10,0.20,0.01,0.19,0.19,0.19,1.05"
    echo "1,$n,replication:r=2,10,0.15,0.01,0.14,0.14,0.14,1.07"
    echo "1,$n,mds:k=3,10,0.10,0.01,0.10,0.10,0.10,1.00"
    echo "1,$n,gc-cr:s=1,10,0.21,0.01,0.20,0.20,0.20,1.05"
    echo "1,$n,mm:r=2,10,0.12,0.01,0.11,nan,0.11,1.09"
  done
} >"$cod/coding.csv"
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

# ---- 6. shellcheck ----
if command -v shellcheck >/dev/null; then
  rc=0
  shellcheck experiments/{plot_run,windows,coding,tta,scripts_test}.sh >"$tmp/sc" 2>&1 || rc=$?
  check "shellcheck quiet" "$rc" "$(head -c 400 "$tmp/sc")"
else
  echo "SKIP  shellcheck quiet                                    (shellcheck not installed)"
fi

echo "scripts_test.sh: $passes passed, $fails failed"
((fails == 0))
