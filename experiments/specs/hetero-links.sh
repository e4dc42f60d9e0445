# shellcheck shell=bash disable=SC2034,SC2054  # a spec for experiments/runner.sh (sourced); commas are in flags
# Heterogeneous links (issue #6): 8 workers on the 1 Gbit/s star, workers 1 and 2 on
# 100 Mbit/s links (both ways), every sync rule. A slow link makes a persistent straggler
# whose cost grows with the gradient; R2SP's turns wait for it unless the grace runs out.
# R2SP also with per-worker batch tuning, which sizes batches by compute speed: equal here, so
# it should change nothing (a bigger batch does not shorten a slow link's push). ~6 min.
NAME=hetero-links
TITLE="Workers 1 and 2 on 100 Mbit/s links, the rest 1 Gbit/s star (synthetic gradients)"
TOPOLOGY=(star --rate 1gbit --slow-workers 1,2 --slow-rate 100mbit)
WORKERS=(8)
GRADS=(1M 10M)
SCHEMES=("--sync bsp" "--sync asp" "--sync ssp:2" "--sync r2sp --windows round-robin:warmup=5"
  "--sync r2sp --windows round-robin:warmup=5 --batch-tuning")
ITERATIONS=12
MEASURE_FROM=6
REPETITIONS=1
JOB=(--workload synthetic)
