# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# Delay 0 / 1 / 10 ms (one way, each worker<->server path, both directions) on the 1 Gbit/s
# star, 8 workers, every sync rule, 1 and 10 MiB gradients (issue #6). A round trip costs
# BSP one per iteration (push, then pull) and R2SP one more per turn (the grant); TCP's slow
# start after each idle period costs both. ~10 min.
NAME=delay
TITLE="Delay on a 1 Gbit/s star (synthetic gradients, TCP CUBIC)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(8)
GRADS=(1M 10M)
DELAYS_MS=(0 1 10)
SCHEMES=("--sync bsp" "--sync asp" "--sync ssp:2" "--sync r2sp --windows round-robin:warmup=5")
ITERATIONS=12
MEASURE_FROM=6
REPETITIONS=1
JOB=(--workload synthetic)
