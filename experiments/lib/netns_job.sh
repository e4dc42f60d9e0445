# shellcheck shell=bash
# Sourced by experiments that run gradwire jobs in an emulated topology (experiments/topo):
#   netns_job GRADWIRE RUN_DIR WORKERS FLAGS...
# starts S servers (`gradwire server --rank k`, k = 0..S-1, in server k's namespace, listening on
# 10.77.0.(100+k):7070) and WORKERS workers (rank r in worker r's namespace, given every server's
# address) with FLAGS and a fresh token per job (GRADWIRE_TOKEN, as `gradwire run` makes one),
# results and logs into RUN_DIR (server.log for server 0, server-K.log for server K >= 1,
# worker-R.log), worker 0's progress lines on stderr; returns non-zero (after showing the failed
# server's last lines) if a server failed, or at once, starting nothing, if the topology or the
# transport cannot serve the job.
# Environment:
#   GW_TOPO_PREFIX       the topology to run in (topo.sh's prefix; default gw)
#   GW_NETNS_SERVERS     S (default 1): the topology needs servers s0..s(S-1) (topo.sh up
#                        --servers S); S > 1 adds --num-servers S to FLAGS (FLAGS may carry the
#                        same --num-servers themselves, a different one is refused)
#   GW_NETNS_TRANSPORT   tcp (default) or rdma: the scheme of every address. rdma needs an RDMA
#                        device (e.g. soft-RoCE rxe bound to gwe0) visible in every host's
#                        namespace; without one the job is refused before anything starts.
#   GW_NETNS_WORKER_CMD  a shell command each worker runs instead of `gradwire worker`, its flags
#                        appended (as `gradwire run --worker-cmd`): Python workers, python/
# The topology must be up (experiments/topo/topo.sh up ...).
netns_job() {
  local gradwire=$1 run=$2 workers=$3
  shift 3
  local topo
  topo="$(dirname "${BASH_SOURCE[0]}")/../topo/topo.sh"
  local servers=${GW_NETNS_SERVERS:-1} transport=${GW_NETNS_TRANSPORT:-tcp} port=7070
  if ! [[ $servers =~ ^[1-9][0-9]?$ ]]; then
    echo "netns_job: GW_NETNS_SERVERS wants 1..99, not '$servers'" >&2
    return 2
  fi
  if [[ $transport != tcp && $transport != rdma ]]; then
    echo "netns_job: GW_NETNS_TRANSPORT wants tcp or rdma, not '$transport'" >&2
    return 2
  fi
  # The number of servers is the environment's; FLAGS may repeat it, not contradict it.
  local args=("$@") i given=''
  for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      --num-servers) given=${args[i + 1]:-} ;;
      --num-servers=*) given=${args[i]#*=} ;;
    esac
  done
  if [[ -n $given && $given != "$servers" ]]; then
    echo "netns_job: the job flags say --num-servers $given but GW_NETNS_SERVERS=$servers: set GW_NETNS_SERVERS=$given (and bring the topology up with --servers $given)" >&2
    return 2
  fi
  local sizes=()
  [[ -z $given ]] && ((servers > 1)) && sizes=(--num-servers "$servers")
  # Every host must exist before anything starts (a missing server would leave the others waiting).
  local k prefix=${GW_TOPO_PREFIX:-gw}
  for ((k = 0; k < servers; k++)); do
    if ! "$topo" exec "s$k" true 2>/dev/null; then
      echo "netns_job: GW_NETNS_SERVERS=$servers but topology '$prefix' has no server $k (bring it up with topo.sh --prefix $prefix up ... --servers $servers)" >&2
      return 1
    fi
  done
  for ((k = 0; k < workers; k++)); do
    if ! "$topo" exec "w$k" true 2>/dev/null; then
      echo "netns_job: $workers workers but topology '$prefix' has no worker $k" >&2
      return 1
    fi
  done
  # RDMA over a namespace needs a device the namespace sees; without one the processes would only
  # fail after starting (or wait on each other), so refuse here, naming the namespace.
  if [[ $transport == rdma ]]; then
    local host devs ns
    for host in $(seq -f 's%g' 0 $((servers - 1))) $(seq -f 'w%g' 0 $((workers - 1))); do
      devs=$("$topo" exec "$host" sh -c 'ls /sys/class/infiniband 2>/dev/null' | tr '\n' ' ')
      if [[ -z ${devs// /} ]]; then
        case $host in s0) ns=${prefix}srv ;; s*) ns=${prefix}srv${host#s} ;; *) ns=$prefix$host ;; esac
        echo "netns_job: GW_NETNS_TRANSPORT=rdma but no RDMA device is visible in namespace $ns (host $host of topology '$prefix'): /sys/class/infiniband there is empty or absent (this kernel $(uname -r) $(if [[ -d /sys/module/rdma_rxe ]]; then echo "has rdma_rxe loaded, but no rxe device was added for the namespace (rdma link add rxeN type rxe netdev gwe0 inside it)"; else echo "has no rdma_rxe (soft-RoCE) module loaded"; fi)): use GW_NETNS_TRANSPORT=tcp, or run RDMA jobs where devices exist (make test-rdma)" >&2
        return 1
      fi
    done
  fi
  local addrs=() list
  for ((k = 0; k < servers; k++)); do addrs+=("$transport://10.77.0.$((100 + k)):$port"); done
  list=$(
    IFS=,
    echo "${addrs[*]}"
  )
  rm -rf "$run" && mkdir -p "$run"
  local token
  token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  if ((servers == 1)); then
    echo "GRADWIRE_TOKEN=<per job> gradwire server --rank 0 --listen $list $* ; ${GW_NETNS_WORKER_CMD:-gradwire worker} --rank R --servers $list $*"
  else
    echo "GRADWIRE_TOKEN=<per job> gradwire server --rank K --listen $transport://10.77.0.(100+K):$port ${sizes[*]} $* (K = 0..$((servers - 1))) ; gradwire worker --rank R --servers $list ${sizes[*]} $*"
  fi >"$run/command.txt"
  local spids=() log
  for ((k = 0; k < servers; k++)); do
    log=$run/server.log
    ((k == 0)) || log=$run/server-$k.log
    GRADWIRE_TOKEN=$token "$topo" exec "s$k" "$gradwire" server --rank "$k" --listen "${addrs[k]}" \
      --out "$run" "${sizes[@]}" "$@" 2>"$log" &
    spids+=($!)
  done
  local w
  # Only this job's processes are waited for: the caller may have background children of its
  # own (a sampler that runs until killed) that a bare `wait` would wait for forever.
  local others=()
  local worker=("$gradwire" worker)
  # shellcheck disable=SC2016  # "$@" is the inner shell's: the flags after the command
  [[ -z ${GW_NETNS_WORKER_CMD:-} ]] || worker=(sh -c "$GW_NETNS_WORKER_CMD"' "$@"' sh)
  for ((w = 0; w < workers; w++)); do
    GRADWIRE_TOKEN=$token "$topo" exec "w$w" "${worker[@]}" --rank "$w" --servers "$list" --out "$run" \
      --progress "$([[ $w == 0 ]] && echo true || echo false)" "${sizes[@]}" "$@" 2>"$run/worker-$w.log" &
    others+=($!)
  done
  # Worker 0's progress lines as they come (its log may not exist yet).
  sleep 0.2
  tail -n +1 -f "$run/worker-0.log" --pid "${spids[0]}" 2>/dev/null |
    grep --line-buffered "gradwire:" >&2 &
  others+=($!)
  # The servers as they end: one that fails fails the job, so the other servers and the workers
  # are ended (they would wait for each other until --timeout).
  local failed=0 running=("${spids[@]}") done_pid rc
  while ((${#running[@]})); do
    rc=0 done_pid=''
    wait -n -p done_pid "${running[@]}" || rc=$?
    [[ -n ${done_pid:-} ]] || break
    for ((k = 0; k < servers; k++)); do [[ ${spids[k]} == "$done_pid" ]] && break; done
    mapfile -t running < <(printf '%s\n' "${running[@]}" | grep -vx "$done_pid")
    if ((rc != 0 && failed == 0)); then  # (after the first failure the others were ended)
      log=$run/server.log
      ((k == 0)) || log=$run/server-$k.log
      echo "server $k failed; see $log:" >&2
      tail -5 "$log" >&2
      kill -TERM "${running[@]}" "${others[@]}" 2>/dev/null || true
      failed=1
    fi
  done
  wait "${others[@]}" || true
  # What the processes wrote, made whole as `gradwire run` makes it (iterations.csv, the
  # servers' rounds.csv and windows.csv, layers.csv), a failed job's too.
  "$gradwire" merge --out "$run" --num-servers "$servers" --num-workers "$workers" >/dev/null ||
    echo "netns_job: could not merge the results in $run" >&2
  ((failed == 0)) || return 1
}

# RUN_DIR/iterations.csv from its worker-*.csv, for runs made before netns_job merged them
# with `gradwire merge` (tta.sh re-analysing committed runs without a binary).
merge_iterations() {
  local run=$1
  awk 'FNR == 1 && NR != 1 { next } { print }' "$run"/worker-*.csv >"$run/iterations.csv"
}
