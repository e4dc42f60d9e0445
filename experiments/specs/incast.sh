# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# Incast on a 1 Gbit/s star: every sync rule, 2-16 workers, 1-100 MiB gradients (issue #6).
# ~35 min. Network-only workload: the gradient is a fixed fill, so iteration time is the
# network's and the sync rule's.
NAME=incast
TITLE="Incast on a 1 Gbit/s star (synthetic gradients, TCP CUBIC)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(2 4 8 16)
GRADS=(1M 10M 100M)
SCHEMES=("--sync bsp" "--sync asp" "--sync ssp:2" "--sync r2sp --windows round-robin:warmup=5")
ITERATIONS=8
MEASURE_FROM=5
REPETITIONS=1
JOB=(--workload synthetic)
