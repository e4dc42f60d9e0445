# shellcheck shell=bash disable=SC2034,SC2054  # a spec for experiments/runner.sh (sourced); commas are in flags
# Stragglers x contention (issue #6): the straggler-tolerant codes were designed and measured
# with a free network; here every worker's message crosses one 1 Gbit/s server link. Each
# worker's share of an iteration takes 50 ms x (1 + Exp(1)) (shifted exponential, Lee et al.;
# mean 100 ms), drawn per worker and iteration, the same draws for every scheme. Compared:
# BSP (waits for all), R2SP (round-robin write windows against the incast; no straggler
# tolerance), the coded rounds uncoded / replication:r=2 / gc-cr:s=1 (Tandon et al.) /
# mm:r=2 (Ozfatura et al.). Coded rounds with write windows (--coding with --windows) are
# experiments/specs/coded-windows.sh.
# Measured window: iterations (rounds) 6-15. R2SP's turns start after 5 BSP warm-up iterations
# and iteration 5 is the round they start in; the coded rows use the same window. A round's
# time is set by the draws of its slowest needed workers, so its mean needs many rounds: 10
# per job. The straggler draws are seeded (seed=7): every repetition and every scheme sees the
# same draws, so the CIs measure the network's and the machine's variation, not the draws'.
# 5 repetitions, ~31 min (the committed runs' wall times scaled to 16 rounds, plus ~5 s per job).
NAME=stragglers-contention
TITLE="Stragglers (shifted-exp mu=1, 50 ms/share) on a 1 Gbit/s star (synthetic gradients)"
TOPOLOGY=(star --rate 1gbit)
WORKERS=(4 8)
GRADS=(1M 10M)
SCHEMES=("--sync bsp" "--sync r2sp --windows round-robin:warmup=5" "--coding uncoded"
  "--coding replication:r=2" "--coding gc-cr:s=1" "--coding mm:r=2")
LABELS=("BSP" "R2SP" "coded: uncoded" "coded: replication r=2" "coded: gradient code gc-cr s=1"
  "coded: multi-message mm r=2")
ITERATIONS=16
MEASURE_FROM=6
REPETITIONS=5
JOB=(--workload synthetic --straggler shifted-exp:mu=1,base=0.05,seed=7)
