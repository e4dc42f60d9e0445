# shellcheck shell=bash disable=SC2034,SC2054  # a spec for experiments/runner.sh (sourced); commas are in flags
# Coded rounds x write windows: the question stragglers-contention.sh left open. There, on one
# 1 Gbit/s server link, a coded round needs only its first n − s messages (replication:r=2:
# every block once; gc-cr:s=1: any n − 1), yet TCP shares the link fairly among all n, so the
# needed messages finish as late as the rest and the codes gain nothing. Here each scheme runs
# as there (same star, same shifted-exp straggler draws, 50 ms x (1 + Exp(1)) per share) and
# again with its message writes in write windows: one writer on the link at a time, turns first
# come, first served (a coded job's windows are per message, back to back, without R2SP's gap;
# README "Coded computation"), so the first messages ready finish early and the round should
# decode sooner. Policy round-robin:warmup=5: on a star the server link is the one bottleneck,
# so one writer at a time is the point (topology:racks=1 would be the same turns without
# warm-up; slots would need a slot length tuned to each message size). The 5 warm-up rounds are
# burst and seed the typical push time that bounds a window; MEASURE_FROM=6 keeps them (and the
# round in which the turns start) out of the averages. gc-cr:s=1 also runs with --windows
# burst: the same request/grant round trips without turns, the cost of the machinery alone.
# uncoded needs every message, so windows can only reorder its round (its control row).
# mm:r=2 sends two messages per worker and round, each asking for its own window.
# Measured window: rounds 6-15, 10 per job: a round's time is set by the draws of its slowest
# needed workers, so its mean needs many rounds. The straggler draws are seeded (seed=7): every
# repetition and scheme sees the same draws, so the CIs measure the network's and the
# machine's variation, not the draws'. 5 repetitions, ~49 min (the committed runs' wall times
# scaled to 16 rounds, plus ~5 s per job).
NAME=coded-windows
TITLE="Coded rounds with and without write windows on a 1 Gbit/s star (stragglers shifted-exp mu=1, 50 ms/share)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(4 8)
GRADS=(1M 10M)
SCHEMES=("--coding uncoded" "--coding uncoded --windows round-robin:warmup=5"
  "--coding replication:r=2" "--coding replication:r=2 --windows round-robin:warmup=5"
  "--coding gc-cr:s=1" "--coding gc-cr:s=1 --windows round-robin:warmup=5"
  "--coding gc-cr:s=1 --windows burst"
  "--coding mm:r=2" "--coding mm:r=2 --windows round-robin:warmup=5")
LABELS=("uncoded" "uncoded + windows" "replication r=2" "replication r=2 + windows"
  "gradient code gc-cr s=1" "gradient code gc-cr s=1 + windows" "gradient code gc-cr s=1 + burst windows"
  "multi-message mm r=2" "multi-message mm r=2 + windows")
ITERATIONS=16
MEASURE_FROM=6
REPETITIONS=5
JOB=(--workload synthetic --straggler shifted-exp:mu=1,base=0.05,seed=7)
# The plot shows what the findings quote: the server's round time (rounds.csv), not the
# workers' iteration time (which includes waiting for the next round's input).
METRIC=round_s
