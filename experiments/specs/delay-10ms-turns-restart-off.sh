# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# delay-10ms-turns.sh with TCP's slow-start restart after idle off: at a 20 ms round trip a
# writer's connection idles past its RTO between turns and each 10 MiB push starts in slow
# start again (issue 21: what still costs R2SP against ASP at 10 ms); ~6 min.
source "$(dirname "${BASH_SOURCE[0]}")/delay-10ms-turns.sh"
NAME=delay-10ms-turns-restart-off
TITLE="10 ms delay, no slow-start restart after idle: R2SP's turns vs ASP"
TOPOLOGY=(star --rate 1gbit --sysctl net.ipv4.tcp_slow_start_after_idle=0)
