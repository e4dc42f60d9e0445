#!/usr/bin/env bash
# Emulated parameter-server topologies in network namespaces (issue #6): one server, N workers,
# bridges in a switch namespace, shaped links (HTB + byte-limited bfifo) and an optional constant
# one-way delay per worker<->server path (NFQUEUE delay line, experiments/topo/delayline).
# Needs root, iproute2, iptables (for --delay-ms). See experiments/topo/README.md.
#
# Usage:
#   topo.sh up star --workers N [common options]
#   topo.sh up tree --racks R --per-rack K [--uplink-rate 2gbit] [common options]
#     common: [--rate 1gbit]            server link (the bottleneck), shaped both ways
#             [--buffer BYTES]          bfifo limit of every shaped port (default 1000000)
#             [--worker-rate R]         shape every worker link both ways (default: unshaped)
#             [--slow-workers 1,2 --slow-rate 100mbit]   these ranks' links at R, both ways
#             [--delay-ms D | D0,D1,...]  one-way delay per worker<->server path, both ways
#             [--gso-max BYTES]         cap GSO skb size on every veth (default: kernel's 64 KB)
#             [--sysctl net.K=V]...     set this sysctl in every host's namespace, e.g.
#                                       net.ipv4.tcp_slow_start_after_idle=0 (repeatable)
#   topo.sh down                      tear down (idempotent; safe after a crash)
#   topo.sh show                      print the topology from the state file
#   topo.sh exec HOST cmd [args...]   run cmd in HOST's namespace (HOST: server, wN, sw)
#
# Addressing: server 10.77.0.100 in namespace gwsrv; worker rank r (0-based) 10.77.0.(r+1) in
# gww<r>; every bridge in gwsw. Each host's NIC is gwe0. State: $GW_TOPO_STATE (default
# /run/gradwire-topo/state). Delay line binary: $GW_DELAYLINE, else
# build/experiments/topo/delayline/gw_delayline under the repo root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${GW_TOPO_STATE:-/run/gradwire-topo/state}
state_dir=$(dirname "$state")
ns_pattern='^gw(srv|sw|w[0-9]+)$'
srv_ip=10.77.0.100

die() { echo "topo.sh: $*" >&2; exit 1; }
usage() { sed -n '/^# Usage:/,/^# Addressing/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d' >&2; exit 2; }
need_root() { [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, tc, iptables)"; }

worker_ip() { echo "10.77.0.$(($1 + 1))"; }

# tc rate string -> bit/s; accepts N, Nbit, Nkbit, Nmbit, Ngbit, Ntbit (decimals allowed).
rate_bps() {
  awk -v r="$1" 'BEGIN {
    if (match(r, /^[0-9]+(\.[0-9]+)?/) == 0) exit 1
    v = substr(r, 1, RLENGTH); u = tolower(substr(r, RLENGTH + 1))
    m["bit"] = 1; m[""] = 1; m["kbit"] = 1e3; m["mbit"] = 1e6; m["gbit"] = 1e9; m["tbit"] = 1e12
    if (!(u in m) || v * m[u] <= 0) exit 1
    printf "%.0f\n", v * m[u] }'
}
check_rate() { rate_bps "$1" >/dev/null || die "bad rate '$1' (use e.g. 100mbit, 1gbit)"; }

# ---------------------------------------------------------------------------- teardown
alive() {  # pid: running (an exited process waiting to be reaped does not count)
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

teardown() {
  local pid ns pids left i
  if [[ -f $state ]]; then
    # Delay lines first (they release what they hold and unbind), by their recorded PIDs; a PID
    # is only signalled if it still is a gw_delayline (PIDs are reused after a crash).
    while read -r _ pid _; do
      if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == gw_delayline ]]; then
        kill -TERM "$pid" 2>/dev/null || true
      fi
    done < <(grep '^pid ' "$state" || true)
  fi
  local -A seen=()
  local all=()
  if [[ -f $state ]]; then
    while read -r _ ns; do [[ $ns =~ $ns_pattern ]] && all+=("$ns"); done < <(grep '^ns ' "$state" || true)
  fi
  while read -r ns _; do [[ $ns =~ $ns_pattern ]] && all+=("$ns"); done < <(ip netns list 2>/dev/null || true)
  # Anything still running inside our namespaces (delay lines, iperf3, a PS job started with
  # `topo.sh exec`) would keep the namespace alive after `ip netns del`: end it, TERM then KILL.
  pids=()
  for ns in "${all[@]}"; do
    [[ -n ${seen[$ns]:-} ]] && continue
    seen[$ns]=1
    [[ -e /run/netns/$ns ]] || continue
    while read -r pid; do [[ -n $pid ]] && pids+=("$pid"); done < <(ip netns pids "$ns" 2>/dev/null || true)
  done
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      left=()
      for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
      ((${#left[@]})) || break
      sleep 0.05
    done
    if ((${#left[@]})); then kill -KILL "${left[@]}" 2>/dev/null || true; fi
  fi
  for ns in "${!seen[@]}"; do
    if [[ -e /run/netns/$ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi
  done
  rm -f "$state" "$state_dir"/delayline-gw*.log
  return 0
}

# ---------------------------------------------------------------------------- building blocks
rec() { echo "$*" >>"$state"; }

mkns() {  # ns: empty namespace with lo up, IPv6 off
  local ns=$1
  rec "ns $ns"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  local kv
  for kv in "${sysctls[@]}"; do
    ip netns exec "$ns" sysctl -qw "$kv" >/dev/null || die "--sysctl $kv failed in $ns"
  done
}

mkbridge() {  # bridge name in gwsw
  ip -n gwsw link add "$1" type bridge stp_state 0 forward_delay 0
  ip -n gwsw link set "$1" up
}

# HTB root with one class at `rate` (burst 128kb) and a byte-limited bfifo leaf.
shape() {  # ns dev rate buffer
  tc -n "$1" qdisc replace dev "$2" root handle 1: htb default 10
  tc -n "$1" class add dev "$2" parent 1: classid 1:10 htb rate "$3" ceil "$3" \
    quantum 100000 burst 128kb cburst 128kb
  tc -n "$1" qdisc add dev "$2" parent 1:10 handle 10: bfifo limit "$4"
}

gso_cap() {  # ns dev
  [[ -n $gso_max ]] && ip -n "$1" link set dev "$2" gso_max_size "$gso_max"
  return 0
}

mkhost() {  # ns addr port bridge
  local ns=$1 addr=$2 port=$3 br=$4
  mkns "$ns"
  ip link add gwe0 netns "$ns" type veth peer name "$port" netns gwsw
  ip -n gwsw link set "$port" master "$br" up
  ip -n "$ns" addr add "$addr/24" dev gwe0
  ip -n "$ns" link set gwe0 up
  gso_cap "$ns" gwe0
  gso_cap gwsw "$port"
}

# The worker's link, both ways: switch port egress (towards the worker) and the worker's NIC.
shape_worker() {  # rank rate
  local r=$1 rate=$2
  shape gwsw "gwp$r" "$rate" "$buffer"
  shape "gww$r" gwe0 "$rate" "$buffer"
  rec "link w$r $rate $buffer gwsw/gwp$r+gww$r/gwe0"
}

delayline_bin() {
  local bin=${GW_DELAYLINE:-$repo/build/experiments/topo/delayline/gw_delayline}
  [[ -x $bin ]] || die "delay line binary not found at $bin: run 'make build' (or
  cmake --build build --target gw_delayline) in $repo, or set GW_DELAYLINE"
  echo "$bin"
}

# Starts one delay line in ns serving the given QUEUE:DELAY_US specs and waits until it is bound.
start_delayline() {  # ns spec...
  local ns=$1 log pid i bg
  shift
  log="$state_dir/delayline-$ns.log"
  ip netns exec "$ns" setsid "$delay_bin" "$@" </dev/null >"$log" 2>&1 &
  bg=$!
  for ((i = 0; i < 250; i++)); do
    grep -q 'gw_delayline: ready' "$log" 2>/dev/null && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.02
  done
  grep -q 'gw_delayline: ready' "$log" ||
    die "delay line in $ns did not start ($delay_bin $*): $(cat "$log" 2>/dev/null || true)"
  pid=$(for p in $(ip netns pids "$ns"); do
          [[ $(cat "/proc/$p/comm" 2>/dev/null) == gw_delayline ]] && echo "$p"; done | tail -1)
  [[ -n $pid ]] || die "delay line in $ns not found after start"
  rec "pid $pid $ns $*"
}

nfqueue_rule() {  # ns src queue
  ip netns exec "$1" iptables -w -t raw -A PREROUTING -s "$2" -j NFQUEUE --queue-num "$3"
}

# ---------------------------------------------------------------------------- up
cmd_up() {
  local kind=${1:-}
  [[ $kind == star || $kind == tree ]] || usage
  shift
  local workers='' racks='' per_rack='' rate=1gbit uplink_rate=2gbit worker_rate='' slow='' \
    slow_rate='' delay_arg=''
  buffer=1000000 gso_max=''
  sysctls=()
  while (($#)); do
    [[ $# -ge 2 ]] || die "option $1 needs a value"
    case $1 in
      --workers) workers=$2 ;;
      --racks) racks=$2 ;;
      --per-rack) per_rack=$2 ;;
      --rate) rate=$2 ;;
      --uplink-rate) uplink_rate=$2 ;;
      --buffer) buffer=$2 ;;
      --worker-rate) worker_rate=$2 ;;
      --slow-workers) slow=$2 ;;
      --slow-rate) slow_rate=$2 ;;
      --delay-ms) delay_arg=$2 ;;
      --gso-max) gso_max=$2 ;;
      --sysctl) sysctls+=("$2") ;;
      *) die "unknown option $1 (see: topo.sh with no arguments)" ;;
    esac
    shift 2
  done
  local n
  if [[ $kind == star ]]; then
    [[ $workers =~ ^[1-9][0-9]*$ ]] || die "star needs --workers N (N >= 1)"
    [[ -z $racks$per_rack ]] || die "--racks/--per-rack are for tree"
    n=$workers
  else
    [[ $racks =~ ^[1-9][0-9]*$ && $per_rack =~ ^[1-9][0-9]*$ ]] || die "tree needs --racks R --per-rack K"
    [[ -z $workers ]] || die "--workers is for star (tree has R x K workers)"
    n=$((racks * per_rack))
    check_rate "$uplink_rate"
  fi
  ((n <= 99)) || die "at most 99 workers (10.77.0.1-99; the server is .100)"
  check_rate "$rate"
  [[ $buffer =~ ^[1-9][0-9]*$ ]] || die "--buffer wants bytes, e.g. 1000000"
  [[ -z $gso_max || $gso_max =~ ^[1-9][0-9]*$ ]] || die "--gso-max wants bytes, e.g. 16384"
  [[ -z $worker_rate ]] || check_rate "$worker_rate"
  local kv
  for kv in "${sysctls[@]}"; do
    # Only network sysctls: a namespace has its own copy of those, so nothing outside changes.
    [[ $kv =~ ^net\.[a-z0-9_.]+=[^[:space:]]+$ ]] ||
      die "--sysctl wants net.KEY=VALUE (a per-namespace network sysctl), not '$kv'"
  done
  local -a slow_ranks=()
  if [[ -n $slow ]]; then
    [[ -n $slow_rate ]] || die "--slow-workers needs --slow-rate"
    check_rate "$slow_rate"
    IFS=, read -r -a slow_ranks <<<"$slow"
    local s
    for s in "${slow_ranks[@]}"; do
      if ! [[ $s =~ ^[0-9]+$ ]] || ((s >= n)); then
        die "--slow-workers: '$s' is not a worker rank (0..$((n - 1)))"
      fi
    done
  elif [[ -n $slow_rate ]]; then
    die "--slow-rate needs --slow-workers"
  fi
  # One-way delay per worker in microseconds (0 = none).
  local -a delay_us=()
  if [[ -n $delay_arg ]]; then
    local -a dms=()
    IFS=, read -r -a dms <<<"$delay_arg"
    if ((${#dms[@]} == 1)); then
      local i
      for ((i = 0; i < n; i++)); do dms[i]=${dms[0]}; done
    fi
    ((${#dms[@]} == n)) || die "--delay-ms: give one value or $n (one per worker), got ${#dms[@]}"
    local d
    for d in "${dms[@]}"; do
      [[ $d =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--delay-ms: bad value '$d' (milliseconds)"
      delay_us+=("$(awk -v d="$d" 'BEGIN { printf "%d", d * 1000 + 0.5 }')")
    done
    delay_bin=$(delayline_bin)
    command -v iptables >/dev/null || die "iptables missing (apt-get install iptables)"
  fi

  teardown
  mkdir -p "$state_dir"
  : >"$state"
  built=0
  trap '[[ $built == 1 ]] || { echo "topo.sh: up failed, tearing down" >&2; teardown; }' EXIT
  rec "# gradwire emulated topology, written by experiments/topo/topo.sh; read by 'topo.sh show'"
  rec "topology $kind"
  rec "created $(date -Is)"
  rec "workers $n"
  rec "buffer $buffer"
  [[ -n $gso_max ]] && rec "gso_max $gso_max"
  for kv in "${sysctls[@]}"; do rec "sysctl $kv"; done

  mkns gwsw
  if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then  # only with br_netfilter loaded
    ip netns exec gwsw sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
      net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
  fi
  mkbridge gwbr0  # star: the switch; tree: the core

  mkhost gwsrv "$srv_ip" gwps gwbr0
  rec "host server gwsrv $srv_ip core"
  # The bottleneck: switch->server on the switch port, server->switch on the server NIC.
  shape gwsw gwps "$rate" "$buffer"
  shape gwsrv gwe0 "$rate" "$buffer"
  rec "link server $rate $buffer gwsw/gwps+gwsrv/gwe0"

  local r k br where
  if [[ $kind == tree ]]; then
    rec "racks $racks $per_rack"
    for ((k = 0; k < racks; k++)); do
      mkbridge "gwtor$k"
      ip -n gwsw link add "gwu${k}a" type veth peer name "gwu${k}b"
      ip -n gwsw link set "gwu${k}a" master "gwtor$k" up
      ip -n gwsw link set "gwu${k}b" master gwbr0 up
      gso_cap gwsw "gwu${k}a"
      gso_cap gwsw "gwu${k}b"
      shape gwsw "gwu${k}a" "$uplink_rate" "$buffer"  # rack -> core
      shape gwsw "gwu${k}b" "$uplink_rate" "$buffer"  # core -> rack
      rec "link uplink$k $uplink_rate $buffer gwsw/gwu${k}a+gwsw/gwu${k}b"
    done
  fi
  for ((r = 0; r < n; r++)); do
    if [[ $kind == tree ]]; then
      k=$((r / per_rack)) br=gwtor$((r / per_rack)) where=rack$((r / per_rack))
    else
      br=gwbr0 where=core
    fi
    mkhost "gww$r" "$(worker_ip "$r")" "gwp$r" "$br"
    rec "host w$r gww$r $(worker_ip "$r") $where"
  done
  local -A is_slow=()
  for r in "${slow_ranks[@]}"; do is_slow[$r]=1; done
  for ((r = 0; r < n; r++)); do
    if [[ -n ${is_slow[$r]:-} ]]; then
      shape_worker "$r" "$slow_rate"
    elif [[ -n $worker_rate ]]; then
      shape_worker "$r" "$worker_rate"
    fi
  done

  if ((${#delay_us[@]})); then
    # Worker->server: queue r+1 at the server's ingress, all served by one process. Server->
    # worker: queue 0 at each worker's ingress, one process per worker. Delay lines start (and
    # bind) before the rules that feed them, so no packet meets an unbound queue.
    local -a srv_specs=()
    for ((r = 0; r < n; r++)); do
      ((delay_us[r] > 0)) && srv_specs+=("$((r + 1)):${delay_us[r]}")
      rec "delay w$r ${delay_us[r]}"
    done
    if ((${#srv_specs[@]})); then
      start_delayline gwsrv "${srv_specs[@]}"
      for ((r = 0; r < n; r++)); do
        ((delay_us[r] > 0)) || continue
        nfqueue_rule gwsrv "$(worker_ip "$r")" $((r + 1))
        start_delayline "gww$r" "0:${delay_us[r]}"
        nfqueue_rule "gww$r" "$srv_ip" 0
      done
    fi
  fi
  built=1
  trap - EXIT
  cmd_show
}

# ---------------------------------------------------------------------------- show / exec
cmd_show() {
  [[ -f $state ]] || { echo "topo.sh: no topology up (no state file $state)"; return 0; }
  awk -v state="$state" '
    $1 == "topology" { kind = $2 } $1 == "workers" { n = $2 } $1 == "racks" { racks = $2; per = $3 }
    $1 == "buffer" { buffer = $2 } $1 == "gso_max" { gso = $2 } $1 == "created" { created = $2 }
    $1 == "host" { hosts[++nh] = $2; hns[$2] = $3; hip[$2] = $4; hwhere[$2] = $5 }
    $1 == "link" { lrate[$2] = $3; lbuf[$2] = $4; lwhere[$2] = $5; if ($2 ~ /^uplink/) up[++nu] = $2 }
    $1 == "delay" { delay[$2] = $3 }
    $1 == "sysctl" { sysctls = sysctls " " $2 }
    $1 == "pid" { pids = pids " " $2 "(" $3 ")" }
    END {
      if (kind == "tree") printf "topology: tree, %d racks x %d workers per rack", racks, per
      else printf "topology: star, %d worker%s", n, n == 1 ? "" : "s"
      printf "  (created %s; state %s)\n", created, state
      printf "shaped ports: HTB (burst 128kb) + bfifo, default buffer %d bytes%s\n", buffer,
        gso ? ", gso_max_size " gso : ""
      if (sysctls != "") printf "sysctls in every namespace:%s\n", sysctls
      printf "%-7s %-6s %-12s %-6s %-22s %-9s %s\n", "host", "netns", "address", "where",
        "link rate (both ways)", "buffer", "one-way delay to/from server"
      for (i = 1; i <= nh; i++) {
        h = hosts[i]
        rate = (h in lrate) ? lrate[h] : "unshaped"
        b = (h in lbuf) ? lbuf[h] : "-"
        d = (h in delay && delay[h] > 0) ? sprintf("%.3f ms", delay[h] / 1000) : "-"
        if (h == "server") d = ""
        printf "%-7s %-6s %-12s %-6s %-22s %-9s %s\n", h, hns[h], hip[h], hwhere[h], rate, b, d
      }
      for (i = 1; i <= nu; i++)
        printf "%-7s %-6s %-12s %-6s %-22s %-9s (%s)\n", up[i], "gwsw", "-", "-", lrate[up[i]],
          lbuf[up[i]], lwhere[up[i]]
      if (pids != "") printf "delay lines (pid(netns)):%s\n", pids
    }' "$state"
}

cmd_exec() {
  local host=${1:-} ns
  [[ -n $host ]] || die "usage: topo.sh exec HOST cmd [args...]  (HOST: server, wN, sw)"
  shift
  (($#)) || die "exec: no command given"
  case $host in
    server) ns=gwsrv ;;
    sw) ns=gwsw ;;
    w[0-9]*) [[ $host =~ ^w[0-9]+$ ]] || die "bad host '$host'"; ns=gww${host#w} ;;
    *) die "bad host '$host' (server, wN with N the 0-based worker rank, or sw)" ;;
  esac
  [[ -e /run/netns/$ns ]] || die "no namespace $ns (is the topology up? topo.sh show)"
  exec ip netns exec "$ns" "$@"
}

case ${1:-} in
  up) need_root; shift; cmd_up "$@" ;;
  down) need_root; teardown ;;
  show) cmd_show ;;
  exec) shift; cmd_exec "$@" ;;
  *) usage ;;
esac
