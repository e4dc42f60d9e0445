#!/usr/bin/env bash
# Emulated parameter-server topologies in network namespaces (issue #6): S servers, N workers,
# bridges in a switch namespace, shaped links (HTB + byte-limited bfifo) and an optional constant
# one-way delay per worker<->server path (NFQUEUE delay line, experiments/topo/delayline).
# Needs root, iproute2, iptables (for --delay-ms). See experiments/topo/README.md.
#
# Usage:
#   topo.sh [--prefix P] COMMAND ...  every command acts only on topology P (default
#                                     $GW_TOPO_PREFIX, else gw); P matches [a-z][a-z0-9]{0,5}
#   topo.sh up star --workers N [common options]
#   topo.sh up tree --racks R --per-rack K [--uplink-rate 2gbit] [common options]
#     common: [--servers S]             S server hosts (default 1); tree: all off the core
#             [--rate 1gbit]            each server link (the bottleneck), shaped both ways
#             [--buffer BYTES]          bfifo limit of every shaped port (default 1000000)
#             [--worker-rate R]         shape every worker link both ways (default: unshaped)
#             [--slow-workers 1,2 --slow-rate 100mbit]   these ranks' links at R, both ways
#             [--delay-ms D | D0,D1,...]  one-way delay per worker<->server path, both ways
#             [--gso-max BYTES]         cap GSO skb size on every veth (default: kernel's 64 KB)
#             [--host-queue Q]          queue of shaped host NICs (servers' and workers' gwe0):
#                                       fifo (default: one bfifo, like a switch port) or
#                                       small-first (IP packets under 128 bytes: ACKs, grants,
#                                       notices, go before bulk data, as the sparse-flow queue of
#                                       Linux's default fq_codel sends them; this kernel has no
#                                       fq_codel); switch ports stay fifo
#             [--sysctl net.K=V]...     set this sysctl in every host's namespace, e.g.
#                                       net.ipv4.tcp_slow_start_after_idle=0 (repeatable)
#   topo.sh down                      tear down (idempotent; safe after a crash)
#   topo.sh show                      print the topology from the state file
#   topo.sh exec HOST cmd [args...]   run cmd in HOST's namespace (HOST: server (= s0), sK, wN, sw)
#
# Addressing (the same in every topology; the prefix only names the namespaces): server 0
# 10.77.0.100 in namespace <P>srv, server k >= 1 10.77.0.(100+k) in <P>srv<k>; worker rank r
# (0-based) 10.77.0.(r+1) in <P>w<r>; every bridge in <P>sw. Each host's NIC is gwe0. State:
# $GW_TOPO_STATE (default /run/gradwire-topo/state for prefix gw, /run/gradwire-topo/<P>/state
# for any other). Delay line binary: $GW_DELAYLINE, else
# build/experiments/topo/delayline/gw_delayline under the repo root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "topo.sh: $*" >&2; exit 1; }

# The topology's prefix names its namespaces (<P>srv, <P>srv<k>, <P>sw, <P>w<r>) and its state;
# nothing else. Interfaces, bridges and addresses live inside those namespaces, so two
# topologies reuse them without clashing. No name of one prefix can be a name of another
# (<P>srv[0-9]*, <P>sw, <P>w[0-9]+ have no suffix that is itself one of these forms), so `down`
# of one prefix never matches another's namespaces.
set_prefix() {  # P
  [[ $1 =~ ^[a-z][a-z0-9]{0,5}$ ]] ||
    die "bad topology prefix '$1': it names the namespaces (<P>srv, <P>sw, <P>w<r>), so it must be a lowercase letter then at most 5 lowercase letters or digits ([a-z][a-z0-9]{0,5}), e.g. gw, gwb, run2"
  prefix=$1
  ns_sw=${prefix}sw
  ns_pattern="^${prefix}(srv[0-9]*|sw|w[0-9]+)\$"
  if [[ -n ${GW_TOPO_STATE:-} ]]; then
    state=$GW_TOPO_STATE
  elif [[ $prefix == gw ]]; then
    state=/run/gradwire-topo/state  # as before prefixes existed
  else
    state=/run/gradwire-topo/$prefix/state
  fi
  state_dir=$(dirname "$state")
}
set_prefix "${GW_TOPO_PREFIX:-gw}"

usage() { sed -n '/^# Usage:/,/^# Addressing/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d' >&2; exit 2; }
need_root() { [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, tc, iptables)"; }

worker_ip() { echo "10.77.0.$(($1 + 1))"; }
server_ip() { echo "10.77.0.$((100 + $1))"; }
worker_ns() { echo "${prefix}w$1"; }
server_ns() { if (($1 == 0)); then echo "${prefix}srv"; else echo "${prefix}srv$1"; fi; }
server_host() { if (($1 == 0)); then echo server; else echo "s$1"; fi; }  # name in the state
server_port() { if (($1 == 0)); then echo gwps; else echo "gwps$1"; fi; }  # its switch port

# The prefix a state file was written for (files from before prefixes: gw).
state_prefix() {
  awk '$1 == "prefix" { p = $2 } END { print (p == "" ? "gw" : p) }' "$state"
}
# A state file shared through GW_TOPO_STATE must not be taken over by another prefix: `up` would
# overwrite it and `down` would signal the other topology's delay lines.
check_state_owner() {
  local owner
  [[ -f $state ]] || return 0
  owner=$(state_prefix)
  [[ $owner == "$prefix" ]] ||
    die "state file $state belongs to topology prefix '$owner', not '$prefix': give each prefix its own GW_TOPO_STATE (or unset it for /run/gradwire-topo/<prefix>/state)"
}

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
  check_state_owner
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
  for ns in "${!seen[@]}"; do rm -f "$state_dir/delayline-$ns.log"; done
  rm -f "$state"
  rmdir "$state_dir" 2>/dev/null || true  # only if empty (another prefix's files stay)
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

mkbridge() {  # bridge name in the switch namespace
  ip -n "$ns_sw" link add "$1" type bridge stp_state 0 forward_delay 0
  ip -n "$ns_sw" link set "$1" up
}

# HTB root with one class at `rate` (burst 128kb) and a byte-limited bfifo leaf. small-first:
# two leaves under that class, packets under 128 bytes (u32 on the IP total length) in one of
# priority 0, the rest in one of priority 1; each guaranteed its rate (1 % for the small one),
# both able to borrow the whole class, and HTB serves the higher priority first.
shape() {  # ns dev rate buffer [queue]
  local htb=(htb quantum 100000 burst 128kb cburst 128kb)
  tc -n "$1" qdisc replace dev "$2" root handle 1: htb default 10
  if [[ ${5:-fifo} == small-first ]]; then
    local bps
    bps=$(rate_bps "$3")
    tc -n "$1" class add dev "$2" parent 1: classid 1:1 "${htb[@]}" rate "$3" ceil "$3"
    tc -n "$1" class add dev "$2" parent 1:1 classid 1:10 "${htb[@]}" rate "$3" ceil "$3" prio 1
    tc -n "$1" class add dev "$2" parent 1:1 classid 1:20 "${htb[@]}" rate "$((bps / 100))bit" \
      ceil "$3" prio 0
    tc -n "$1" qdisc add dev "$2" parent 1:20 handle 20: bfifo limit "$4"
    tc -n "$1" filter add dev "$2" parent 1: protocol ip prio 1 u32 \
      match u16 0x0000 0xff80 at 2 flowid 1:20
  else
    tc -n "$1" class add dev "$2" parent 1: classid 1:10 "${htb[@]}" rate "$3" ceil "$3"
  fi
  tc -n "$1" qdisc add dev "$2" parent 1:10 handle 10: bfifo limit "$4"
}

gso_cap() {  # ns dev
  [[ -n $gso_max ]] && ip -n "$1" link set dev "$2" gso_max_size "$gso_max"
  return 0
}

mkhost() {  # ns addr port bridge
  local ns=$1 addr=$2 port=$3 br=$4
  mkns "$ns"
  # Both ends are created inside their namespaces (never in the root namespace).
  ip link add gwe0 netns "$ns" type veth peer name "$port" netns "$ns_sw"
  ip -n "$ns_sw" link set "$port" master "$br" up
  ip -n "$ns" addr add "$addr/24" dev gwe0
  ip -n "$ns" link set gwe0 up
  gso_cap "$ns" gwe0
  gso_cap "$ns_sw" "$port"
}

# The worker's link, both ways: switch port egress (towards the worker) and the worker's NIC.
shape_worker() {  # rank rate
  local r=$1 rate=$2 ns
  ns=$(worker_ns "$r")
  shape "$ns_sw" "gwp$r" "$rate" "$buffer"
  shape "$ns" gwe0 "$rate" "$buffer" "$host_queue"
  rec "link w$r $rate $buffer $ns_sw/gwp$r+$ns/gwe0"
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
    slow_rate='' delay_arg='' servers=1
  buffer=1000000 gso_max='' host_queue=fifo
  sysctls=()
  while (($#)); do
    [[ $# -ge 2 ]] || die "option $1 needs a value"
    case $1 in
      --prefix) set_prefix "$2" ;;
      --workers) workers=$2 ;;
      --servers) servers=$2 ;;
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
      --host-queue) host_queue=$2 ;;
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
  ((n <= 99)) || die "at most 99 workers (10.77.0.1-99; the servers are .100 and up)"
  [[ $servers =~ ^[1-9][0-9]?$ ]] || die "--servers wants 1..99, not '$servers'"
  check_rate "$rate"
  [[ $buffer =~ ^[1-9][0-9]*$ ]] || die "--buffer wants bytes, e.g. 1000000"
  [[ -z $gso_max || $gso_max =~ ^[1-9][0-9]*$ ]] || die "--gso-max wants bytes, e.g. 16384"
  [[ $host_queue == fifo || $host_queue == small-first ]] ||
    die "--host-queue wants fifo or small-first, not '$host_queue'"
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

  teardown  # this prefix's leftovers only
  mkdir -p "$state_dir"
  : >"$state"
  built=0
  trap '[[ $built == 1 ]] || { echo "topo.sh: up failed, tearing down" >&2; teardown; }' EXIT
  rec "# gradwire emulated topology, written by experiments/topo/topo.sh; read by 'topo.sh show'"
  rec "prefix $prefix"
  rec "topology $kind"
  rec "created $(date -Is)"
  rec "workers $n"
  rec "servers $servers"
  rec "buffer $buffer"
  [[ -n $gso_max ]] && rec "gso_max $gso_max"
  rec "host_queue $host_queue"
  for kv in "${sysctls[@]}"; do rec "sysctl $kv"; done

  mkns "$ns_sw"
  if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then  # only with br_netfilter loaded
    ip netns exec "$ns_sw" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
      net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
  fi
  mkbridge gwbr0  # star: the switch; tree: the core

  # Every server on the star/core bridge. Each server link is a bottleneck: switch->server on
  # the switch port, server->switch on the server NIC.
  local s sns sport
  for ((s = 0; s < servers; s++)); do
    sns=$(server_ns "$s") sport=$(server_port "$s")
    mkhost "$sns" "$(server_ip "$s")" "$sport" gwbr0
    rec "host $(server_host "$s") $sns $(server_ip "$s") core"
    shape "$ns_sw" "$sport" "$rate" "$buffer"
    shape "$sns" gwe0 "$rate" "$buffer" "$host_queue"
    rec "link $(server_host "$s") $rate $buffer $ns_sw/$sport+$sns/gwe0"
  done

  local r k br where
  if [[ $kind == tree ]]; then
    rec "racks $racks $per_rack"
    for ((k = 0; k < racks; k++)); do
      mkbridge "gwtor$k"
      ip -n "$ns_sw" link add "gwu${k}a" type veth peer name "gwu${k}b"
      ip -n "$ns_sw" link set "gwu${k}a" master "gwtor$k" up
      ip -n "$ns_sw" link set "gwu${k}b" master gwbr0 up
      gso_cap "$ns_sw" "gwu${k}a"
      gso_cap "$ns_sw" "gwu${k}b"
      shape "$ns_sw" "gwu${k}a" "$uplink_rate" "$buffer"  # rack -> core
      shape "$ns_sw" "gwu${k}b" "$uplink_rate" "$buffer"  # core -> rack
      rec "link uplink$k $uplink_rate $buffer $ns_sw/gwu${k}a+$ns_sw/gwu${k}b"
    done
  fi
  for ((r = 0; r < n; r++)); do
    if [[ $kind == tree ]]; then
      br=gwtor$((r / per_rack)) where=rack$((r / per_rack))
    else
      br=gwbr0 where=core
    fi
    mkhost "$(worker_ns "$r")" "$(worker_ip "$r")" "gwp$r" "$br"
    rec "host w$r $(worker_ns "$r") $(worker_ip "$r") $where"
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
    # Worker->server: queue r+1 at each server's ingress, all of a server's queues served by one
    # process. Server->worker: queue 0 at each worker's ingress (one rule per server, all into
    # that queue), one process per worker. NFQUEUE numbers are per network namespace, so these
    # numbers repeat across servers and across topologies without clashing. Delay lines start
    # (and bind) before the rules that feed them, so no packet meets an unbound queue.
    local -a srv_specs=()
    for ((r = 0; r < n; r++)); do
      ((delay_us[r] > 0)) && srv_specs+=("$((r + 1)):${delay_us[r]}")
      rec "delay w$r ${delay_us[r]}"
    done
    if ((${#srv_specs[@]})); then
      for ((s = 0; s < servers; s++)); do
        sns=$(server_ns "$s")
        start_delayline "$sns" "${srv_specs[@]}"
        for ((r = 0; r < n; r++)); do
          ((delay_us[r] > 0)) && nfqueue_rule "$sns" "$(worker_ip "$r")" $((r + 1))
        done
      done
      for ((r = 0; r < n; r++)); do
        ((delay_us[r] > 0)) || continue
        start_delayline "$(worker_ns "$r")" "0:${delay_us[r]}"
        for ((s = 0; s < servers; s++)); do
          nfqueue_rule "$(worker_ns "$r")" "$(server_ip "$s")" 0
        done
      done
    fi
  fi
  built=1
  trap - EXIT
  cmd_show
}

# ---------------------------------------------------------------------------- show / exec
cmd_show() {
  [[ -f $state ]] || { echo "topo.sh: no topology '$prefix' up (no state file $state)"; return 0; }
  check_state_owner
  awk -v state="$state" -v sw="$ns_sw" '
    $1 == "topology" { kind = $2 } $1 == "workers" { n = $2 } $1 == "racks" { racks = $2; per = $3 }
    $1 == "servers" { ns = $2 } $1 == "prefix" { prefix = $2 }
    $1 == "buffer" { buffer = $2 } $1 == "gso_max" { gso = $2 } $1 == "created" { created = $2 }
    $1 == "host_queue" { hostq = $2 }
    $1 == "host" { hosts[++nh] = $2; hns[$2] = $3; hip[$2] = $4; hwhere[$2] = $5 }
    $1 == "link" { lrate[$2] = $3; lbuf[$2] = $4; lwhere[$2] = $5; if ($2 ~ /^uplink/) up[++nu] = $2 }
    $1 == "delay" { delay[$2] = $3 }
    $1 == "sysctl" { sysctls = sysctls " " $2 }
    $1 == "pid" { pids = pids " " $2 "(" $3 ")" }
    END {
      if (ns == "") ns = 1
      if (prefix == "") prefix = "gw"
      if (kind == "tree") printf "topology %s: tree, %d racks x %d workers per rack", prefix, racks, per
      else printf "topology %s: star, %d worker%s", prefix, n, n == 1 ? "" : "s"
      printf ", %d server%s  (created %s; state %s)\n", ns, ns == 1 ? "" : "s", created, state
      printf "shaped ports: HTB (burst 128kb) + bfifo%s, default buffer %d bytes%s\n",
        hostq == "small-first" ? " (host NICs: small packets first)" : "", buffer, gso ? ", gso_max_size " gso : ""
      if (sysctls != "") printf "sysctls in every namespace:%s\n", sysctls
      printf "%-7s %-11s %-12s %-6s %-22s %-9s %s\n", "host", "netns", "address", "where",
        "link rate (both ways)", "buffer", "one-way delay to/from servers"
      for (i = 1; i <= nh; i++) {
        h = hosts[i]
        rate = (h in lrate) ? lrate[h] : "unshaped"
        b = (h in lbuf) ? lbuf[h] : "-"
        d = (h in delay && delay[h] > 0) ? sprintf("%.3f ms", delay[h] / 1000) : "-"
        if (h !~ /^w[0-9]+$/) d = ""
        printf "%-7s %-11s %-12s %-6s %-22s %-9s %s\n", h, hns[h], hip[h], hwhere[h], rate, b, d
      }
      for (i = 1; i <= nu; i++)
        printf "%-7s %-11s %-12s %-6s %-22s %-9s (%s)\n", up[i], sw, "-", "-", lrate[up[i]],
          lbuf[up[i]], lwhere[up[i]]
      if (pids != "") printf "delay lines (pid(netns)):%s\n", pids
    }' "$state"
}

cmd_exec() {
  local host=${1:-} ns
  [[ -n $host ]] || die "usage: topo.sh exec HOST cmd [args...]  (HOST: server, sK, wN, sw)"
  shift
  (($#)) || die "exec: no command given"
  case $host in
    server) ns=$(server_ns 0) ;;
    sw) ns=$ns_sw ;;
    s[0-9]*) [[ $host =~ ^s(0|[1-9][0-9]?)$ ]] || die "bad host '$host'"; ns=$(server_ns "${host#s}") ;;
    w[0-9]*) [[ $host =~ ^w(0|[1-9][0-9]?)$ ]] || die "bad host '$host'"; ns=$(worker_ns "${host#w}") ;;
    *) die "bad host '$host' (server or sK: server rank K, s0 = server; wN: worker rank N; sw: the switch)" ;;
  esac
  [[ -e /run/netns/$ns ]] || die "no namespace $ns: is topology '$prefix' up with that host? (topo.sh --prefix $prefix show)"
  exec ip netns exec "$ns" "$@"
}

# `--prefix P` before the command or right after it; `up` also takes it among its options.
while [[ ${1:-} == --prefix ]]; do
  [[ $# -ge 2 ]] || die "--prefix needs a value"
  set_prefix "$2"
  shift 2
done
cmd=${1:-}
(($#)) && shift
while [[ ${1:-} == --prefix ]]; do
  [[ $# -ge 2 ]] || die "--prefix needs a value"
  set_prefix "$2"
  shift 2
done
case $cmd in
  up) need_root; cmd_up "$@" ;;
  down) need_root; teardown ;;
  show) cmd_show ;;
  exec) cmd_exec "$@" ;;
  *) usage ;;
esac
