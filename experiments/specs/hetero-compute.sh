# shellcheck shell=bash disable=SC2034,SC2054  # a spec for experiments/runner.sh (sourced); commas are in flags
# Heterogeneous compute (issue #6): 8 workers on the 1 Gbit/s star; workers 1 and 2 compute
# 4x slower (persistent stragglers: 200 ms per iteration against 50 ms), every sync rule, R2SP
# with and without per-worker batch tuning, and the coded rounds that tolerate one or more slow
# workers.
# Measured window: iterations 10-19. R2SP's turns start after 5 BSP warm-up iterations and the
# batch tuner sizes batches from speeds measured after them, so by 10 the tuned batches are in
# use; 10 measured iterations per worker (80 pushes per job) keep the edge at the window's end,
# where a fast worker may run alone, to ~1/10 of a mean at most. The coded rows count rounds the
# same way. 5 repetitions, ~26 min (the committed runs' wall times, plus ~5 s per job).
NAME=hetero-compute
TITLE="Workers 1 and 2 compute 4x slower (50 ms vs 200 ms), 1 Gbit/s star (synthetic gradients)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(8)
GRADS=(1M 10M)
SCHEMES=("--sync bsp" "--sync asp" "--sync ssp:2" "--sync r2sp --windows round-robin:warmup=5"
  "--sync r2sp --windows round-robin:warmup=5 --batch-tuning" "--coding uncoded" "--coding gc-cr:s=2" "--coding replication:r=2")
LABELS=("BSP" "ASP" "SSP (s=2)" "R2SP" "R2SP + batch tuning" "coded: uncoded"
  "coded: gradient code gc-cr s=2" "coded: replication r=2")
ITERATIONS=20
MEASURE_FROM=10
REPETITIONS=5
JOB=(--workload synthetic --straggler persistent:workers=1+2,factor=4,base=0.05)
