# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# incast-1m-turns.sh with both of the push costs found in it removed: small packets first at
# the server's NIC (topo.sh --host-queue small-first: ACKs no longer queue behind the model it
# sends back) and TCP's slow-start restart after idle off. What is left of R2SP's cost against
# ASP at 16 workers is then the turns' own; ~6 min.
source "$(dirname "${BASH_SOURCE[0]}")/incast-1m-turns.sh"
NAME=incast-1m-turns-small-first-restart-off
TITLE="1 MiB incast, small packets first, no slow-start restart: R2SP vs ASP"
TOPOLOGY=(star --rate 1gbit --host-queue small-first --sysctl net.ipv4.tcp_slow_start_after_idle=0)
