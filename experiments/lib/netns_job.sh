# shellcheck shell=bash
# Sourced by experiments that run gradwire jobs in an emulated topology (experiments/topo):
#   netns_job GRADWIRE RUN_DIR WORKERS FLAGS...
# starts `gradwire server` (rank 0, in namespace gwsrv, 10.77.0.100:7070) and WORKERS workers
# (rank r in gww<r>) with FLAGS and a fresh token per job (GRADWIRE_TOKEN, as `gradwire run`
# makes one), results and logs into RUN_DIR, worker 0's progress lines on stderr; returns
# non-zero (after showing the server's last lines) if the server failed.
# The topology must be up (experiments/topo/topo.sh up ...).
netns_job() {
  local gradwire=$1 run=$2 workers=$3
  shift 3
  local topo
  topo="$(dirname "${BASH_SOURCE[0]}")/../topo/topo.sh"
  local addr=tcp://10.77.0.100:7070
  rm -rf "$run" && mkdir -p "$run"
  local token
  token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  echo "GRADWIRE_TOKEN=<per job> gradwire server --rank 0 --listen $addr $* ; gradwire worker --rank R --servers $addr $*" \
    >"$run/command.txt"
  GRADWIRE_TOKEN=$token "$topo" exec server "$gradwire" server --rank 0 --listen "$addr" --out "$run" "$@" \
    2>"$run/server.log" &
  local server=$! w
  # Only this job's processes are waited for: the caller may have background children of its
  # own (a sampler that runs until killed) that a bare `wait` would wait for forever.
  local others=()
  for ((w = 0; w < workers; w++)); do
    GRADWIRE_TOKEN=$token "$topo" exec "w$w" "$gradwire" worker --rank "$w" --servers "$addr" --out "$run" \
      --progress "$([[ $w == 0 ]] && echo true || echo false)" "$@" 2>"$run/worker-$w.log" &
    others+=($!)
  done
  # Worker 0's progress lines as they come (its log may not exist yet).
  sleep 0.2
  tail -n +1 -f "$run/worker-0.log" --pid "$server" 2>/dev/null |
    grep --line-buffered "gradwire:" >&2 &
  others+=($!)
  if ! wait "$server"; then
    echo "the server failed; see $run/server.log:" >&2
    tail -5 "$run/server.log" >&2
    wait "${others[@]}" || true
    return 1
  fi
  wait "${others[@]}" || true
  merge_iterations "$run"
}

# RUN_DIR/iterations.csv from its worker-*.csv, as `gradwire run` merges them.
merge_iterations() {
  local run=$1
  awk 'FNR == 1 && NR != 1 { next } { print }' "$run"/worker-*.csv >"$run/iterations.csv"
}
