# shellcheck shell=bash disable=SC2034,SC2054  # a spec for experiments/runner.sh (sourced); commas are in flags
# Heterogeneous links (issue #6): 8 workers on the 1 Gbit/s star, workers 1 and 2 on
# 100 Mbit/s links (both ways), every sync rule. A slow link makes a persistent straggler
# whose cost grows with the gradient; R2SP's turns wait for it unless the grace runs out.
# R2SP also with per-worker batch tuning, which sizes batches by compute speed: equal here, so
# it should change nothing (a bigger batch does not shorten a slow link's push).
# Measured window: R2SP's turns start after 5 BSP warm-up iterations (0-4) and iteration 5 is
# the round they start in, so rows average iterations 6-15: 10 per worker, 80 pushes per job;
# under ASP the fast workers finish first and the slow pair then runs alone, an edge that 10
# measured iterations keep to ~1/10 of a mean at most. 5 repetitions, ~19 min (the committed
# runs' wall times scaled to 16 iterations, plus ~5 s per job).
NAME=hetero-links
TITLE="Workers 1 and 2 on 100 Mbit/s links, the rest 1 Gbit/s star (synthetic gradients)"
TOPOLOGY=(star --rate 1gbit --slow-workers 1,2 --slow-rate 100mbit)
WORKERS=(8)
GRADS=(1M 10M)
SCHEMES=("--sync bsp" "--sync asp" "--sync ssp:2" "--sync r2sp --windows round-robin:warmup=5"
  "--sync r2sp --windows round-robin:warmup=5 --batch-tuning")
LABELS=("BSP" "ASP" "SSP (s=2)" "R2SP" "R2SP + batch tuning")
ITERATIONS=16
MEASURE_FROM=6
REPETITIONS=5
JOB=(--workload synthetic)
