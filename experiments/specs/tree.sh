# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# Oversubscribed tree: 2 racks of 4 workers behind 400 Mbit/s uplinks, server link 1 Gbit/s.
# Plain round-robin lets one writer use one uplink at a time; topology-aware windows let one
# writer per rack go, racks in parallel; burst lets everyone go (incast at each uplink).
# BSP throughout, so the push phase is what differs.
# Measured window: round-robin's 5 warm-up iterations are burst (0-4) and iteration 5 is the
# round in which the turns start, so rows average iterations 6-11. Six are enough here: under
# BSP every measured iteration is a whole round (all 8 pushes, the barrier, all 8 pulls; 48
# pushes per job), the workers in lockstep, so no worker runs alone at the window's edges.
# 5 repetitions, ~68 min (longest job: round-robin at 100 MiB, 24 s x 12 iterations, ~5 min).
NAME=tree
TITLE="Oversubscribed tree: 2 racks x 4 workers, 400 Mbit/s uplinks, 1 Gbit/s server link"
TOPOLOGY=(tree --racks 2 --per-rack 4 --rate 1gbit --uplink-rate 400mbit)
WORKERS=(8)
GRADS=(10M 100M)
SCHEMES=("--sync bsp --windows burst" "--sync bsp --windows round-robin:warmup=5"
  "--sync bsp --windows topology:racks=2")
LABELS=("burst (all at once)" "round-robin (one writer)" "topology-aware (one writer per rack)")
ITERATIONS=12
MEASURE_FROM=6
REPETITIONS=5
JOB=(--workload synthetic)
