# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# The incast spec's 1 MiB cells at 8 and 16 workers, ASP against R2SP: what pipelined turns
# (sched/window_scheduler.h) leave of R2SP's cost per update where the turn protocol showed
# most (issue 21: no slower than ASP at 16 workers). Iterations and measured window as
# incast.sh's; 5 repetitions (these jobs take seconds); ~6 min.
source "$(dirname "${BASH_SOURCE[0]}")/incast.sh"
NAME=incast-1m-turns
TITLE="1 MiB incast on a 1 Gbit/s star: R2SP's turns against ASP (synthetic gradients, TCP CUBIC)"
WORKERS=(8 16)
GRADS=(1M)
SCHEMES=("--sync asp" "--sync r2sp --windows round-robin:warmup=5")
LABELS=("ASP" "R2SP")
REPETITIONS=5
