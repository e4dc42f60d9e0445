# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# The delay spec again with TCP's slow-start restart after idle turned off in every namespace
# (net.ipv4.tcp_slow_start_after_idle=0): how much of what delay costs each sync rule is the
# congestion window collapsing while a connection waits between pushes (issue #6). Labels,
# iterations, measured window and 5 repetitions as delay.sh's (reasons there); ~33 min.
source "$(dirname "${BASH_SOURCE[0]}")/delay.sh"
NAME=delay-idle-restart-off
TITLE="Delay on a 1 Gbit/s star, no slow-start restart after idle (synthetic gradients, TCP CUBIC)"
TOPOLOGY=(star --rate 1gbit --sysctl net.ipv4.tcp_slow_start_after_idle=0)
