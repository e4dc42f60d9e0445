# shellcheck shell=bash disable=SC2034,SC2054  # a spec for experiments/runner.sh (sourced); commas are in flags
# Stragglers x contention (issue #6): the straggler-tolerant codes were designed and measured
# with a free network; here every worker's message crosses one 1 Gbit/s server link. Each
# worker's share of an iteration takes 50 ms x (1 + Exp(1)) (shifted exponential, Lee et al.;
# mean 100 ms), drawn per worker and iteration, the same draws for every scheme. Compared:
# BSP (waits for all), R2SP (round-robin write windows against the incast; no straggler
# tolerance), the coded rounds uncoded / replication:r=2 / gc-cr:s=1 (Tandon et al.) /
# mm:r=2 (Ozfatura et al.). Coded rounds with write windows (--coding with --windows) are
# experiments/specs/coded-windows.sh. ~6 min.
NAME=stragglers-contention
TITLE="Stragglers (shifted-exp mu=1, 50 ms/share) on a 1 Gbit/s star (synthetic gradients)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(4 8)
GRADS=(1M 10M)
SCHEMES=("--sync bsp" "--sync r2sp --windows round-robin:warmup=5" "--coding uncoded"
  "--coding replication:r=2" "--coding gc-cr:s=1" "--coding mm:r=2")
ITERATIONS=14
MEASURE_FROM=6
REPETITIONS=1
JOB=(--workload synthetic --straggler shifted-exp:mu=1,base=0.05,seed=7)
