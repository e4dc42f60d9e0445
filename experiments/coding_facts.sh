#!/usr/bin/env bash
# The figures results/coding/FINDINGS.md quotes, from a coding.csv (experiments/coding.sh):
# how many cells are within 6 % and 10 % of the model and the largest gap; the system's own
# cost per round (measured minus the model on the same draws: mean, min, max in ms, and the
# mean per mu); how far
# the same-draws model is from the model at most; and every scheme's speedup over uncoded
# (uncoded's measured round time over the scheme's) per mu and n.
#
# Usage: experiments/coding_facts.sh results/coding/coding.csv
# Exit 2: bad usage or a file without coding.csv's columns.
set -euo pipefail
source "$(dirname "$0")/lib/csv.sh"
[[ $# == 1 ]] || { echo "usage: experiments/coding_facts.sh CODING_CSV" >&2; exit 2; }
[[ -r $1 ]] || { echo "coding_facts.sh: cannot read $1" >&2; exit 2; }
head -1 "$1" | grep -q 'mu,workers,scheme,.*measured_s,.*same_draws_s,closed_form_s,monte_carlo_s,measured_over_model' ||
  { echo "coding_facts.sh: $1 lacks coding.csv's columns" >&2; exit 2; }
csv_awk '
function abs(x) { return x < 0 ? -x : x }
{
  mu = col("mu"); n = col("workers"); s = col("scheme"); kind = s; sub(/:.*/, "", kind)
  m = col("measured_s") + 0; ratio = col("measured_over_model") + 0
  model = col("closed_form_s") != "" ? col("closed_form_s") + 0 : col("monte_carlo_s") + 0
  cells++; within6 += abs(ratio - 1) <= 0.06; within10 += abs(ratio - 1) <= 0.10
  if (abs(ratio - 1) > abs(worst - 1) || cells == 1) { worst = ratio; worst_cell = "mu " mu ", n " n ", " s }
  cost = 1000 * (m - col("same_draws_s")); cost_sum += cost; mu_cost[mu] += cost; mu_cells[mu]++
  if (cells == 1 || cost < cost_min) cost_min = cost
  if (cells == 1 || cost > cost_max) cost_max = cost
  d = abs(col("same_draws_s") / model - 1); if (d > same_dev) same_dev = d
  time[mu, n, kind] = m; name[mu, n, kind] = s
  if (!((mu) in seen_mu)) { seen_mu[mu] = 1; mus[++nmu] = mu }
  if (!((n) in seen_n)) { seen_n[n] = 1; ns[++nn] = n }
  if (kind != "uncoded" && !((kind) in seen_k)) { seen_k[kind] = 1; kinds[++nk] = kind }
}
END {
  printf "cells %d: %d within 6 %% of the model, %d within 10 %%; largest gap %.1f %% (%s)\n",
    cells, within6, within10, 100 * (worst - 1), worst_cell
  printf "system cost per round (measured - same draws): mean %.2f ms, %.2f-%.2f ms\n",
    cost_sum / cells, cost_min, cost_max
  for (a = 1; a <= nmu; a++) printf "system cost per round at mu %s: mean %.2f ms\n", mus[a], mu_cost[mus[a]] / mu_cells[mus[a]]
  printf "same draws vs model: at most %.1f %% apart\n", 100 * same_dev
  for (a = 1; a <= nmu; a++) for (k = 1; k <= nk; k++) {
    line = ""
    for (b = 1; b <= nn; b++) {
      key = mus[a] SUBSEP ns[b]
      if ((key SUBSEP "uncoded") in time && (key SUBSEP kinds[k]) in time)
        line = line sprintf(" n=%s %.2f (%s);", ns[b], time[key, "uncoded"] / time[key, kinds[k]], name[key, kinds[k]])
    }
    if (line != "") printf "speedup over uncoded, mu %s, %s:%s\n", mus[a], kinds[k], line
  }
}' "$1"
