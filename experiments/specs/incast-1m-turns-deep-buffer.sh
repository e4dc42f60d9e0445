# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# incast-1m-turns-small-first-restart-off.sh with 4 MB switch and host buffers instead of 1 MB:
# whether a lone R2SP push, which fills a 1 MB buffer on its own, loses time to the drops and
# CUBIC's smaller window after them (issue 21: a push takes 12.8 ms for ~8 ms of wire time);
# ~6 min.
source "$(dirname "${BASH_SOURCE[0]}")/incast-1m-turns-small-first-restart-off.sh"
NAME=incast-1m-turns-deep-buffer
TITLE="1 MiB incast, 4 MB buffers, small packets first, no slow-start restart: R2SP vs ASP"
TOPOLOGY=(star --rate 1gbit --buffer 4000000 --host-queue small-first
  --sysctl net.ipv4.tcp_slow_start_after_idle=0)
