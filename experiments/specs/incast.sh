# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# Incast on a 1 Gbit/s star: every sync rule, 2-16 workers, 1-100 MiB gradients (issue #6).
# Network-only workload: the gradient is a fixed fill, so iteration time is the network's and
# the sync rule's.
# Measured window: R2SP's turns start after 5 BSP warm-up iterations (0-4); iteration 5 is the
# round in which they start, so rows average iterations 6-15: 10 per worker, 10 x N pushes per
# job (160 with 16 workers). Under ASP and SSP workers drift apart, and a worker whose peers have
# finished pushes alone: that edge lasts about one of a worker's last iterations, so 10 measured
# iterations bound its weight to ~1/10 (the 3 measured before, 5-7, let ASP's 1 MiB x 16 cell
# show 1,350 Mbit/s on a 1 Gbit/s link). BSP's barrier leaves no edge.
# Repetitions: 3, not 5: one job of the 100 MiB x 16-worker cell takes ~7.5 min (BSP: 27 s per
# iteration x 16), and a repetition of the whole grid ~55 min (the committed runs' wall times
# scaled to 16 iterations), so 5 would take ~4.5 h; 3 take ~2.7 h. --reps 5 for tighter CIs.
NAME=incast
TITLE="Incast on a 1 Gbit/s star (synthetic gradients, TCP CUBIC)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(2 4 8 16)
GRADS=(1M 10M 100M)
SCHEMES=("--sync bsp" "--sync asp" "--sync ssp:2" "--sync r2sp --windows round-robin:warmup=5")
LABELS=("BSP" "ASP" "SSP (s=2)" "R2SP")
ITERATIONS=16
MEASURE_FROM=6
REPETITIONS=3
JOB=(--workload synthetic)
