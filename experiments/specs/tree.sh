# shellcheck shell=bash disable=SC2034  # a spec for experiments/runner.sh (sourced)
# Oversubscribed tree: 2 racks of 4 workers behind 400 Mbit/s uplinks, server link 1 Gbit/s.
# Plain round-robin lets one writer use one uplink at a time; topology-aware windows let one
# writer per rack go, racks in parallel; burst lets everyone go (incast at each uplink).
# BSP throughout, so the push phase is what differs. ~12 min.
NAME=tree
TITLE="Oversubscribed tree: 2 racks x 4 workers, 400 Mbit/s uplinks, 1 Gbit/s server link"
TOPOLOGY=(tree --racks 2 --per-rack 4 --rate 1gbit --uplink-rate 400mbit)
WORKERS=(8)
GRADS=(10M 100M)
SCHEMES=("--sync bsp --windows burst" "--sync bsp --windows round-robin:warmup=5"
  "--sync bsp --windows topology:racks=2")
ITERATIONS=8
MEASURE_FROM=5
REPETITIONS=1
JOB=(--workload synthetic)
