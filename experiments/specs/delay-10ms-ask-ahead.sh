# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# Asking ahead (--windows round-robin:ask=ahead, sched/window_scheduler.h) where a grant's trip
# is long: the delay spec's 10 ms cell at 1 MiB with every worker computing 50 ms per iteration
# (an emulated compute time), R2SP asking for its window when its gradient is ready (R2SP's
# protocol) against asking when it starts computing, and ASP. Iterations, measured window and
# 5 repetitions as delay.sh's; ~5 min.
source "$(dirname "${BASH_SOURCE[0]}")/delay.sh"
NAME=delay-10ms-ask-ahead
TITLE="10 ms delay, 50 ms compute: R2SP asking when ready or ahead, vs ASP"
DELAYS_MS=(10)
GRADS=(1M)
SCHEMES=("--sync asp" "--sync r2sp --windows round-robin:warmup=5"
  "--sync r2sp --windows round-robin:warmup=5,ask=ahead")
LABELS=("ASP" "R2SP" "R2SP ask=ahead")
JOB=(--workload synthetic --straggler "persistent:workers=0,factor=1,base=0.05")
