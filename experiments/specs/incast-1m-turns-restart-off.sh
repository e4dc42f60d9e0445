# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# incast-1m-turns.sh with TCP's slow-start restart after idle off on every namespace
# (net.ipv4.tcp_slow_start_after_idle=0). Tests whether R2SP's 1 MiB x 16 cost, which sits
# inside the pushes (a worker's connection idles ~0.24 s between its turns, longer than its
# RTO, so CUBIC restarts from its initial window), is the kernel's slow-start restart; ~6 min.
source "$(dirname "${BASH_SOURCE[0]}")/incast-1m-turns.sh"
NAME=incast-1m-turns-restart-off
TITLE="1 MiB incast, 1 Gbit/s star, slow-start restart off: R2SP vs ASP"
TOPOLOGY=(star --rate 1gbit --sysctl net.ipv4.tcp_slow_start_after_idle=0)
