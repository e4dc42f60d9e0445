#!/usr/bin/env bash
# Runs one gradwire job (S servers + N workers) on real hosts and gathers its results into one
# directory with the same files as `gradwire run --out DIR`. Three ways to start processes:
#
#   launch.sh --hostfile FILE [opts] -- JOB FLAGS     over ssh (BatchMode), one host a line,
#                                                     optionally `host slots=K`
#   launch.sh --slurm [opts] -- JOB FLAGS             inside salloc/sbatch: one srun step for
#                                                     the servers, one for the workers
#   launch.sh --mpirun [--hostfile FILE] [opts] -- JOB FLAGS
#                                                     the same with two Open MPI mpiruns
#
# JOB FLAGS are gradwire's job and connection flags (`gradwire worker --help`), including
# --num-workers N and --num-servers S (default 1). The launcher sets --rank, --listen,
# --servers and --out itself, and passes a fresh per-job token in GRADWIRE_TOKEN (never on a
# command line: over ssh it travels on stdin, srun and mpirun export it by name).
# --dry-run prints what would start where (host, role, rank, command line, environment) and
# starts nothing. See experiments/launch/README.md.
# shellcheck disable=SC2029 # remote commands are built here on purpose, quoted with shq
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
launch_cmdline="experiments/launch/launch.sh"
for a in "$@"; do launch_cmdline+=" $(printf '%q' "$a")"; done

usage() {
  cat <<'EOF'
usage: launch.sh (--hostfile FILE | --slurm | --mpirun [--hostfile FILE]) [options] -- JOB FLAGS

modes
  --hostfile FILE      ssh to the hosts of FILE (one a line, `host slots=K` optional, # comments);
                       servers take the first slots, workers follow round-robin over the hosts
  --slurm              inside a Slurm allocation (salloc/sbatch); servers on the allocation's
                       first node(s), workers cyclic over its nodes; ranks from SLURM_PROCID
                       (with --dry-run outside an allocation: --hostfile's hosts stand in for
                       the allocation's nodes)
  --mpirun             Open MPI's mpirun (ranks from OMPI_COMM_WORLD_RANK); hosts from
                       --hostfile, else this machine only

options
  --out DIR            results directory here (default results/runs/<time>)
  --num-workers N      also accepted among the job flags
  --num-servers S      also accepted among the job flags (default 1)
  --port P             server s listens on port P+s (default 9000)
  --bind ADDR          address the servers listen on (default 0.0.0.0: every interface)
  --transport T        tcp | rdma (addresses T://host:port; default tcp)
  --binary PATH        gradwire here (default: this checkout's build/apps/gradwire/gradwire)
  --remote-binary PATH gradwire on the hosts (default: the same path as --binary)
  --remote-out DIR     hostfile: where each process writes on its host (default
                       /tmp/gradwire-launch-<job>/out); gathered into --out afterwards with
                       ssh+tar, then removed
  --shared-out         hostfile: --out is on a filesystem every host sees; write there directly
  --ssh-opt K=V        extra `ssh -o K=V` (repeatable), e.g. IdentityFile=~/.ssh/id, Port=2222
  --worker-cmd CMD     run each worker as this shell command (on its host) with `gradwire
                       worker`'s flags appended, e.g. "/usr/bin/python3 train.py" for Python
                       workers (python/README.md; PYTHONPATH reaches them as any variable of
                       the host's environment does); default: gradwire worker
  --dry-run            print what would start where; start nothing
  -h, --help           this text
EOF
}

die() {
  echo "launch: $*" >&2
  exit 2
}
fail() {
  echo "launch: error: $*" >&2
  exit 1
}

# Quotes one word for a POSIX shell (bare when it has nothing special).
shq() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}
shjoin() {
  local out="" w
  for w in "$@"; do out+="${out:+ }$(shq "$w")"; done
  printf '%s' "$out"
}

mode="" hostfile="" out="" port=9000 bind=0.0.0.0 transport=tcp binary="" remote_binary=""
remote_out="" shared_out=0 dry=0 S="" N="" worker_cmd=""
ssh_user_opts=()
job=()
while (($#)); do
  case $1 in
    --hostfile) hostfile=${2:?--hostfile needs a file}; [[ $mode ]] || mode=hostfile; shift 2 ;;
    --slurm) [[ -z $mode || $mode == hostfile ]] || die "choose one of --slurm, --mpirun"
      mode=slurm; shift ;;
    --mpirun) [[ -z $mode || $mode == hostfile ]] || die "choose one of --slurm, --mpirun"
      mode=mpirun; shift ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --num-workers) N=${2:?}; shift 2 ;;
    --num-servers) S=${2:?}; shift 2 ;;
    --port) port=${2:?}; shift 2 ;;
    --bind) bind=${2:?}; shift 2 ;;
    --transport) transport=${2:?}; shift 2 ;;
    --binary) binary=${2:?}; shift 2 ;;
    --remote-binary) remote_binary=${2:?}; shift 2 ;;
    --remote-out) remote_out=${2:?}; shift 2 ;;
    --shared-out) shared_out=1; shift ;;
    --ssh-opt) ssh_user_opts+=(-o "${2:?}"); shift 2 ;;
    --worker-cmd) worker_cmd=${2:?--worker-cmd needs a command}; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; job=("$@"); break ;;
    *) die "unknown option '$1' (job flags go after --; see --help)" ;;
  esac
done
[[ $mode ]] || die "choose a mode: --hostfile FILE, --slurm or --mpirun (see --help)"
if [[ $mode == slurm && -n $hostfile && $dry == 0 ]]; then
  die "--slurm takes its nodes from the allocation; --hostfile with --slurm is only for --dry-run"
fi

# Sizes from the job flags (the launcher passes them to every process itself); flags the
# launcher owns are refused.
rest=()
for ((i = 0; i < ${#job[@]}; i++)); do
  a=${job[i]}
  case $a in
    --num-workers) N=${job[i + 1]:?--num-workers needs a value}; ((++i)) ;;
    --num-workers=*) N=${a#*=} ;;
    --num-servers) S=${job[i + 1]:?--num-servers needs a value}; ((++i)) ;;
    --num-servers=*) S=${a#*=} ;;
    --token | --token=*) die "no --token: the launcher makes one per job and passes it in GRADWIRE_TOKEN" ;;
    --dry-run | --hostfile | --hostfile=* | --slurm | --mpirun | --shared-out | --remote-out | --remote-binary | --binary | --ssh-opt | --port | --bind)
      die "$a is launch.sh's own option: put it before --" ;;
    --rank | --rank=* | --listen | --listen=* | --servers | --servers=* | --out | --out=* | --port-file | --port-file=*)
      die "${a%%=*} is set by the launcher (use launch.sh's --out/--port/--bind)" ;;
    *) rest+=("$a") ;;
  esac
done
job=("${rest[@]}")
S=${S:-1}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "--num-workers N is required (a positive number), among the job flags or before --"
[[ $S =~ ^[1-9][0-9]*$ ]] || die "--num-servers must be a positive number"
if ! [[ $port =~ ^[0-9]+$ ]] || ((port == 0 || port + S > 65536)); then
  die "--port must leave room for $S port(s) below 65536"
fi
[[ $transport == tcp || $transport == rdma ]] || die "--transport must be tcp or rdma"

if [[ -z $binary ]]; then
  if [[ -x $repo/build/apps/gradwire/gradwire ]]; then
    binary=$repo/build/apps/gradwire/gradwire
  else
    binary=$(command -v gradwire) || die "no gradwire binary: build it (make) or give --binary PATH"
  fi
fi
binary=$(realpath -m "$binary")
[[ $dry == 1 || $mode != slurm && $mode != mpirun || -x $binary ]] ||
  fail "gradwire binary $binary is missing or not executable (give --binary PATH)"
remote_binary=${remote_binary:-$binary}
out=$(realpath -m "${out:-results/runs/$(date +%Y%m%d-%H%M%S)}")
tag="$(date +%Y%m%d-%H%M%S)-$$"
rdir=/tmp/gradwire-launch-$tag # per host: pid files (and the results unless --shared-out)
if ((shared_out)); then
  remote_out=$out
else
  remote_out=${remote_out:-$rdir/out}
fi
[[ $remote_out == /* ]] || die "--remote-out must be an absolute path"

# ---- hosts -------------------------------------------------------------------------------
hosts=() slots=()
read_hostfile() {
  [[ -r $1 ]] || die "hostfile $1 is not readable"
  local line h k word n=0
  while IFS= read -r line || [[ -n $line ]]; do
    ((++n))
    line=${line%%#*}
    read -r h word k <<<"$line" || true
    [[ -z $h ]] && continue
    [[ -z $k ]] || die "$1:$n: expected 'host' or 'host slots=K', got '$line'"
    if [[ -z $word ]]; then
      slots+=(1)
    elif [[ $word =~ ^(slots|max_slots|max-slots)=([1-9][0-9]*)$ ]]; then
      slots+=("${BASH_REMATCH[2]}")
    else
      die "$1:$n: expected 'host' or 'host slots=K', got '$line'"
    fi
    hosts+=("$h")
  done <"$1"
  ((${#hosts[@]})) || die "hostfile $1 names no host"
}

case $mode in
  hostfile) read_hostfile "$hostfile" ;;
  mpirun)
    if [[ -n $hostfile ]]; then read_hostfile "$hostfile"; else hosts=(localhost) slots=(1); fi ;;
  slurm)
    if [[ -n ${SLURM_JOB_ID:-} && -n ${SLURM_JOB_NODELIST:-} ]]; then
      command -v scontrol >/dev/null || fail "scontrol not found (is this a Slurm node?)"
      mapfile -t hosts < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
      ((${#hosts[@]})) || fail "scontrol show hostnames '$SLURM_JOB_NODELIST' gave no node"
      for _ in "${hosts[@]}"; do slots+=(1); done
    elif ((dry)) && [[ -n $hostfile ]]; then
      read_hostfile "$hostfile"
      echo "launch: not inside a Slurm allocation; dry run with the hostfile's hosts as its nodes"
    else
      fail "--slurm must run inside a Slurm allocation (no SLURM_JOB_ID): e.g.
  salloc --overcommit -n $((S + N)) $launch_cmdline
or from an sbatch script (see experiments/launch/README.md)"
    fi ;;
esac
H=${#hosts[@]}

is_loopback() { [[ $1 == localhost || $1 == 127.* || $1 == ::1 || $1 == ip6-localhost ]]; }

# Placement. Hostfile: a slot list (round r holds each host with more than r slots), servers
# on its first S entries, workers on the next N (wrapping around: oversubscribed). Slurm and
# mpirun: servers cyclic over the first min(S, nodes) nodes, workers cyclic over all nodes
# from the first one (Slurm: --distribution=cyclic; Open MPI: --map-by node).
server_host=() worker_host=()
if [[ $mode == hostfile ]]; then
  slotlist=()
  max=0
  for k in "${slots[@]}"; do ((k > max)) && max=$k; done
  for ((r = 0; r < max; r++)); do
    for ((i = 0; i < H; i++)); do ((slots[i] > r)) && slotlist+=("${hosts[i]}"); done
  done
  L=${#slotlist[@]}
  for ((s = 0; s < S; s++)); do server_host+=("${slotlist[s % L]}"); done
  for ((w = 0; w < N; w++)); do worker_host+=("${slotlist[(S + w) % L]}"); done
  if ((S + N > L)); then echo "launch: note: $((S + N)) processes on $L slot(s): hosts run several"; fi
else
  ks=$((S < H ? S : H))
  kw=$((N < H ? N : H))
  for ((s = 0; s < S; s++)); do server_host+=("${hosts[s % ks]}"); done
  if [[ $mode == mpirun ]]; then
    # The worker mpirun's host list starts after the servers' hosts (as in hostfile mode).
    whosts=()
    for ((i = 0; i < H; i++)); do whosts+=("${hosts[(S + i) % H]}"); done
    for ((w = 0; w < N; w++)); do worker_host+=("${whosts[w % H]}"); done
  else
    for ((w = 0; w < N; w++)); do worker_host+=("${hosts[w % kw]}"); done
  fi
fi
loop=0 nonloop=0
for h in "${server_host[@]}" "${worker_host[@]}"; do
  if is_loopback "$h"; then loop=1; else nonloop=1; fi
done
if ((loop && nonloop)); then
  echo "launch: warning: loopback names (localhost, 127.x) mixed with other hosts: workers elsewhere cannot reach a server at a loopback name" >&2
fi

# Inside an allocation the workers reach a server node at its NodeAddr (usually its name).
node_addr() {
  local a=""
  if [[ $mode == slurm && -n ${SLURM_JOB_ID:-} ]]; then
    a=$(scontrol show node -o "$1" 2>/dev/null | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2) || true
  fi
  printf '%s' "${a:-$1}"
}
server_addr=()
servers_list=""
for ((s = 0; s < S; s++)); do
  server_addr+=("$transport://$(node_addr "${server_host[s]}"):$((port + s))")
  servers_list+="${servers_list:+,}${server_addr[s]}"
done
sizes=(--num-workers="$N" --num-servers="$S")
token=$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export GRADWIRE_TOKEN=$token

# ---- hostfile mode: ssh ------------------------------------------------------------------
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR "${ssh_user_opts[@]}")

# The remote shell command of process ROLE RANK: reads the token from stdin, records its pid
# for cleanup, then becomes gradwire.
remote_cmd() {
  local role=$1 rank=$2
  shift 2
  printf 'read -r GRADWIRE_TOKEN && export GRADWIRE_TOKEN && mkdir -p %s %s && echo $$ >%s && exec %s' \
    "$(shq "$rdir")" "$(shq "$remote_out")" "$(shq "$rdir/$role-$rank.pid")" "$(shjoin "$@")"
}
server_args() { # rank
  local s=$1
  local a=("$remote_binary" server --rank="$s" --listen="$transport://$bind:$((port + s))"
    --port-file="$remote_out/server-$s.port" --out="$remote_out" "${sizes[@]}" "${job[@]}")
  printf '%s\0' "${a[@]}"
}
# How a worker starts on its host: `BINARY worker`, or --worker-cmd through sh (its flags
# become the command's arguments, re-parsed by no shell).
worker_prog() { # binary
  # shellcheck disable=SC2016  # "$@" is the inner shell's
  if [[ -n $worker_cmd ]]; then printf '%s\0' sh -c "$worker_cmd"' "$@"' sh; else printf '%s\0' "$1" worker; fi
}
worker_args() { # rank
  local prog
  mapfile -d '' -t prog < <(worker_prog "$remote_binary")
  local a=("${prog[@]}" --rank="$1" --servers="$servers_list" --out="$remote_out"
    "${sizes[@]}" "${job[@]}")
  printf '%s\0' "${a[@]}"
}

declare -A pid_of=() what_of=()
procs=()

hostfile_dry() {
  local s w args
  echo "launch: hostfile mode: $S server(s) + $N worker(s) on ${H} host(s); results gathered into $out"
  echo "launch: every process: env GRADWIRE_TOKEN=<per-job token, 32 hex digits, sent on ssh's stdin>"
  for ((s = 0; s < S; s++)); do
    mapfile -d '' -t args < <(server_args "$s")
    echo "server $s on ${server_host[s]}: listens $transport://$bind:$((port + s)), reached at ${server_addr[s]}"
    echo "  ssh $(shjoin "${ssh_opts[@]}" "${server_host[s]}" "$(remote_cmd server "$s" "${args[@]}")")"
  done
  for ((w = 0; w < N; w++)); do
    mapfile -d '' -t args < <(worker_args "$w")
    echo "worker $w on ${worker_host[w]}"
    echo "  ssh $(shjoin "${ssh_opts[@]}" "${worker_host[w]}" "$(remote_cmd worker "$w" "${args[@]}")")"
  done
  if ((shared_out)); then
    echo "afterwards: merge in $out (shared); ssh HOST rm -rf $rdir"
  else
    echo "afterwards: on each host: ssh HOST 'cd $remote_out && tar cf - .' | tar xf - -C $out; ssh HOST rm -rf $rdir"
  fi
}

uniq_hosts() { printf '%s\n' "${server_host[@]}" "${worker_host[@]}" | awk '!seen[$0]++'; }

hostfile_preflight() {
  local h err rc
  while read -r h; do
    rc=0
    err=$(ssh "${ssh_opts[@]}" "$h" "test -x $(shq "$remote_binary") || exit 3; $(shq "$remote_binary") help >/dev/null 2>&1 || exit 4" </dev/null 2>&1) || rc=$?
    case $rc in
      0) ;;
      3) fail "gradwire binary $remote_binary is missing on host $h (copy it there or give --remote-binary PATH)" ;;
      4) fail "gradwire binary $remote_binary on host $h does not run (missing libraries? try: ssh $h $remote_binary help)" ;;
      255) fail "host $h is unreachable over ssh (BatchMode, no password prompts): ${err:-no message}" ;;
      *) fail "ssh $h failed (exit $rc): $err" ;;
    esac
  done < <(uniq_hosts)
}

remote_kill_all() {
  local h
  while read -r h; do
    ssh "${ssh_opts[@]}" "$h" "for f in $(shq "$rdir")/*.pid; do [ -e \"\$f\" ] && kill \"\$(cat \"\$f\")\" 2>/dev/null; done; true" </dev/null >/dev/null 2>&1 || true
  done < <(uniq_hosts)
}

# Stops what runs and removes the per-job directories on every host (early failures).
remote_abort() {
  local h
  remote_kill_all
  ((shared_out)) || sleep 0.5 # let the processes go before their directory does
  while read -r h; do
    ssh "${ssh_opts[@]}" "$h" "rm -rf $(shq "$rdir")" </dev/null >/dev/null 2>&1 || true
  done < <(uniq_hosts)
}

start_ssh() { # role rank host args...
  local role=$1 rank=$2 host=$3
  shift 3
  printf '%s\n' "$token" | ssh "${ssh_opts[@]}" "$host" "$(remote_cmd "$role" "$rank" "$@")" &
  pid_of[$role-$rank]=$!
  what_of[$role-$rank]="$role $rank on $host"
  procs+=("$role-$rank")
}

# Waits for every process in procs; once one fails, the rest get GRACE seconds, then are
# stopped (stop_cmd). Sets failed to the names of failed processes.
failed=""
wait_procs() {
  local grace=$1 stop_cmd=$2 p rc deadline=0 left
  declare -A done_=()
  while true; do
    left=0
    for p in "${procs[@]}"; do
      [[ -n ${done_[$p]:-} ]] && continue
      if kill -0 "${pid_of[$p]}" 2>/dev/null; then
        left=1
        continue
      fi
      rc=0
      wait "${pid_of[$p]}" || rc=$?
      done_[$p]=$rc
      if ((rc != 0)); then
        failed+=" ${what_of[$p]} (exit $rc)"
        ((deadline == 0)) && deadline=$((SECONDS + grace))
      fi
    done
    ((left)) || break
    if ((deadline && SECONDS > deadline)); then
      echo "launch: stopping the processes still running ${grace} s after a failure" >&2
      $stop_cmd
      deadline=$((SECONDS + 1000000))
    fi
    sleep 0.2
  done
}

job_timeout() { # --timeout from the job flags (gradwire's default 30 s)
  local i t=30
  for ((i = 0; i < ${#job[@]}; i++)); do
    case ${job[i]} in
      --timeout) t=${job[i + 1]} ;;
      --timeout=*) t=${job[i]#*=} ;;
    esac
  done
  printf '%.0f' "$t"
}

hostfile_run() {
  local s w args h i ok
  hostfile_preflight
  trap 'echo "launch: interrupted; stopping the remote processes" >&2; remote_abort; exit 130' INT TERM
  for ((s = 0; s < S; s++)); do
    mapfile -d '' -t args < <(server_args "$s")
    start_ssh server "$s" "${server_host[s]}" "${args[@]}"
  done
  # Wait until every server listens (its port file exists), or fail if one exited.
  for ((s = 0; s < S; s++)); do
    ok=0
    for ((i = 0; i < 150; i++)); do
      if ! kill -0 "${pid_of[server-$s]}" 2>/dev/null; then
        wait "${pid_of[server-$s]}" || true
        remote_abort
        fail "server $s on ${server_host[s]} exited before listening; see its message above"
      fi
      if ssh "${ssh_opts[@]}" "${server_host[s]}" "test -s $(shq "$remote_out/server-$s.port")" </dev/null 2>/dev/null; then
        ok=1
        break
      fi
      sleep 0.2
    done
    ((ok)) || { remote_abort; fail "server $s on ${server_host[s]} did not listen within 30 s"; }
  done
  echo "launch: $S server(s) at $servers_list; starting $N worker(s); results in $out/"
  for ((w = 0; w < N; w++)); do
    mapfile -d '' -t args < <(worker_args "$w")
    start_ssh worker "$w" "${worker_host[w]}" "${args[@]}"
  done
  wait_procs "$(($(job_timeout) + 5))" remote_kill_all
  trap - INT TERM
  # Gather (from every host first: two names may be one machine), then clean up.
  if ((!shared_out)); then
    while read -r h; do
      ssh "${ssh_opts[@]}" "$h" "cd $(shq "$remote_out") && tar cf - ." </dev/null | tar xf - -C "$out" ||
        echo "launch: warning: could not copy the results back from $h:$remote_out" >&2
    done < <(uniq_hosts)
  fi
  while read -r h; do
    ssh "${ssh_opts[@]}" "$h" "rm -rf $(shq "$rdir")" </dev/null || true
  done < <(uniq_hosts)
}

# ---- Slurm -------------------------------------------------------------------------------
slurm_steps() { # fills srv_cmd, wrk_cmd
  local sn wn
  sn=$(IFS=,; echo "${hosts[*]:0:ks}")
  wn=$(IFS=,; echo "${hosts[*]:0:kw}")
  srv_cmd=(srun --overlap --overcommit --kill-on-bad-exit=1 --nodes="$ks" --nodelist="$sn"
    --ntasks="$S" --distribution=cyclic
    --export="ALL,DMLC_PS_ROOT_URI=$bind,DMLC_PS_ROOT_PORT=$port"
    "$binary" server --out="$out" "${sizes[@]}" "${job[@]}")
  local prog
  mapfile -d '' -t prog < <(worker_prog "$binary")
  wrk_cmd=(srun --overlap --overcommit --nodes="$kw" --nodelist="$wn" --ntasks="$N"
    --distribution=cyclic --export=ALL
    "${prog[@]}" --servers="$servers_list" --out="$out" "${sizes[@]}" "${job[@]}")
}

slurm_dry() {
  local s w
  slurm_steps
  echo "launch: slurm mode: $S server(s) + $N worker(s) on ${H} node(s) (${hosts[*]}); results in $out (shared by the nodes)"
  echo "launch: both steps: env GRADWIRE_TOKEN=<per-job token, 32 hex digits> exported to srun (--export=ALL)"
  echo "step 1 (servers, in the background): $(shjoin "${srv_cmd[@]}")"
  for ((s = 0; s < S; s++)); do
    echo "server $s on ${server_host[s]}: SLURM_PROCID=$s SLURM_NTASKS=$S DMLC_PS_ROOT_URI=$bind DMLC_PS_ROOT_PORT=$port -> listens $transport://$bind:$((port + s)), reached at ${server_addr[s]}"
  done
  echo "step 2 (workers): $(shjoin "${wrk_cmd[@]}")"
  for ((w = 0; w < N; w++)); do
    echo "worker $w on ${worker_host[w]}: SLURM_PROCID=$w SLURM_NTASKS=$N"
  done
}

slurm_run() {
  command -v srun >/dev/null || fail "srun not found"
  # The binary on every node of the allocation.
  # shellcheck disable=SC2016 # expanded by the sh on each node
  srun --overlap --overcommit --nodes="$H" --ntasks="$H" --ntasks-per-node=1 \
    sh -c '[ -x "$0" ] || { echo "launch: error: gradwire binary $0 is missing on node $(hostname -s)" >&2; exit 3; }' \
    "$binary" || fail "the gradwire binary is not on every node (see above); give --binary PATH on a shared filesystem"
  slurm_steps
  run_steps "srun step" "the server step" "the worker step"
}

# Runs srv_cmd in the background and wrk_cmd in the foreground. The servers end once the
# workers are done; after a failure they get the job's timeout, then are stopped.
# Args: how the servers run (for the start line), the servers' name, the workers' name.
run_steps() {
  local how=$1 srv_name=$2 wrk_name=$3 rc=0 i
  "${srv_cmd[@]}" &
  local srv=$!
  # shellcheck disable=SC2064  # the pid is fixed now
  trap "kill -TERM $srv 2>/dev/null; exit 130" INT TERM
  echo "launch: $S server(s) at $servers_list ($how in the background); starting $N worker(s); results in $out/"
  "${wrk_cmd[@]}" || { rc=$?; failed+=" $wrk_name (exit $rc)"; }
  local grace=$(($(job_timeout) + 5))
  ((rc == 0)) && grace=$((grace + 30))
  for ((i = 0; i < grace * 5; i++)); do
    kill -0 "$srv" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$srv" 2>/dev/null; then
    echo "launch: $srv_name still runs after the workers; stopping it" >&2
    kill -TERM "$srv" 2>/dev/null || true
  fi
  rc=0
  wait "$srv" || rc=$?
  ((rc == 0)) || failed+=" $srv_name (exit $rc)"
  trap - INT TERM
}

# ---- mpirun ------------------------------------------------------------------------------
mpirun_steps() { # fills srv_cmd, wrk_cmd
  local root=() sh="" wh="" i
  (($(id -u) == 0)) && root=(--allow-run-as-root)
  for ((i = 0; i < ks; i++)); do sh+="${sh:+,}${hosts[i]}:${slots[i]}"; done
  for ((i = 0; i < H; i++)); do
    local j=$(((S + i) % H))
    wh+="${wh:+,}${hosts[j]}:${slots[j]}"
  done
  srv_cmd=(mpirun "${root[@]}" --oversubscribe -np "$S" --host "$sh" --map-by node
    -x GRADWIRE_TOKEN -x "DMLC_PS_ROOT_URI=$bind" -x "DMLC_PS_ROOT_PORT=$port"
    "$binary" server --out="$out" "${sizes[@]}" "${job[@]}")
  local prog
  mapfile -d '' -t prog < <(worker_prog "$binary")
  wrk_cmd=(mpirun "${root[@]}" --oversubscribe -np "$N" --host "$wh" --map-by node
    -x GRADWIRE_TOKEN "${prog[@]}" --servers="$servers_list" --out="$out" "${sizes[@]}"
    "${job[@]}")
}

mpirun_available() {
  command -v mpirun >/dev/null && mpirun --version 2>/dev/null | grep -q "Open MPI"
}

mpirun_dry() {
  local s w
  mpirun_steps
  mpirun_available || echo "launch: note: Open MPI's mpirun is not available here (apt-get install openmpi-bin); a real run would stop"
  echo "launch: mpirun mode: $S server(s) + $N worker(s) on ${H} host(s) (${hosts[*]}); results in $out (shared by the hosts)"
  echo "launch: both mpiruns: env GRADWIRE_TOKEN=<per-job token, 32 hex digits> exported by name (-x GRADWIRE_TOKEN)"
  echo "mpirun 1 (servers, in the background): $(shjoin "${srv_cmd[@]}")"
  for ((s = 0; s < S; s++)); do
    echo "server $s on ${server_host[s]}: OMPI_COMM_WORLD_RANK=$s OMPI_COMM_WORLD_SIZE=$S DMLC_PS_ROOT_URI=$bind DMLC_PS_ROOT_PORT=$port -> listens $transport://$bind:$((port + s)), reached at ${server_addr[s]}"
  done
  echo "mpirun 2 (workers): $(shjoin "${wrk_cmd[@]}")"
  for ((w = 0; w < N; w++)); do
    echo "worker $w on ${worker_host[w]}: OMPI_COMM_WORLD_RANK=$w OMPI_COMM_WORLD_SIZE=$N"
  done
  echo "(placement as Open MPI's --map-by node gives it; with slots=K > 1 Open MPI decides)"
}

mpirun_run() {
  mpirun_available || fail "--mpirun: Open MPI's mpirun is not available here (Debian: apt-get install openmpi-bin); use --hostfile or --slurm"
  mpirun_steps
  run_steps "mpirun" "the servers' mpirun" "the workers' mpirun"
}

# ---- results -----------------------------------------------------------------------------
# What `gradwire run` leaves: command.txt, server-<s>.port, and the files made from the
# processes' own (iterations.csv from worker-<w>.csv, rounds.csv and windows.csv from each
# server's, layers.csv), by the same code (`gradwire merge`), with its table of the workers;
# then summary.csv.
finish() {
  local s
  for ((s = 0; s < S; s++)); do
    [[ -s $out/server-$s.port ]] || echo "$((port + s))" >"$out/server-$s.port"
  done
  "$binary" merge --out "$out" --num-servers "$S" --num-workers "$N" ||
    echo "launch: warning: could not merge the results in $out" >&2
  if [[ -s $out/summary.csv ]]; then
    echo
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) k[i] = $i } NR == 2 { for (i = 1; i <= NF; i++) printf "%-20s %s\n", k[i], $i }' "$out/summary.csv"
  fi
}

write_command() {
  {
    echo "$launch_cmdline"
    case $mode in
      hostfile)
        local s w args
        for ((s = 0; s < S; s++)); do
          mapfile -d '' -t args < <(server_args "$s")
          echo "# server $s on ${server_host[s]}: $(shjoin "${args[@]}")"
        done
        for ((w = 0; w < N; w++)); do
          mapfile -d '' -t args < <(worker_args "$w")
          echo "# worker $w on ${worker_host[w]}: $(shjoin "${args[@]}")"
        done ;;
      slurm) slurm_steps; echo "# $(shjoin "${srv_cmd[@]}")"; echo "# $(shjoin "${wrk_cmd[@]}")" ;;
      mpirun) mpirun_steps; echo "# $(shjoin "${srv_cmd[@]}")"; echo "# $(shjoin "${wrk_cmd[@]}")" ;;
    esac
  } >"$out/command.txt"
}

if ((dry)); then
  case $mode in
    hostfile) hostfile_dry ;;
    slurm) slurm_dry ;;
    mpirun) mpirun_dry ;;
  esac
  echo "launch: dry run: nothing started"
  exit 0
fi

mkdir -p "$out"
# As `gradwire run`: stale results of an earlier run in the same directory go first.
find "$out" -maxdepth 1 -type f \( -name '*.csv' -o -name '*.port' \) -delete
write_command
case $mode in
  hostfile) hostfile_run ;;
  slurm) slurm_run ;;
  mpirun) mpirun_run ;;
esac
finish
if [[ -n $failed ]]; then
  fail "the run failed:$failed; see the messages above"
fi
