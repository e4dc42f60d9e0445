# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# incast-1m-turns.sh with small packets first on the server's NIC (topo.sh --host-queue
# small-first). Tests whether R2SP's 1 MiB x 16 pushes (17 ms each against ~8 ms of wire time,
# one writer at a time) are slowed by their ACKs waiting in the server's one FIFO behind the
# model it is sending back to the previous writer (1 MiB, 8 ms at 1 Gbit/s), which a real host's
# fq_codel would not make them do; ~6 min.
source "$(dirname "${BASH_SOURCE[0]}")/incast-1m-turns.sh"
NAME=incast-1m-turns-small-first
TITLE="1 MiB incast, 1 Gbit/s star, small packets first at the server: R2SP vs ASP"
TOPOLOGY=(star --rate 1gbit --host-queue small-first)
