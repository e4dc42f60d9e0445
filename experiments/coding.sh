#!/usr/bin/env bash
# `make coding`: coded computation against stragglers, measured on the running system beside
# the straggler model's prediction. For each straggler rate mu and worker count n, runs
# uncoded, replication (r=2), MDS (the k the closed form says is best), gradient coding
# (cyclic, s=1) and multi-message (r=2) as real jobs (1 server + n worker processes over
# loopback TCP, linear regression), with delays drawn from Lee et al.'s shifted exponential
# (a 1/n share of the job takes base = UNIT/n seconds, then an Exp(mu) tail scaled the same).
# Beside each measured mean round time: the closed form (where the papers have one), a Monte
# Carlo of the model, and the model on the very draws the job used. With --sim each job is
# simulated instead (`gradwire sim`: the same server and worker code as SimGrid actors in one
# process, on the default star fabric, in simulated time): the emulated compute (the model's
# shift and tail) becomes simulated sleeps and the real CPU time of linreg takes no simulated
# time, so what remains beside the model is the simulated network's share of a round. Every job runs REPS times,
# repetition R with its own draws (seed=R in the --straggler spec, the same R for every scheme);
# coding.csv gives the mean over repetitions and its 95 % confidence interval.
#
# Writes into OUT: coding.csv (one row per mu, n, scheme), coding-reps.csv (one row per job),
# rounds.png, speedup.png, README.md (the command, commit, binary, date, machine),
# provenance.txt, runs/ (each job's CSVs).
#
# Usage: experiments/coding.sh PATH/TO/gradwire [OPTIONS]
# Options (each defaults to its environment variable, then to the value shown):
#   --ns "N ..."      worker counts (NS, "4 8 12 16")
#   --mus "MU ..."    straggler rates of the shifted exponential (MUS, "0.1 1 10")
#   --rounds N        rounds per job; MDS runs N/2 iterations of two rounds (ROUNDS, 100)
#   --unit S          seconds of the whole job's compute at factor 1 (UNIT, 0.32; a mu < 1
#                     gets unit x mu, so every job stays short)
#   --reps N          repetitions of every job (REPS, 5; ~20 min each with the defaults). The
#                     CI is Student t over repetitions; with one, the rounds' 95 % interval
#   --sim             simulate each job with `gradwire sim` on its default star topology (1 Gbit/s,
#                     50 us per link) instead of running processes over loopback (SIM=1). The
#                     CSVs, plots and README keep their form; provenance and README say simulated
#   --keep-runs       keep every worker's CSV (KEEP_RUNS=1; by default each run keeps
#                     rounds.csv, summary.csv, server-0.csv, command.txt and its log)
#   --out DIR         where results go (default results/runs/coding-<UTC date-time>, which git
#                     ignores; to replace the committed results give --out results/coding)
#   --plot-only       redraw the plots and README from OUT/coding.csv (needs --out; PLOT_ONLY=1);
#                     the mus, ns and rounds are then coding.csv's, and the README keeps the
#                     measurement's provenance (provenance.txt) beside the redraw's
#   --dry-run         print the provenance and every job; start and write nothing
#   -h, --help        this text
# Exit 2: bad usage.
set -euo pipefail
name=coding
usage_line="usage: experiments/coding.sh PATH/TO/gradwire [--ns \"N ...\"] [--mus \"MU ...\"] [--rounds N] [--unit S] [--reps N] [--sim] [--keep-runs] [--out DIR] [--plot-only | --dry-run]   (--help lists them)"
bad_usage() { echo "coding.sh: $*" >&2; echo "$usage_line" >&2; exit 2; }
# The command as given, with the knobs set in the environment before it (its defaults).
knobs=(NS MUS ROUNDS UNIT REPS SIM KEEP_RUNS PLOT_ONLY)
command_line=""
for k in "${knobs[@]}"; do [[ -z ${!k:-} ]] || command_line+="$k=$(printf %q "${!k}") "; done
command_line+=$(printf '%q ' "$0" "$@")
command_line=${command_line% }

ns=${NS:-4 8 12 16} mus=${MUS:-0.1 1 10} rounds=${ROUNDS:-100} unit0=${UNIT:-0.32} reps=${REPS:-5}
sim=${SIM:-} keep_runs=${KEEP_RUNS:-} plot_only=${PLOT_ONLY:-} out="" out_given="" dry_run="" gradwire=""
while (($#)); do
  opt=$1 val="" inline=""
  [[ $1 == --*=* ]] && opt=${1%%=*} val=${1#*=} inline=1
  case $opt in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --dry-run | --plot-only | --keep-runs | --sim)
      [[ -z $inline ]] || bad_usage "$opt takes no value"
      case $opt in
        --dry-run) dry_run=1 ;; --plot-only) plot_only=1 ;; --keep-runs) keep_runs=1 ;; --sim) sim=1 ;;
      esac ;;
    --ns | --mus | --rounds | --unit | --reps | --out)
      if [[ -z $inline ]]; then
        [[ $# -ge 2 ]] || bad_usage "$opt needs a value"
        val=$2
        shift
      fi
      [[ -n $val ]] || bad_usage "$opt needs a value"
      case $opt in
        --ns) ns=$val ;; --mus) mus=$val ;; --rounds) rounds=$val ;; --unit) unit0=$val ;; --reps) reps=$val ;;
        --out) out=$val out_given=1 ;;
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
[[ -z $plot_only || -n $out_given ]] || bad_usage "--plot-only needs --out DIR (the results to redraw)"
[[ -z $plot_only || -z $sim ]] || bad_usage "--plot-only takes simulated or not from OUT/provenance.txt: no --sim"
for n in $ns; do
  if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n % 2)); then
    bad_usage "--ns wants even worker counts (replication:r=2 needs 2 | n), not '$n'"
  fi
done
for mu in $mus; do [[ $mu =~ ^[0-9]*\.?[0-9]+$ ]] || bad_usage "--mus wants positive numbers, not '$mu'"; done
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]] || ((rounds < 4)); then
  bad_usage "--rounds wants an integer >= 4, not '$rounds'"
fi
[[ $unit0 =~ ^[0-9]*\.?[0-9]+$ ]] || bad_usage "--unit wants seconds, not '$unit0'"
[[ $reps =~ ^[1-9][0-9]*$ ]] || bad_usage "--reps wants a positive integer, not '$reps'"
[[ -e $gradwire ]] && gradwire=$(realpath "$gradwire")
out=${out:-results/runs/$name-$(date -u +%Y%m%dT%H%M%SZ)}
out=$(realpath -m "$out")  # relative to where it was given, before the cd
cd "$(dirname "$0")/.."
repo=$PWD
shown() { [[ $1 == "$repo"/* ]] && echo "${1#"$repo"/}" || echo "$1"; }
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
# shellcheck source=experiments/lib/provenance.sh
source experiments/lib/provenance.sh
# shellcheck source=experiments/lib/raw_runs.sh
source experiments/lib/raw_runs.sh
# shellcheck source=experiments/lib/stats.sh
source experiments/lib/stats.sh
commit=$(code_commit)
binary=$(binary_text "$gradwire" "$(shown "$gradwire")")
job_flags="--workload linreg --batch 8192 --lr 0.5 --momentum 0"
# How a job runs: processes over loopback, or (--sim) one simulation on gradwire sim's default
# star, whose rate and latency are those of `gradwire sim --help`.
set_fabric() {
  if [[ -n $sim ]]; then
    run_command="gradwire sim" fabric="simulated (SimGrid star, 1 Gbit/s, 50 us per link)"
  else
    run_command="gradwire run" fabric="over loopback TCP"
  fi
}
set_fabric
provenance() {
  provenance_head "$command_line" "$commit" "$binary"
  echo "settings=ns \"$ns\", mus \"$mus\", rounds $rounds, unit $unit0 s, reps $reps"
  if [[ -n $sim ]]; then
    echo "environment=simulated (SimGrid $(pkg-config --modversion simgrid 2>/dev/null || echo '?')): gradwire sim --topology star (1Gbps, 50us one-way per link), 1 server + n worker actors in one process"
  else
    echo "environment=real: gradwire run, 1 server + n worker processes over loopback TCP"
  fi
}
if [[ -n $dry_run ]]; then
  provenance
  echo "out=$(shown "$out")"
  for mu in $mus; do
    unit=$(awk -v u="$unit0" -v m="$mu" 'BEGIN { print (m < 1 ? u * m : u) }')
    for n in $ns; do
      base=$(awk -v u="$unit" -v n="$n" 'BEGIN { printf "%.9g", u / n }')
      for ((r = 1; r <= reps; r++)); do
        for scheme in uncoded replication:r=2 "mds:k=<best by gradwire model>" gc-cr:s=1 mm:r=2; do
          iterations=$rounds
          [[ $scheme == mds* ]] && iterations=$((rounds / 2))
          echo "job: $run_command --num-workers $n $job_flags --iterations $iterations --coding $scheme --straggler shifted-exp:mu=$mu,base=$base,seed=$r"
        done
      done
    done
  done
  exit 0
fi
command -v gnuplot >/dev/null || { echo "coding.sh: gnuplot missing (make deps)" >&2; exit 1; }
csv="$out/coding.csv"
reps_csv="$out/coding-reps.csv"
if [[ -n $plot_only ]]; then
  [[ -f $csv ]] || { echo "coding.sh: --plot-only: no $(shown "$csv")" >&2; exit 1; }
  # What the measurement covered, from its rows (in their order).
  mus=$(csv_awk '!(col("mu") in s) { s[col("mu")] = 1; printf "%s ", col("mu") }' "$csv")
  ns=$(csv_awk '!(col("workers") in s) { s[col("workers")] = 1; printf "%s ", col("workers") }' "$csv")
  rounds=$(csv_awk '{ print col("rounds"); exit }' "$csv")
  mus=${mus% } ns=${ns% }
  # Simulated or not: as the measurement's provenance says.
  sed -n 's/^environment=//p' "$out/provenance.txt" 2>/dev/null | grep -q '^simulated' && sim=1
  set_fabric
else
[[ -x $gradwire ]] || { echo "coding.sh: no gradwire binary at $gradwire" >&2; exit 1; }
if [[ -d $out && -n $(ls -A "$out") && ! -f $out/provenance.txt && ! -f $csv ]]; then
  echo "coding.sh: $(shown "$out") holds files but no coding.sh output: pick another --out" >&2
  exit 2
fi
rm -rf "$out/runs"
mkdir -p "$out/runs"
provenance >"$out/provenance.txt"
echo "mu,workers,scheme,rounds,measured_s,measured_se_s,same_draws_s,closed_form_s,monte_carlo_s,measured_over_model,reps,measured_ci95_s" >"$csv"
echo "mu,workers,scheme,rep,rounds,measured_s,measured_se_s,same_draws_s" >"$reps_csv"

# Mean and standard error of duration_s over rounds 1.. (round 0 includes start-up).
round_stats() {
  csv_awk 'col("round") >= 1 { d = col("duration_s"); s += d; q += d * d; n++ }
    END { m = s / n; v = (q - s * m) / (n - 1); if (v < 0) v = 0; printf "%.9g,%.9g\n", m, sqrt(v / n) }' "$1"
}

# The model's column for one scheme from `gradwire model` output.
model_field() {  # csv scheme column-name
  csv_awk -v s="$2" -v c="$3" 'col("scheme") == s { print col(c) }' "$1"
}

# One row of coding.csv from the repetitions' rows of coding-reps.csv: the mean of their mean
# round times, its standard error and 95 % CI over repetitions (Student t), or with one
# repetition the rounds' standard error and 1.960 of it; the model beside it.
aggregate_row() {  # mu n scheme closed_form monte_carlo
  csv_awk -v mu="$1" -v n="$2" -v s="$3" -v closed="$4" -v mc="$5" -v rounds="$rounds" -v tq="$T95_TABLE" '
    col("mu") == mu && col("workers") == n && col("scheme") == s {
      m = col("measured_s"); sum += m; sq += m * m; k++; se1 = col("measured_se_s"); same += col("same_draws_s") }
    END { mean = sum / k
      if (k > 1) { v = (sq - sum * mean) / (k - 1); if (v < 0) v = 0; se = sqrt(v / k)
        split(tq, t, " "); ci = (k - 1 <= 30 ? t[k - 1] : 1.960) * se }
      else { se = se1; ci = 1.960 * se1 }
      r = (closed == "" || closed == "nan" ? mc : closed)
      printf "%s,%s,%s,%s,%.9g,%.9g,%.9g,%s,%s,%.4f,%d,%.9g\n", mu, n, s, rounds, mean, se, same / k, closed, mc, mean / r, k, ci }' \
    "$reps_csv"
}

total=0
for mu in $mus; do for n in $ns; do total=$((total + 5 * reps)); done; done
done_runs=0
started=$(date +%s)
for mu in $mus; do
  unit=$(awk -v u="$unit0" -v m="$mu" 'BEGIN { print (m < 1 ? u * m : u) }')
  for n in $ns; do
    base=$(awk -v u="$unit" -v n="$n" 'BEGIN { printf "%.9g", u / n }')
    best="$out/runs/model-mu$mu-n$n-mds.csv"
    "$gradwire" model --num-workers "$n" --straggler "shifted-exp:mu=$mu,base=$base" --coding mds --trials 4000 >"$best"
    best_k=$(csv_awk 'best == "" || col("closed_form_s") < best { best = col("closed_form_s"); k = col("scheme") }
      END { sub("mds:k=", "", k); print k }' "$best")
    schemes="uncoded replication:r=2 mds:k=$best_k gc-cr:s=1 mm:r=2"
    for ((r = 1; r <= reps; r++)); do
      straggler="shifted-exp:mu=$mu,base=$base,seed=$r"
      model="$out/runs/model-mu$mu-n$n-seed$r.csv"
      "$gradwire" model --num-workers "$n" --straggler "$straggler" --coding "${schemes// /,}" \
        --rounds "$rounds" --trials 20000 >"$model"
      for scheme in $schemes; do
        done_runs=$((done_runs + 1))
        run="$out/runs/mu$mu-n$n-${scheme//[:=]/-}-seed$r"
        iterations=$rounds
        [[ $scheme == mds* ]] && iterations=$((rounds / 2))
        elapsed=$(($(date +%s) - started))
        eta=""
        ((done_runs == 1)) || eta=", ETA $((elapsed * (total - done_runs + 1) / (done_runs - 1))) s"
        printf 'coding.sh: [%d/%d, %ds%s] mu=%s n=%s %s, repetition %d/%d\n' "$done_runs" "$total" \
          "$elapsed" "$eta" "$mu" "$n" "$scheme" "$r" "$reps" >&2
        if [[ -n $sim ]]; then
          # In the job's folder: its command.txt says --out ., no path of this machine.
          mkdir -p "$run"
          # shellcheck disable=SC2086  # job_flags is a list of flags
          (cd "$run" && "$gradwire" sim --out . --num-workers "$n" $job_flags \
            --iterations "$iterations" --coding "$scheme" --straggler "$straggler" \
            --log-level warn) >"$run.log" 2>&1 ||
            { echo "coding.sh: simulation failed, see $run.log" >&2; exit 1; }
        else
          # shellcheck disable=SC2086  # job_flags is a list of flags
          "$gradwire" run --num-workers "$n" $job_flags \
            --iterations "$iterations" --coding "$scheme" --straggler "$straggler" \
            --log-level warn --out "$run" >"$run.log" 2>&1 ||
            { echo "coding.sh: run failed, see $run.log" >&2; exit 1; }
        fi
        echo "$mu,$n,$scheme,$r,$rounds,$(round_stats "$run/rounds.csv"),$(model_field "$model" "$scheme" same_draws_s)" >>"$reps_csv"
        [[ -n $keep_runs ]] || rm -f "$run"/worker-*.csv "$run/iterations.csv" "$run"/*.port
      done
    done
    # The closed form and the Monte Carlo do not depend on the draws' seed.
    model="$out/runs/model-mu$mu-n$n-seed1.csv"
    for scheme in $schemes; do
      aggregate_row "$mu" "$n" "$scheme" "$(model_field "$model" "$scheme" closed_form_s)" \
        "$(model_field "$model" "$scheme" monte_carlo_s)" >>"$csv"
    done
  done
done
fi

# Plots: mean round time vs n (measured points, model lines), one panel per mu; speedup over
# uncoded vs n (measured), one panel per mu. Error bars: the 95 % CI; a coding.csv from before
# repetitions has only the standard error over one job's rounds, and its bars say so.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if head -1 "$csv" | tr , '\n' | grep -qx measured_ci95_s; then
  bar_column=measured_ci95_s bar_text="95 % CI over repetitions"
else
  bar_column=measured_se_s bar_text="±1 s.e. over one job's rounds"
fi
reps_text=$(csv_awk '{ print (has("reps") ? col("reps") : 1); exit }' "$csv")
panels=0
for mu in $mus; do
  panels=$((panels + 1))
  for kind in uncoded replication mds gc-cr mm; do
    csv_awk -v mu="$mu" -v k="$kind" -v bar="$bar_column" 'col("mu") == mu && index(col("scheme"), k) == 1 {
        print col("workers"), 1e3 * col("measured_s"), 1e3 * col(bar), 1e3 * col("monte_carlo_s") }' \
      "$csv" | sort -n >"$tmp/$mu-$kind.dat"
  done
  # The speedup's interval from both means' (first order: relative errors add in quadrature).
  csv_awk -v mu="$mu" -v bar="$bar_column" 'col("mu") == mu { n = col("workers"); s = col("scheme")
      t[n, s] = col("measured_s"); e[n, s] = col(bar)
      if (s == "uncoded") { u[n] = col("measured_s"); ue[n] = col(bar) }; ns[n] = 1 }
    END { for (n in ns) for (k in t) { split(k, p, SUBSEP); if (p[1] == n && p[2] != "uncoded") {
      kind = p[2]; sub(/:.*/, "", kind); r = u[n] / t[k]
      print kind, n, r, r * sqrt((ue[n] / u[n]) ^ 2 + (e[k] / t[k]) ^ 2) } } }' "$csv" |
    sort -k1,1 -k2,2n >"$tmp/$mu-speedup.dat"
done
gnuplot <<GP
set terminal pngcairo size $((430 * panels)),480 font ",10"
set output "$out/rounds.png"
set multiplot layout 1,$panels title "mean round time: measured (points, $bar_text) vs model (lines, Monte Carlo)\nlinreg, batch 8192, $rounds rounds per job, $reps_text repetition(s), 1 server + n workers $fabric"
set grid; set xlabel "workers n"; set ylabel "ms per round"
set key outside below horizontal font ",8" samplen 2; set bmargin 6; set offsets graph 0.03, graph 0.03, 0, 0
$(for mu in $mus; do
  echo "set title 'shifted exponential, mu = $mu'"
  echo -n "plot "
  sep=""
  i=0
  for kind in uncoded replication mds gc-cr mm; do
    i=$((i + 1))
    echo -n "$sep'$tmp/$mu-$kind.dat' using 1:2:3 with yerrorbars pt 7 ps 0.6 lc $i title '$kind', '' using 1:4 with lines lc $i dt 2 notitle"
    sep=", "
  done
  echo
done)
unset multiplot
set output "$out/speedup.png"
set multiplot layout 1,$panels title "speedup over uncoded (measured mean round time, $bar_text)\nlinreg, batch 8192, $rounds rounds per job, $reps_text repetition(s), 1 server + n workers $fabric"
set ylabel "uncoded / scheme"
$(for mu in $mus; do
  echo "set title 'shifted exponential, mu = $mu'"
  echo -n "plot "
  sep=""
  i=1
  for kind in replication mds gc-cr mm; do
    i=$((i + 1))
    echo -n "$sep'< grep ^$kind $tmp/$mu-speedup.dat' using 2:3:4 with yerrorlines pt 7 lc $i title '$kind'"
    sep=", "
  done
  echo ", 1 with lines lc rgb '#888888' dt 2 notitle"
done)
unset multiplot
GP

prov() {  # key -> the measurement's provenance value
  local v
  v=$(sed -n "s/^$1=//p" "$out/provenance.txt" 2>/dev/null | head -1)
  echo "${v:-not recorded}"
}
{
  echo "# Coded computation against stragglers: n = ${ns// /, }; mu = ${mus// /, }"
  echo
  if [[ -f $out/provenance.txt ]]; then
    echo "$([[ -n $sim ]] && echo Simulated || echo Measured) by \`$(prov command)\` at commit $(prov commit) on $(prov date),"
    echo "$(prov machine); binary $(prov gradwire). Settings: $(prov settings)."
    [[ -z $sim ]] || echo "Environment: $(prov environment). Every time below is simulated time."
  else
    echo "Measured by an earlier coding.sh that recorded no provenance: its command, commit and"
    echo "date are in the README.md of the commit that last changed coding.csv (\`git log -- $(shown "$csv")\`)."
  fi
  if [[ -n $plot_only ]]; then
    echo "Plots and this README redrawn from coding.csv by \`$command_line\` at commit $commit on"
    echo "$(date -u +%Y-%m-%dT%H:%MZ)."
  fi
  echo
  unit_text="$unit0 s"
  [[ -z $plot_only ]] || unit_text=$(prov settings | sed -n 's/.*unit \([^ ]*\) s$/\1 s/p')
  echo "Each row of coding.csv is $reps_text repetition(s) of one job (UNIT: ${unit_text:-the --unit given then, default 0.32 s}, times mu when mu < 1;"
  echo "repetition R draws its delays with seed=R; coding-reps.csv, where present, has every job):"
  echo
  echo '```'
  echo "$run_command --num-workers N $job_flags \\"
  echo "  --iterations $rounds (mds: $((rounds / 2))) --coding SCHEME --straggler shifted-exp:mu=MU,base=UNIT/N,seed=R"
  echo '```'
  echo
  echo "and \`gradwire model\` for the model columns (runs/model-*.csv). measured_s is the mean"
  echo "server-side round time (rounds.csv, round 0 left out), averaged over repetitions; ± is the"
  echo "$bar_text. same_draws_s is the model on the very delays those jobs drew;"
  echo "measured_over_model divides by the closed form (or, for mm, by the Monte Carlo). Plots:"
  echo "rounds.png, speedup.png."
  echo
  echo "| mu | n | scheme | measured ms | model, same draws ms | closed form ms | Monte Carlo ms | measured / model |"
  echo "|---|---|---|---|---|---|---|---|"
  csv_awk -v bar="$bar_column" '{ closed = col("closed_form_s")
    printf "| %s | %s | %s | %.2f ± %.2f | %.2f | %s | %.2f | %s |\n", col("mu"), col("workers"), col("scheme"),
      1e3 * col("measured_s"), 1e3 * col(bar), 1e3 * col("same_draws_s"),
      (closed == "" || closed == "nan" ? "–" : sprintf("%.2f", 1e3 * closed)), 1e3 * col("monte_carlo_s"), col("measured_over_model") }' "$csv"
  echo
  if [[ -f $out/FINDINGS.md ]]; then
    echo "What agrees with the model, what does not, and why: FINDINGS.md (written by hand from"
    echo "these numbers)."
  fi
} >"$out/README.md"
worst=$(csv_awk '{ d = col("measured_over_model") - 1; if (d < 0) d = -d
    if (d > w) { w = d; r = col("mu") " n=" col("workers") " " col("scheme") } }
  END { printf "%.1f%% (%s)", 100 * w, r }' "$csv")
echo "coding.sh: done in $(($(date +%s) - ${started:-$(date +%s)})) s; largest measured/model gap $worst; $(shown "$out")/README.md"
raw_runs_pack_committed "$out"
