# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# incast-1m-turns-small-first-restart-off.sh with 1, 2 and 4 workers: whether a lone 1 MiB push
# (12.8 ms from first post to its window's end at 16 workers, 9.4 ms at 8) costs gradwire that
# much alone or only beside the other workers' processes on 2 cores. A plain TCP connection on
# the same star carries 1 MiB after the same idle wait in ~7.5 ms (experiments/burst_probe.sh,
# results/burst-probe); ~1 min.
source "$(dirname "${BASH_SOURCE[0]}")/incast-1m-turns-small-first-restart-off.sh"
NAME=incast-1m-turns-few-workers
TITLE="1 MiB pushes, small packets first, no slow-start restart, 1-4 workers: R2SP vs ASP"
WORKERS=(1 2 4)
