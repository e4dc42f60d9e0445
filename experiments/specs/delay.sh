# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# Delay 0 / 1 / 10 ms (one way, each worker<->server path, both directions) on the 1 Gbit/s
# star, 8 workers, every sync rule, 1 and 10 MiB gradients (issue #6). A round trip costs
# BSP one per iteration (push, then pull) and R2SP one more per turn (the grant); TCP's slow
# start after each idle period costs both.
# Measured window: R2SP's turns start after 5 BSP warm-up iterations (0-4) and iteration 5 is
# the round they start in, so rows average iterations 6-15: 10 per worker, 80 pushes per job.
# Under ASP and SSP a worker's last iteration may run with fewer peers on the link: with 10
# measured iterations that edge is ~1/10 of the mean at most. 5 repetitions, ~33 min (the
# committed runs' wall times scaled to 16 iterations, plus ~5 s per job to start).
NAME=delay
TITLE="Delay on a 1 Gbit/s star (synthetic gradients, TCP CUBIC)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(8)
GRADS=(1M 10M)
DELAYS_MS=(0 1 10)
SCHEMES=("--sync bsp" "--sync asp" "--sync ssp:2" "--sync r2sp --windows round-robin:warmup=5")
LABELS=("BSP" "ASP" "SSP (s=2)" "R2SP")
ITERATIONS=16
MEASURE_FROM=6
REPETITIONS=5
JOB=(--workload synthetic)
