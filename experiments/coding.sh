#!/usr/bin/env bash
# `make coding`: coded computation against stragglers, measured on the running system beside
# the straggler model's prediction. For each straggler rate mu and worker count n, runs
# uncoded, replication (r=2), MDS (the k the closed form says is best), gradient coding
# (cyclic, s=1) and multi-message (r=2) as real jobs (1 server + n worker processes over
# loopback TCP, linear regression), with delays drawn from Lee et al.'s shifted exponential
# (a 1/n share of the job takes base = UNIT/n seconds, then an Exp(mu) tail scaled the same).
# Beside each measured mean round time: the closed form (where the papers have one), a Monte
# Carlo of the model, and the model on the very draws the job used.
#
# Writes results/coding/: coding.csv, rounds.png, speedup.png, README.md, runs/ (each job's
# CSVs). Usage: experiments/coding.sh PATH/TO/gradwire [OUT]
# Environment: NS="4 8 12 16" MUS="0.1 1 10" ROUNDS=100 UNIT=0.32 (seconds; smaller mu gets a
# proportionally smaller unit so every job stays short); KEEP_RUNS=1 keeps every worker's CSV
# (by default each run keeps rounds.csv, summary.csv, server-0.csv, command.txt and its log);
# PLOT_ONLY=1 redraws the plots and README from an existing coding.csv.
set -euo pipefail
gradwire=${1:?usage: experiments/coding.sh PATH/TO/gradwire [OUT]}
gradwire=$(realpath "$gradwire")
cd "$(dirname "$0")/.."
out=${2:-results/coding}
ns=${NS:-4 8 12 16}
mus=${MUS:-0.1 1 10}
rounds=${ROUNDS:-100}
unit0=${UNIT:-0.32}
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
command -v gnuplot >/dev/null || { echo "coding.sh: gnuplot missing (make deps)" >&2; exit 1; }
mkdir -p "$out/runs"
csv="$out/coding.csv"
if [[ -z ${PLOT_ONLY:-} ]]; then
echo "mu,workers,scheme,rounds,measured_s,measured_se_s,same_draws_s,closed_form_s,monte_carlo_s,measured_over_model" >"$csv"

# Mean and standard error of duration_s over rounds 1.. (round 0 includes start-up).
round_stats() {
  csv_awk 'col("round") >= 1 { d = col("duration_s"); s += d; q += d * d; n++ }
    END { m = s / n; v = (q - s * m) / (n - 1); if (v < 0) v = 0; printf "%.9g,%.9g\n", m, sqrt(v / n) }' "$1"
}

# The model's column for one scheme from `gradwire model` output.
model_field() {  # csv scheme column-name
  csv_awk -v s="$2" -v c="$3" 'col("scheme") == s { print col(c) }' "$1"
}

total=0
for mu in $mus; do for n in $ns; do total=$((total + 5)); done; done
done_runs=0
started=$(date +%s)
for mu in $mus; do
  unit=$(awk -v u="$unit0" -v m="$mu" 'BEGIN { print (m < 1 ? u * m : u) }')
  for n in $ns; do
    base=$(awk -v u="$unit" -v n="$n" 'BEGIN { printf "%.9g", u / n }')
    straggler="shifted-exp:mu=$mu,base=$base"
    model="$out/runs/model-mu$mu-n$n.csv"
    "$gradwire" model --num-workers "$n" --straggler "$straggler" --coding mds --trials 4000 >"$model"
    best_k=$(csv_awk 'best == "" || col("closed_form_s") < best { best = col("closed_form_s"); k = col("scheme") }
      END { sub("mds:k=", "", k); print k }' "$model")
    schemes="uncoded replication:r=2 mds:k=$best_k gc-cr:s=1 mm:r=2"
    "$gradwire" model --num-workers "$n" --straggler "$straggler" --coding "${schemes// /,}" \
      --rounds "$rounds" --trials 20000 >"$model"
    for scheme in $schemes; do
      done_runs=$((done_runs + 1))
      run="$out/runs/mu$mu-n$n-${scheme//[:=]/-}"
      iterations=$rounds
      [[ $scheme == mds* ]] && iterations=$((rounds / 2))
      printf 'coding.sh: [%d/%d, %ds] mu=%s n=%s %s\n' "$done_runs" "$total" \
        $(($(date +%s) - started)) "$mu" "$n" "$scheme" >&2
      "$gradwire" run --num-workers "$n" --workload linreg --batch 8192 --lr 0.5 --momentum 0 \
        --iterations "$iterations" --coding "$scheme" --straggler "$straggler" \
        --log-level warn --out "$run" >"$run.log" 2>&1 ||
        { echo "coding.sh: run failed, see $run.log" >&2; exit 1; }
      stats=$(round_stats "$run/rounds.csv")
      same=$(model_field "$model" "$scheme" same_draws_s)
      closed=$(model_field "$model" "$scheme" closed_form_s)
      mc=$(model_field "$model" "$scheme" monte_carlo_s)
      ratio=$(awk -v m="${stats%,*}" -v c="$closed" -v x="$mc" 'BEGIN { r = (c == "nan" ? x : c); printf "%.4f", m / r }')
      echo "$mu,$n,$scheme,$rounds,$stats,$same,$closed,$mc,$ratio" >>"$csv"
      [[ -n ${KEEP_RUNS:-} ]] || rm -f "$run"/worker-*.csv "$run/iterations.csv" "$run"/*.port
    done
  done
done
fi

# Plots: mean round time vs n (measured points, model lines), one panel per mu; speedup over
# uncoded vs n (measured), one panel per mu.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
panels=0
for mu in $mus; do
  panels=$((panels + 1))
  for kind in uncoded replication mds gc-cr mm; do
    csv_awk -v mu="$mu" -v k="$kind" 'col("mu") == mu && index(col("scheme"), k) == 1 {
        print col("workers"), 1e3 * col("measured_s"), 1e3 * col("measured_se_s"), 1e3 * col("monte_carlo_s") }' \
      "$csv" | sort -n >"$tmp/$mu-$kind.dat"
  done
  csv_awk -v mu="$mu" 'col("mu") == mu { n = col("workers"); s = col("scheme"); t[n, s] = col("measured_s")
      if (s == "uncoded") u[n] = col("measured_s"); ns[n] = 1 }
    END { for (n in ns) for (k in t) { split(k, p, SUBSEP); if (p[1] == n && p[2] != "uncoded") {
      kind = p[2]; sub(/:.*/, "", kind); print kind, n, u[n] / t[k] } } }' "$csv" |
    sort -k1,1 -k2,2n >"$tmp/$mu-speedup.dat"
done
gnuplot <<GP
set terminal pngcairo size $((430 * panels)),420 font ",10"
set output "$out/rounds.png"
set multiplot layout 1,$panels title "mean round time: measured (points, ±1 s.e.) vs model (lines, Monte Carlo)"
set grid; set xlabel "workers n"; set ylabel "ms per round"; set key top right font ",8"
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
set multiplot layout 1,$panels title "speedup over uncoded (measured mean round time)"
set ylabel "uncoded / scheme"
$(for mu in $mus; do
  echo "set title 'shifted exponential, mu = $mu'"
  echo -n "plot "
  sep=""
  i=1
  for kind in replication mds gc-cr mm; do
    i=$((i + 1))
    echo -n "$sep'< grep ^$kind $tmp/$mu-speedup.dat' using 2:3 with linespoints pt 7 lc $i title '$kind'"
    sep=", "
  done
  echo ", 1 with lines lc rgb '#888888' dt 2 notitle"
done)
unset multiplot
GP

{
  echo "# results/coding"
  echo
  echo "Made by \`make coding\` (experiments/coding.sh) on $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d):"
  echo "NS=\"$ns\" MUS=\"$mus\" ROUNDS=$rounds UNIT=$unit0. Each row of coding.csv is one job:"
  echo
  echo '```'
  echo "gradwire run --num-workers N --workload linreg --batch 8192 --lr 0.5 --momentum 0 \\"
  echo "  --iterations ROUNDS (mds: ROUNDS/2) --coding SCHEME --straggler shifted-exp:mu=MU,base=UNIT/N"
  echo '```'
  echo
  echo "and \`gradwire model\` for the model columns (runs/model-*.csv). measured_s is the mean"
  echo "server-side round time (rounds.csv, round 0 left out); same_draws_s is the model on the"
  echo "very delays that job drew; measured_over_model divides by the closed form (or, for mm,"
  echo "by the Monte Carlo). Plots: rounds.png, speedup.png."
  echo
  echo "| mu | n | scheme | measured ms | model, same draws ms | closed form ms | Monte Carlo ms | measured / model |"
  echo "|---|---|---|---|---|---|---|---|"
  csv_awk '{ closed = col("closed_form_s")
    printf "| %s | %s | %s | %.2f ± %.2f | %.2f | %s | %.2f | %s |\n", col("mu"), col("workers"), col("scheme"),
      1e3 * col("measured_s"), 1e3 * col("measured_se_s"), 1e3 * col("same_draws_s"),
      (closed == "nan" ? "–" : sprintf("%.2f", 1e3 * closed)), 1e3 * col("monte_carlo_s"), col("measured_over_model") }' "$csv"
  echo
  echo "What agrees with the model, what does not, and why: FINDINGS.md (written by hand from"
  echo "these numbers)."
} >"$out/README.md"
worst=$(csv_awk '{ d = col("measured_over_model") - 1; if (d < 0) d = -d
    if (d > w) { w = d; r = col("mu") " n=" col("workers") " " col("scheme") } }
  END { printf "%.1f%% (%s)", 100 * w, r }' "$csv")
echo "coding.sh: done in $(($(date +%s) - ${started:-$(date +%s)})) s; largest measured/model gap $worst; $out/README.md"
