# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# delay-10ms-turns.sh with small packets first on the host NICs (topo.sh --host-queue
# small-first): R2SP's cost against ASP at a 20 ms round trip once the pushes' ACKs no longer
# wait behind the server's model sends (issue 21: within 1.3x of ASP per update); ~15 min.
source "$(dirname "${BASH_SOURCE[0]}")/delay-10ms-turns.sh"
NAME=delay-10ms-turns-small-first
TITLE="10 ms delay, small packets first at the server: R2SP's turns vs ASP"
TOPOLOGY=(star --rate 1gbit --host-queue small-first)
