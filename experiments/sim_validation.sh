#!/usr/bin/env bash
# Simulated against emulated, cell by cell (issue 18): each emulated result (a runner.sh output
# over network namespaces, cells.csv with repetitions and 95 % CIs) beside the same spec run
# with `runner.sh --sim`; or a DNN-traffic result (dnn_traffic.sh: summary.csv and runs.csv, a
# cell per model x sync x scheme) beside the same command run with --sim. Writes into OUT:
#   table.csv       one row per cell: the emulated mean, its CI half-width and repetitions, the
#                   simulated value, their ratio; noise_bound=1 where the emulated CI is wider
#                   than 10 % of its mean (a 10 % comparison cannot be decided there), within=1
#                   where the simulated value is within 10 % of the emulated mean
#   validation.png  simulated against emulated (log-log), emulated CIs as error bars, the
#                   diagonal and the 10 % band
#   README.md       the command, commit, each pair's provenance, the counts and every miss
#   provenance.txt  command, commit, date, machine (key=value, as runner.sh writes them)
# The metric is the spec's: round_s where the emulated cells have it (coded jobs), else
# iteration_s. A DNN-traffic cell's CI is its samples/s CI, as a fraction of the mean, applied
# to its iteration (samples/s is workers x batch over it); its gradient column is empty (the
# label names the model).
# Usage: experiments/sim_validation.sh OUT EMULATED SIMULATED [EMULATED SIMULATED]...
set -euo pipefail
usage="usage: experiments/sim_validation.sh OUT EMULATED_DIR SIMULATED_DIR [EMULATED_DIR SIMULATED_DIR]..."
(($# >= 3 && ($# - 1) % 2 == 0)) || { echo "$usage" >&2; exit 2; }
out=$(realpath -m "$1")
shift
pairs=("$@")
cd "$(dirname "$0")/.."
# The command as it runs from the repository root (paths inside it made relative).
rel() { realpath -m --relative-to=. "$1"; }
command="experiments/sim_validation.sh $(rel "$out")"
for d in "${pairs[@]}"; do command+=" $(rel "$d")"; done
# shellcheck source=experiments/lib/csv.sh
source experiments/lib/csv.sh
# shellcheck source=experiments/lib/provenance.sh
source experiments/lib/provenance.sh
command -v gnuplot >/dev/null || { echo "sim_validation.sh: gnuplot missing (make deps)" >&2; exit 1; }
# What a result folder is: runner.sh's (cells.csv) or dnn_traffic.sh's (summary.csv, runs.csv).
kind_of() {
  if [[ -f $1/cells.csv ]]; then
    echo runner
  elif [[ -f $1/summary.csv && -f $1/runs.csv ]]; then
    echo dnn
  fi
}
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  for d in "${pairs[i]}" "${pairs[i + 1]}"; do
    [[ -n $(kind_of "$d") ]] ||
      { echo "sim_validation.sh: $d has neither cells.csv (runner.sh) nor summary.csv and runs.csv (dnn_traffic.sh)" >&2; exit 2; }
  done
  [[ $(kind_of "${pairs[i]}") == "$(kind_of "${pairs[i + 1]}")" ]] ||
    { echo "sim_validation.sh: ${pairs[i]} and ${pairs[i + 1]} are not outputs of the same script" >&2; exit 2; }
done
# Before anything here is written: rewriting a committed output must not make the tree look dirty.
commit=$(code_commit)
mkdir -p "$out"
{
  echo "command=$command"
  echo "commit=$commit"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine=$(nproc) cores, kernel $(uname -r)"
} >"$out/provenance.txt"
table=$out/table.csv
echo "spec,delay_ms,workers,grad_bytes,label,metric,emulated,emulated_ci95,reps,simulated,ratio,noise_bound,within" >"$table"
# A cell's table columns from its emulated mean e, CI half-width ci ("" if none), repetitions
# n and simulated value s: e, ci, n, s, ratio, noise_bound, within (the same for both kinds).
# shellcheck disable=SC2016  # awk code, not shell
verdict='function verdict(e, ci, n, s,   noise, within) {
  noise = ci != "" && ci + 0 > 0.1 * e
  within = e > 0 && s / e >= 0.9 && s / e <= 1.1
  return sprintf("%.6f,%s,%s,%.6f,%.4f,%d,%d", e, ci, n, s, (e > 0 ? s / e : 0), noise, within)
}'
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  emu=${pairs[i]} sim=${pairs[i + 1]}
  spec=$(basename "$emu")
  if [[ $(kind_of "$emu") == dnn ]]; then
    workers=$(csv_awk 'FNR == 2 { print col("workers"); exit }' "$emu/runs.csv")
    csv_awk -v spec="$spec" -v workers="$workers" -v simfile="$sim/summary.csv" "$verdict"'
      function key() { return col("model") SUBSEP col("sync") SUBSEP col("scheme") }
      FILENAME == simfile { simv[key()] = col("iteration_s"); next }
      { k = key()
        if (!(k in simv) || simv[k] == "" || col("iteration_s") == "") next
        e = col("iteration_s") + 0; rate = col("samples_per_s") + 0
        ci = (rate > 0 && col("n") > 1) ? sprintf("%.6f", e * (col("ci95_high") - col("ci95_low")) / 2 / rate) : ""
        printf "%s,0,%s,,%s,iteration_s,%s\n", spec, workers, col("model") " " col("sync") " " col("scheme"),
          verdict(e, ci, col("n"), simv[k] + 0) }
    ' "$sim/summary.csv" "$emu/summary.csv" >>"$table"
    continue
  fi
  # The simulated cells by key, then each emulated cell with its simulated counterpart.
  csv_awk -v spec="$spec" -v simfile="$sim/cells.csv" "$verdict"'
    function key() { return (col("delay_ms") + 0) SUBSEP (col("workers") + 0) SUBSEP (col("grad_bytes") + 0) SUBSEP col("scheme") }
    function metric() { return has("round_s") && col("round_s") != "" ? "round_s" : "iteration_s" }
    FILENAME == simfile { m = metric(); simv[key()] = col(m); next }
    { m = metric(); k = key()
      if (!(k in simv) || simv[k] == "" || col(m) == "") next
      printf "%s,%s,%s,%s,%s,%s,%s\n", spec, col("delay_ms"), col("workers"), col("grad_bytes"),
        col("label"), m, verdict(col(m) + 0, col(m "_ci95"), col("n"), simv[k] + 0) }
  ' "$sim/cells.csv" "$emu/cells.csv" >>"$table"
done
rows=$(($(wc -l <"$table") - 1))
((rows > 0)) || { echo "sim_validation.sh: no cell is in both an emulated and a simulated result" >&2; exit 1; }

# The plot: every cell, one colour per spec.
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
mapfile -t specs < <(csv_awk '{ print col("spec") }' "$table" | awk '!seen[$0]++')
plots=()
k=0
for s in "${specs[@]}"; do
  k=$((k + 1))  # colours repeat after 8: point shapes tell those specs apart
  csv_awk -v s="$s" 'col("spec") == s { ci = col("emulated_ci95"); print col("emulated"), col("simulated"), (ci == "" ? 0 : ci) }' \
    "$table" >"$data/$s.dat"
  plots+=("'$data/$s.dat' using 1:2:(\$1-\$3):(\$1+\$3) with xerrorbars pt $((k % 13 + 1)) ps 0.9 title '$s'")
done
lo=$(csv_awk 'NR == 2 || col("emulated") < m { m = col("emulated") } NR == 2 || col("simulated") < m { m = col("simulated") } END { print m / 1.5 }' "$table")
hi=$(csv_awk '{ if (col("emulated") > m) m = col("emulated"); if (col("simulated") > m) m = col("simulated") } END { print m * 1.5 }' "$table")
{
  echo "set terminal pngcairo size 900,700 font ',10'"
  echo "set output '$out/validation.png'"
  echo "set title 'Simulated (gradwire sim) against emulated (netns), per cell: mean time per iteration or round'"
  echo "set xlabel 'emulated (s), error bars: 95 % CI of the repetitions'"
  echo "set ylabel 'simulated (s)'"
  echo "set logscale xy"
  echo "set xrange [$lo:$hi]"
  echo "set yrange [$lo:$hi]"
  echo "set key bottom right font ',9'"
  echo "set grid"
  printf "plot x with lines lc rgb 'black' title 'simulated = emulated', "
  printf "1.1*x with lines dt 2 lc rgb 'gray' title '+-10 %%', 0.9*x with lines dt 2 lc rgb 'gray' notitle"
  for p in "${plots[@]}"; do printf ", %s" "$p"; done
  echo
} | gnuplot

within=$(csv_awk '{ n += col("within") } END { print n + 0 }' "$table")
noise=$(csv_awk '{ n += col("noise_bound") } END { print n + 0 }' "$table")
decidable_within=$(csv_awk '!col("noise_bound") { n += col("within") } END { print n + 0 }' "$table")
decidable=$((rows - noise))
{
  echo "# Simulated against emulated, per cell"
  echo
  echo "Made by \`$command\` at commit $commit on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores."
  echo "The emulated cells are the committed netns results (repetitions, 95 % CIs); the simulated"
  echo "ones are \`experiments/runner.sh SPEC --sim\` outputs, or for the DNN-traffic specs"
  echo "\`experiments/dnn_traffic.sh ... --sim\` with the emulated folder's flags (one run per cell: a"
  echo "simulation repeats itself), each with its own provenance.txt. A DNN-traffic cell's label is"
  echo "model, sync rule and scheme; its CI is its samples/s CI applied to the iteration."
  echo
  echo "$rows cells; $within within 10 % of the emulated mean. $noise are noise-bound (the emulated"
  echo "95 % CI is wider than 10 % of the mean); of the other $decidable, $decidable_within are within 10 %."
  echo
  echo "| spec | emulated (from) | simulated (from) | cells | within 10 % | noise-bound |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    s=$(basename "${pairs[i]}")
    counts=$(csv_awk -v s="$s" 'col("spec") == s { n++; w += col("within"); z += col("noise_bound") } END { printf "%d | %d | %d", n, w, z }' "$table")
    echo "| $s | $(rel "${pairs[i]}") | $(rel "${pairs[i + 1]}") | $counts |"
  done
  echo
  echo "![simulated against emulated](validation.png)"
  echo
  echo "## Cells outside 10 % (simulated / emulated)"
  echo
  echo "| spec | delay ms | workers | gradient | scheme | metric | emulated | +- CI | simulated | ratio | noise-bound |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  csv_awk '!col("within") { printf "| %s | %s | %s | %s | %s | %s | %.4f | %s | %.4f | %.2f | %s |\n", col("spec"),
      col("delay_ms"), col("workers"), col("grad_bytes"), col("label"), col("metric"), col("emulated"),
      col("emulated_ci95"), col("simulated"), col("ratio"), col("noise_bound") ? "yes" : "no" }' "$table"
} >"$out/README.md"
echo "sim_validation.sh: $rows cells, $within within 10 % ($noise noise-bound); $(rel "$out")/README.md" >&2
