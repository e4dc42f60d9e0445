#!/usr/bin/env bash
# Checks experiments/runner.sh where it could go wrong:
#   1. --plot-only on a fabricated runs.csv (3 repetitions per cell, values chosen here): cells.csv
#      has one row per cell with n = 3, and one cell's mean, sd and 95 % CI half-width equal
#      those computed here independently (awk, t = 4.303 for 2 degrees of freedom); a cell with
#      one repetition has no CI; labels reach cells.csv and the README; a PNG is drawn for a
#      line plot (several worker counts) and a bar plot (one);
#   1b. --rescan on fabricated job folders (coded, with rounds.csv): runs.csv's iteration_s and
#      round_s are the means computed here, and METRIC=round_s plots with a CI;
#   2. --dry-run --out DIR lists every job into DIR, names the environment netns_job gets, and
#      writes nothing (neither DIR nor anything under results/);
#   3. bad usage (unknown option, missing spec, no spec, bad --reps, --plot-only without --out)
#      exits 2 with the usage line;
#   4. as root with network namespaces: a real tiny spec (2 workers, 1 MiB synthetic, 2 schemes,
#      2 repetitions, 3 iterations) run with --out into a temporary directory under its own
#      topology prefix: cells.csv has 2 cells with n = 2, the README names the command and the
#      commit, and `git status results/` is what it was. Skipped, saying why, when not root or
#      without namespaces.
#   5. --sim (no root): the tiny spec simulated (`gradwire sim`): one repetition per cell, the
#      jobs' command.txt say gradwire sim, provenance names the simulated fabric; a tree maps to
#      its oversubscription, slow workers to their slow links, and a topology option with no
#      simulated counterpart is refused (exit 2);
#      then sim_validation.sh on fabricated emulated cells against it: each cell's ratio and
#      its 10 % and noise-bound verdicts are those made up here.
# Prints PASS/FAIL per check (SKIP for 4 when it cannot run); exits 1 if any failed. ~20 s.
# Usage: experiments/runner_test.sh [GRADWIRE]   (default $GRADWIRE, else build/apps/gradwire/gradwire)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runner="$here/runner.sh"
gradwire=${1:-${GRADWIRE:-$repo/build/apps/gradwire/gradwire}}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-runner-test.XXXXXX")
prefix=rt$$
prefix=${prefix:0:6}
real=""  # set once the real run starts: only then is there a topology (ours: $prefix) to take down
cleanup() {
  [[ -z $real ]] || GW_TOPO_PREFIX=$prefix "$repo/experiments/topo/topo.sh" down >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=lib/check.sh
source "$here/lib/check.sh"
# shellcheck source=lib/csv.sh
source "$here/lib/csv.sh"
is_png() { [[ -s $1 && $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; }
# Everything under results/ git sees (tracked changes and untracked files), and the newest files.
results_state() { git -C "$repo" status --porcelain --untracked-files=all -- results/; }

# ---- 1. --plot-only: aggregation and plots from a fabricated runs.csv ----
cat >"$tmp/lines.sh" <<'EOF'
# shellcheck shell=bash disable=SC2034
NAME=rt-lines
TITLE="runner test: lines"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(2 4)
GRADS=(1M 10M)
SCHEMES=("--sync bsp" "--sync r2sp --windows round-robin:warmup=5,factor=2")
LABELS=("BSP" "R2SP")
ITERATIONS=4
MEASURE_FROM=1
REPETITIONS=3
EOF
# Values per repetition: iteration_s = base + rep-dependent spread, the other columns alike.
{
  echo "workers,grad_bytes,scheme,rep,iteration_s,compute_s,write_s,gate_s,wait_s,updates_per_s,goodput_mbps,wall_s,delay_ms,rows_per_s"
  awk 'BEGIN {
    split("0.100 0.130 0.094", f, " ")
    for (w = 2; w <= 4; w += 2) for (g = 1; g <= 10; g += 9) for (s = 1; s <= 2; s++) for (r = 1; r <= 3; r++) {
      it = f[r] * w * g * s
      printf "%d,%d,%s,%d,%.5f,0.001,%.5f,0,%.5f,%.3f,%.1f,1.5,0,%.1f\n", w, g * 1048576,
        (s == 1 ? "--sync bsp" : "--sync r2sp --windows round-robin:warmup=5;factor=2"), r,
        it, it / 2, it / 2 - 0.001, w / it, w * g * 1048576 * 8 / it / 1e6, 64 * w / it }
  }'
} >"$tmp/runs.csv"
mkdir -p "$tmp/lines"
# The 4-worker 10 MiB R2SP cell keeps only its first repetition, and a row of a cell not in the
# spec (8 workers, ASP) is added.
awk -F, '!($1 == 4 && $2 == 10485760 && $3 ~ /r2sp/ && $4 > 1)' "$tmp/runs.csv" >"$tmp/lines/runs.csv"
echo "8,1048576,--sync asp,1,0.5,0,0,0,0,1,1,1,0,1" >>"$tmp/lines/runs.csv"
if "$runner" "$tmp/lines.sh" --plot-only --out "$tmp/lines" >"$tmp/lines.log" 2>&1; then
  check "plot-only: runs" 0 ""
else
  check "plot-only: runs" 1 "$(tail -3 "$tmp/lines.log")"
fi
cells=$tmp/lines/cells.csv
rows=$(($(wc -l <"$cells" 2>/dev/null || echo 1) - 1))
check "plot-only: one row per cell" "$([[ $rows == 8 ]] && echo 0 || echo 1)" "$rows rows (want 8)"
# The cell checked: 2 workers, 10 MiB, R2SP (its scheme's comma stored as ';').
expected=$(csv_awk '
  col("workers") == 2 && col("grad_bytes") == 10485760 && col("scheme") ~ /r2sp/ {
    n++; v[n] = col("iteration_s"); s += v[n] }
  END { m = s / n; for (i = 1; i <= n; i++) q += (v[i] - m) ^ 2; sd = sqrt(q / (n - 1))
    printf "%d %.6f %.6f %.6f", n, m, sd, 4.303 * sd / sqrt(n) }' "$tmp/runs.csv")
got=$(csv_awk 'col("workers") == 2 && col("grad_bytes") == 10485760 && col("label") == "R2SP" {
    print col("n"), col("iteration_s"), col("iteration_s_sd"), col("iteration_s_ci95") }' "$cells" 2>/dev/null || true)
ok=$(awk -v e="$expected" -v g="$got" 'BEGIN { ne = split(e, a, " "); ng = split(g, b, " ")
  if (ne != 4 || ng != 4 || a[1] != b[1]) { print 1; exit }
  for (i = 2; i <= 4; i++) { d = a[i] - b[i]; if (d < 0) d = -d; if (d > 2e-6 + 1e-5 * a[i]) { print 1; exit } }
  print 0 }')
check "plot-only: mean, sd, CI of one cell" "$ok" "n mean sd ci95: got '$got', expected '$expected'"
one=$(csv_awk 'col("workers") == 4 && col("grad_bytes") == 10485760 && col("label") == "R2SP" {
    print col("n") "/" col("iteration_s_sd") "/" col("iteration_s_ci95") }' "$cells" 2>/dev/null || true)
check "plot-only: one repetition, no CI" "$([[ $one == 1// ]] && echo 0 || echo 1)" "n/sd/ci95 '$one'"
check "plot-only: a cell not in the spec is left out, said" \
  "$(grep -q "not in the spec" "$tmp/lines.log" && ! grep -q '^0,8,' "$cells" && echo 0 || echo 1)" ""
check "plot-only: line plot PNG" "$(is_png "$tmp/lines/rt-lines.png" && echo 0 || echo 1)" ""
readme=$tmp/lines/README.md
check "plot-only: README has labels, MiB, CI text" \
  "$(grep -q '| 2 | 10 MiB | R2SP | 3 |' "$readme" && grep -q '95 % confidence interval' "$readme" &&
    grep -q -- '--plot-only' "$readme" && echo 0 || echo 1)" ""
sed -e 's/^NAME=.*/NAME=rt-bars/' -e 's/^WORKERS=.*/WORKERS=(2)/' "$tmp/lines.sh" >"$tmp/bars.sh"
mkdir -p "$tmp/bars"
cp "$tmp/runs.csv" "$tmp/bars/runs.csv"
if "$runner" "$tmp/bars.sh" --plot-only --out "$tmp/bars" >"$tmp/bars.log" 2>&1 && is_png "$tmp/bars/rt-bars.png"; then
  check "plot-only: bar plot PNG" 0 ""
else
  check "plot-only: bar plot PNG" 1 "$(tail -3 "$tmp/bars.log")"
fi

# ---- 1b. --rescan: runs.csv rebuilt from the jobs' own CSVs, round_s for coded jobs ----
cat >"$tmp/coded.sh" <<'EOF'
# shellcheck shell=bash disable=SC2034
NAME=rt-coded
TOPOLOGY=(star --rate 1gbit)
WORKERS=(2)
GRADS=(1M)
SCHEMES=("--coding uncoded")
ITERATIONS=4
MEASURE_FROM=2
REPETITIONS=2
METRIC=round_s
EOF
for r in 1 2; do
  job=$tmp/coded/runs/n2_grad1M_coding_uncoded_r$r
  mkdir -p "$job"
  {
    echo "worker,iteration,compute_s,write_s,wait_s,bytes,loss,delay_s,messages,gate_s,batch"
    for w in 0 1; do for i in 0 1 2 3; do echo "$w,$i,0.1,0.2,0.$((r + i)),1048576,nan,0,1,0,64"; done; done
  } >"$job/iterations.csv"
  printf 'server,wall_s\n0,%s\n' "$r.5" >"$job/server-0.csv"
  # Rounds 2 and 3 are measured: their mean is r + 0.5 s.
  printf 'round,iteration,phase,duration_s,decode_s,messages_used,workers_used,loss\n0,0,0,9,0,2,2,nan\n1,1,0,9,0,2,2,nan\n2,2,0,%s,0,2,2,nan\n3,3,0,%s,0,2,2,nan\n' \
    "$r" "$((r + 1))" >"$job/rounds.csv"
done
if "$runner" "$tmp/coded.sh" --rescan --out "$tmp/coded" >"$tmp/coded.log" 2>&1; then
  got=$(csv_awk '{ printf "%s:%s:%s ", col("rep"), col("iteration_s"), col("round_s") }' "$tmp/coded/runs.csv")
  # iteration_s of rep r over iterations 2-3: 0.1 + 0.2 + (0.(r+2) + 0.(r+3)) / 2.
  check "rescan: runs.csv from the jobs' CSVs, round_s" \
    "$([[ $got == "1:0.65000:1.50000 2:0.75000:2.50000 " ]] && echo 0 || echo 1)" "got '$got'"
  check "rescan: plots round_s, with its CI" \
    "$(is_png "$tmp/coded/rt-coded.png" && csv_awk '{ exit !(col("n") == 2 && col("round_s") == 2.000000 && col("round_s_ci95") != "") }' "$tmp/coded/cells.csv" && echo 0 || echo 1)" \
    "$(tail -2 "$tmp/coded.log")"
else
  check "rescan: runs" 1 "$(tail -3 "$tmp/coded.log")"
fi

# ---- 2. --dry-run --out DIR: lists jobs into DIR, writes nothing ----
before=$(results_state)
touch "$tmp/marker"
sleep 0.01
dry=$tmp/dry-out
if "$runner" "$repo/experiments/specs/incast.sh" --dry-run --out "$dry" --reps 2 >"$tmp/dry.log" 2>&1; then
  jobs=$(grep -c "  job -> $dry/runs/" "$tmp/dry.log" || true)
  # incast: 4 worker counts x 3 sizes x 4 schemes x 2 repetitions.
  check "dry-run: every job into --out" "$([[ $jobs == 96 ]] && echo 0 || echo 1)" "$jobs jobs listed (want 96)"
  check "dry-run: names netns_job's environment" \
    "$(grep -q 'GW_NETNS_SERVERS=1 GW_NETNS_TRANSPORT=tcp' "$tmp/dry.log" && echo 0 || echo 1)" ""
else
  check "dry-run: runs" 1 "$(tail -3 "$tmp/dry.log")"
fi
new=$(find "$repo/results" -newer "$tmp/marker" -print -quit)
check "dry-run: writes nothing" \
  "$([[ ! -e $dry && -z $new && $(results_state) == "$before" ]] && echo 0 || echo 1)" "${new:-}"

# ---- 3. bad usage: exit 2 with the usage line ----
usage_exit() {  # name args...
  local name=$1 rc=0
  shift
  "$runner" "$@" >"$tmp/usage.out" 2>"$tmp/usage.err" || rc=$?
  check "usage: $name" "$([[ $rc == 2 ]] && grep -q '^usage: experiments/runner.sh' "$tmp/usage.err" && echo 0 || echo 1)" \
    "exit $rc"
}
usage_exit "unknown option" "$tmp/lines.sh" --bogus
usage_exit "missing spec file" "$tmp/no-such-spec.sh"
usage_exit "no spec" --dry-run
usage_exit "bad --reps" "$tmp/lines.sh" --reps 0 --dry-run
usage_exit "--plot-only without --out" "$tmp/lines.sh" --plot-only

# The tiny spec that sections 4 (for real) and 5 (simulated) run.
cat >"$tmp/tiny.sh" <<'EOF'
# shellcheck shell=bash disable=SC2034
NAME=rt-tiny
TITLE="runner test: tiny"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(2)
GRADS=(1M)
SCHEMES=("--sync bsp" "--sync asp")
LABELS=("BSP" "ASP")
ITERATIONS=3
MEASURE_FROM=1
REPETITIONS=5
EOF

# ---- 4. a real tiny run under its own topology prefix (root, network namespaces) ----
why=""
if [[ $(id -u) -ne 0 ]]; then why="not root (network namespaces need it)"
elif ! ip netns list >/dev/null 2>&1; then why="no network namespaces here (ip netns list failed)"
elif [[ ! -x $gradwire ]]; then why="no gradwire binary at $gradwire (make, or pass its path)"
elif ! command -v gnuplot >/dev/null; then why="gnuplot missing (make deps)"
fi
if [[ -n $why ]]; then
  printf 'SKIP  %-50s %s\n' "real run (2 workers, 2 schemes, 2 reps)" "$why"
else
  before=$(results_state)
  out=$tmp/tiny
  real=1
  head_before=$(git -C "$repo" rev-parse --short HEAD)  # others may commit while it runs
  if GRADWIRE=$gradwire "$runner" "$tmp/tiny.sh" --out "$out" --reps 2 --prefix "$prefix" >"$tmp/tiny.log" 2>&1; then
    check "real run: runs" 0 ""
  else
    check "real run: runs" 1 "$(tail -5 "$tmp/tiny.log")"
  fi
  ns=$(csv_awk '{ printf "%s%s=%s", sep, col("label"), col("n"); sep = " " }' "$out/cells.csv" 2>/dev/null || true)
  check "real run: 2 cells, n = 2 each" "$([[ $ns == "BSP=2 ASP=2" ]] && echo 0 || echo 1)" "$ns"
  check "real run: README names command and commit" \
    "$(grep -q -- "--out $out --reps 2 --prefix $prefix" "$out/README.md" 2>/dev/null &&
      grep -q -e "at commit $head_before" -e "at commit $(git -C "$repo" rev-parse --short HEAD)" "$out/README.md" &&
      echo 0 || echo 1)" \
    "$(grep -m1 '^Made by' "$out/README.md" 2>/dev/null || true)"
  check "real run: results/ untouched" "$([[ $(results_state) == "$before" ]] && echo 0 || echo 1)" ""
  left=$(ip netns list | awk -v p="^$prefix" '$1 ~ p' | wc -l)
  check "real run: its topology is down" "$([[ $left == 0 ]] && echo 0 || echo 1)" "$left namespaces left"
fi

# ---- 5. --sim: the same spec simulated, and sim_validation.sh against fabricated cells ----
if GRADWIRE=$gradwire "$runner" "$tmp/tiny.sh" --sim --out "$tmp/sim" >"$tmp/sim.log" 2>&1; then
  check "sim: runs without root or namespaces" 0 ""
else
  check "sim: runs without root or namespaces" 1 "$(tail -5 "$tmp/sim.log")"
fi
ns=$(csv_awk '{ printf "%s%s=%s", sep, col("label"), col("n"); sep = " " }' "$tmp/sim/cells.csv" 2>/dev/null || true)
check "sim: one repetition per cell" "$([[ $ns == "BSP=1 ASP=1" ]] && echo 0 || echo 1)" "$ns"
check "sim: jobs are gradwire sim's, provenance says so" \
  "$(grep -q '^gradwire sim' "$tmp/sim/runs/"*bsp*/command.txt 2>/dev/null &&
    grep -q '^topology=gradwire sim --topology star:rate=1Gbps,latency=10us' "$tmp/sim/provenance.txt" &&
    echo 0 || echo 1)" "$(grep '^topology=' "$tmp/sim/provenance.txt" 2>/dev/null || true)"
cat >"$tmp/simtree.sh" <<'EOF'
# shellcheck shell=bash disable=SC2034
NAME=rt-simtree
TOPOLOGY=(tree --racks 2 --per-rack 4 --rate 1gbit --uplink-rate 400mbit)
WORKERS=(8)
SCHEMES=("--sync bsp")
EOF
tree_line=$("$runner" "$tmp/simtree.sh" --sim --dry-run 2>&1 | grep -m1 '^gradwire sim' || true)
check "sim: a tree's uplink is its oversubscription" \
  "$([[ $tree_line == *"tree:racks=2,oversub=10,rate=1Gbps,latency=10us"* ]] && echo 0 || echo 1)" "$tree_line"
sed 's/^TOPOLOGY=.*/TOPOLOGY=(star --rate 1gbit --slow-workers 1,2 --slow-rate 100mbit)/' "$tmp/tiny.sh" >"$tmp/simhetero.sh"
hetero_line=$("$runner" "$tmp/simhetero.sh" --sim --dry-run 2>&1 | grep -m1 '^gradwire sim' || true)
check "sim: slow workers keep their slow links" \
  "$([[ $hetero_line == *"star:rate=1Gbps,latency=10us,slow=1+2,slow_rate=100Mbps"* ]] && echo 0 || echo 1)" "$hetero_line"
sed 's/^TOPOLOGY=.*/TOPOLOGY=(star --rate 1gbit --worker-rate 100mbit)/' "$tmp/tiny.sh" >"$tmp/simslow.sh"
rc=0
"$runner" "$tmp/simslow.sh" --sim --dry-run >/dev/null 2>"$tmp/simslow.err" || rc=$?
check "sim: a fabric it cannot simulate is refused" \
  "$([[ $rc == 2 ]] && grep -q 'no simulated counterpart' "$tmp/simslow.err" && echo 0 || echo 1)" "exit $rc"
# Emulated cells made up around the simulated values: BSP at sim/1.05 (within 10 %, CI 1 %),
# ASP at sim/1.5 with a CI of 20 % of its mean (outside, and noise-bound).
mkdir -p "$tmp/emu"
csv_awk 'BEGIN { OFS = ","; print "delay_ms,workers,grad_bytes,scheme,label,n,iteration_s,iteration_s_sd,iteration_s_ci95,round_s" }
  { f = col("label") == "BSP" ? 1.05 : 1.5; ci = col("label") == "BSP" ? 0.01 : 0.2
    v = col("iteration_s") / f
    print col("delay_ms"), col("workers"), col("grad_bytes"), col("scheme"), col("label"), 3, v, "", v * ci, "" }' \
  "$tmp/sim/cells.csv" >"$tmp/emu/cells.csv" 2>/dev/null || true
if validation=$("$here/sim_validation.sh" "$tmp/val" "$tmp/emu" "$tmp/sim" 2>&1); then
  got=$(csv_awk '{ printf "%s%s:%.2f/%d/%d", sep, col("label"), col("ratio"), col("within"), col("noise_bound"); sep = " " }' "$tmp/val/table.csv")
  check "sim_validation: ratio, within 10 %, noise-bound" \
    "$([[ $got == "BSP:1.05/1/0 ASP:1.50/0/1" ]] && is_png "$tmp/val/validation.png" && echo 0 || echo 1)" "$got"
else
  check "sim_validation: ratio, within 10 %, noise-bound" 1 "$validation"
fi

echo "runner_test.sh: $passes passed, $fails failed"
((fails == 0))
