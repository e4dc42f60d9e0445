# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# The delay spec's 10 ms cells alone, ASP against R2SP: what pipelined and long-trip turns
# (sched/window_scheduler.h) leave of R2SP's cost at a 20 ms round trip (issue 21: within 1.3x
# of ASP per update). Iterations, measured window and 5 repetitions as delay.sh's; ~15 min.
source "$(dirname "${BASH_SOURCE[0]}")/delay.sh"
NAME=delay-10ms-turns
TITLE="10 ms one-way delay on a 1 Gbit/s star: R2SP's turns against ASP (synthetic gradients, TCP CUBIC)"
DELAYS_MS=(10)
SCHEMES=("--sync asp" "--sync r2sp --windows round-robin:warmup=5")
LABELS=("ASP" "R2SP")
