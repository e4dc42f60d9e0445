#!/usr/bin/env bash
# Checks experiments/topo/topo.sh on this machine: builds each topology, measures it, tears it
# down; then two topologies of different prefixes at once, several servers and short gradwire
# jobs in them (experiments/lib/netns_job.sh). Prints PASS/FAIL per check and a summary; exits 1
# if any check failed. Needs root, iperf3, iputils-ping, iptables, the delay line and gradwire
# (make build). Takes about 2 minutes.
#
# What is compared (see README.md):
#   * rates: iperf3 -C cubic goodput (receiver side, first second omitted) against the configured
#     L2 rate x 1448/1514 (= 0.9564: TCP payload per 1514-byte Ethernet frame with timestamps),
#     within 5 % (a measurement under the band is taken again, up to RATE_TRIES=3 times, the best
#     counting: load only takes goodput away; one above the band fails at once);
#   * delay: ping -U median RTT minus the same measurement without delay, against 2 x D
#     (one-way D each direction), within 0.5 ms;
#   * teardown: no namespace of the topology's prefix in `ip netns list`, no process of the
#     topology still alive; tearing down one prefix leaves another's namespaces and processes;
#   * jobs: netns_job runs to the end in each of two topologies at once and with 2 servers
#     (server-0.csv and server-1.csv written); GW_NETNS_TRANSPORT=rdma without an RDMA device is
#     refused within seconds; a bad prefix is refused.
# Usage: experiments/topo/test.sh [GRADWIRE]   (default: $GRADWIRE, else build/apps/gradwire/gradwire)
# Environment: T=5 (iperf3 seconds, plus 1 omitted), TOL=0.05, RATE_TRIES=3, DELAY_EARLY_MS, DELAY_LATE_MS,
# DELAY_TOL_REL (below), GW_TOPO_PREFIX (default gw: the prefix of every topology built here; the
# two-topology check adds <first 5 characters>2), GW_DELAYLINE.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
topo="$here/topo.sh"
gradwire=${1:-${GRADWIRE:-$here/../../build/apps/gradwire/gradwire}}
secs=${T:-5}
tol=${TOL:-0.05}
# The delay line never delivers early, but it adds a fixed cost per pass: an NFQUEUE round trip and a
# timer wake-up of a userspace process. That cost was 0.04-0.4 ms per direction on an idle 2-core
# host and 0.33-0.41 ms on a loaded CI machine (2.647 ms added for 2 x 1 ms, 20.827 for 2 x 10 ms),
# so the bound is one-sided: added RTT in [2D - DELAY_EARLY_MS, 2D + DELAY_LATE_MS + DELAY_TOL_REL x 2D]
# (the low side is not clamped at 0: the baseline's own noise can exceed an undelayed path's RTT).
# With the defaults a missing delay (0) or a doubled one (4D) still fails for every D >= 1 ms
# (checked below before any measurement).
delay_early=${DELAY_EARLY_MS:-0.2}
delay_late=${DELAY_LATE_MS:-1.0}
delay_tol_rel=${DELAY_TOL_REL:-0.05}
srv=10.77.0.100
# The topology prefix every check here uses (topo.sh reads it too); the two-topology check adds
# a second one. Only namespaces of these prefixes are looked at or torn down, so a topology of
# another prefix (another experiment on this machine) is left alone.
export GW_TOPO_PREFIX=${GW_TOPO_PREFIX:-gw}
P=$GW_TOPO_PREFIX
P0=$P
tag() { [[ $P == "$P0" ]] || echo " ($P)"; }  # marks a check made in the second topology
Q=${P:0:5}2
[[ $Q != "$P" ]] || Q=${P:0:5}3
goodput_per_l2=$(awk 'BEGIN { printf "%.6f", 1448 / 1514 }')

[[ $(id -u) -eq 0 ]] || { echo "test.sh: needs root" >&2; exit 1; }
for tool in iperf3 ping iptables ss; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool missing (make deps)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-topo-test.XXXXXX")
trap '"$topo" down >/dev/null 2>&1 || true; GW_TOPO_STATE="" "$topo" --prefix "$Q" down >/dev/null 2>&1 || true
      rm -rf "$tmp"' EXIT

# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"
# shellcheck source=../lib/netns_job.sh
source "$here/../lib/netns_job.sh"
within() {  # measured expected relative-tolerance -> exit status
  awk -v m="$1" -v e="$2" -v t="$3" 'BEGIN { d = m / e - 1; if (d < 0) d = -d; exit !(d <= t) }'
}
bps() { awk -v r="$1" 'BEGIN { match(r, /^[0-9.]+/); v = substr(r, 1, RLENGTH); u = substr(r, RLENGTH + 1)
  m["bit"] = 1; m[""] = 1; m["kbit"] = 1e3; m["mbit"] = 1e6; m["gbit"] = 1e9; printf "%.0f", v * m[u] }'; }
ns_of() { case $1 in server | s0) echo "${P}srv" ;; s*) echo "${P}srv${1#s}" ;; w*) echo "${P}w${1#w}" ;; esac; }
ip_of() { case $1 in server) echo "$srv" ;; s*) echo "10.77.0.$((${1#s} + 100))" ;; w*) echo "10.77.0.$((${1#w} + 1))" ;; esac; }
# A prefix's state file and namespace pattern, as topo.sh names them (GW_TOPO_STATE, when set,
# is the first prefix's; the second one always gets its default).
state_of() {  # prefix
  if [[ -n ${GW_TOPO_STATE:-} && $1 == "$P" ]]; then echo "$GW_TOPO_STATE"
  elif [[ $1 == gw ]]; then echo /run/gradwire-topo/state
  else echo "/run/gradwire-topo/$1/state"; fi
}
ns_re() { echo "^$1(srv[0-9]*|sw|w[0-9]+)\$"; }
ns_list() { ip netns list | awk -v re="$(ns_re "$1")" '$1 ~ re { print $1 }' | sort; }

up() {  # [--prefix X] topo.sh-up-arguments...
  local pre=()
  [[ ${1:-} == --prefix ]] && { pre=(--prefix "$2"); shift 2; }
  echo "== topo.sh ${pre[*]:+${pre[*]} }up $*"
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$topo" "${pre[@]}" up "$@" >"$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"
    check "up ${pre[*]} $*" 1 "topo.sh up failed"
    return 1
  fi
  t1=$(date +%s.%N)
  check "up ${pre[1]:+${pre[1]} }$1" 0 "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "built in %.2f s", b - a }')"
}

# Every worker pings the server (or server host sK) once (after ARP, so a lost first packet is
# not a failure).
check_ping_all() {  # n [server-host]
  local r bad=() to=${2:-server} name
  name="ping $P: every worker reaches $([[ $to == server ]] && echo "the server" || echo "server ${to#s}")"
  for ((r = 0; r < $1; r++)); do
    "$topo" exec "w$r" ping -q -c 1 -W 2 "$(ip_of "$to")" >/dev/null 2>&1 ||
      "$topo" exec "w$r" ping -q -c 2 -W 2 "$(ip_of "$to")" >/dev/null 2>&1 || bad+=("w$r")
  done
  if ((${#bad[@]})); then
    check "$name" 1 "unreachable: ${bad[*]}"
  else
    check "$name" 0 "$1/$1 workers"
  fi
}

# ping -U RTT (ms) from a worker to the server: the median of 20 probes after one warm-up. The
# median, not the mean: ping itself is an ordinary process, and on a busy 2-core machine a few
# probes wake up milliseconds late (scheduler latency, not the emulated path).
rtt_ms() {  # host
  "$topo" exec "$1" ping -q -c 1 -W 2 "$srv" >/dev/null 2>&1 || true
  "$topo" exec "$1" ping -U -n -c 20 -i 0.02 -W 2 "$srv" 2>/dev/null |
    awk -F'time=' 'NF == 2 { split($2, a, " "); t[n++] = a[1] }
      END { if (!n) exit; for (i = 1; i < n; i++) { v = t[i]; j = i - 1   # insertion sort
              while (j >= 0 && t[j] > v) { t[j + 1] = t[j]; j-- } t[j + 1] = v }
            printf "%.3f\n", n % 2 ? t[(n - 1) / 2] : (t[n / 2 - 1] + t[n / 2]) / 2 }'
}

# iperf3 -C cubic flows, all at once; prints the sum of receiver-side goodputs in bit/s.
# Each flow is "CLIENT>SERVER" (one flow from CLIENT to SERVER) or "CLIENT<SERVER" (SERVER sends
# to CLIENT, iperf3 -R).
iperf_sum() {
  local flows=("$@") i=0 f c s port pids=() spids=() rev total
  for f in "${flows[@]}"; do
    s=${f#*[<>]}
    port=$((5201 + i))
    ip netns exec "$(ns_of "$s")" iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
    spids+=($!)
    i=$((i + 1))
  done
  # Wait until every server listens.
  for ((i = 0; i < 100; i++)); do
    local ok=1 j=0
    for f in "${flows[@]}"; do
      s=${f#*[<>]}
      ip netns exec "$(ns_of "$s")" ss -Hltn "sport = :$((5201 + j))" | grep -q . || ok=0
      j=$((j + 1))
    done
    ((ok)) && break
    sleep 0.05
  done
  i=0
  for f in "${flows[@]}"; do
    c=${f%%[<>]*} s=${f#*[<>]}
    rev=()
    [[ $f == *"<"* ]] && rev=(-R)
    ip netns exec "$(ns_of "$c")" iperf3 -c "$(ip_of "$s")" -p $((5201 + i)) -t "$secs" -O 1 \
      -C cubic -J "${rev[@]}" >"$tmp/iperf$i.json" 2>&1 &
    pids+=($!)
    i=$((i + 1))
  done
  local rc=0
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  for i in "${spids[@]}"; do wait "$i" 2>/dev/null || true; done
  total=0
  for ((i = 0; i < ${#flows[@]}; i++)); do
    local b cc
    b=$(awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); print $2; exit }' \
          FS=: "$tmp/iperf$i.json")
    cc=$(grep -o '"sender_tcp_congestion":[[:space:]]*"[a-z0-9]*"' "$tmp/iperf$i.json" | grep -o '"[a-z0-9]*"$' || true)
    if [[ -z $b ]]; then
      echo "  iperf3 ${flows[i]}: no result: $(grep -m1 '"error"' "$tmp/iperf$i.json" || head -c 300 "$tmp/iperf$i.json")" >&2
      rc=1
      continue
    fi
    [[ $cc == '"cubic"' ]] || { echo "  iperf3 ${flows[i]}: sender congestion control $cc, not cubic" >&2; rc=1; }
    total=$(awk -v a="$total" -v b="$b" 'BEGIN { printf "%.0f", a + b }')
  done
  echo "$total"
  return $rc
}

# A rate is a capacity: noise on a loaded 2-core machine (16 iperf3 processes, the shapers'
# softirqs) can only take goodput away from it, never add to it (8 flows server->worker measured
# -7.0 % once on a CI machine, inside 5 % everywhere else). So a measurement under the band is
# taken again, up to RATE_TRIES times, and the best counts; one above the band fails at once
# (a shaper that lets more through is broken, whatever the load).
rate_tries=${RATE_TRIES:-3}
check_rate() {  # name rate(tc string) flows...
  local name=$1 rate=$2 got exp detail best=0 tries=() try
  shift 2
  exp=$(awk -v r="$(bps "$rate")" -v g="$goodput_per_l2" 'BEGIN { printf "%.0f", r * g }')
  for ((try = 1; try <= rate_tries; try++)); do
    if ! got=$(iperf_sum "$@"); then
      check "$name" 1 "iperf3 failed (${got:-no output})"
      return
    fi
    tries+=("$(awk -v m="$got" 'BEGIN { printf "%.1f", m / 1e6 }')")
    best=$(awk -v a="$best" -v b="$got" 'BEGIN { print (b > a ? b : a) }')
    awk -v m="$got" -v e="$exp" -v t="$tol" 'BEGIN { exit !(m >= e * (1 - t)) }' && break
  done
  detail=$(awk -v m="$best" -v e="$exp" -v r="$rate" -v n="$#" 'BEGIN {
    printf "%.1f Mbit/s goodput (%d flow%s) vs %.1f = %s x 1448/1514 (%+.1f %%)", m / 1e6, n, n == 1 ? "" : "s", e / 1e6, r, (m / e - 1) * 100 }')
  ((${#tries[@]} == 1)) || detail+="; best of ${tries[*]} Mbit/s"
  if within "$best" "$exp" "$tol"; then check "$name" 0 "$detail"; else check "$name" 1 "$detail"; fi
}

check_delay() {  # host one-way-ms baseline-ms
  local rtt added detail
  rtt=$(rtt_ms "$1")
  if [[ -z $rtt ]]; then
    check "delay $1$(tag): ping -U RTT" 1 "ping failed"
    return
  fi
  added=$(awk -v a="$rtt" -v b="$3" 'BEGIN { printf "%.3f", a - b }')
  local hi lo
  read -r lo hi < <(delay_bounds "$2")
  detail="median RTT $rtt ms - base $3 = $added ms vs 2 x $2 ms (accepted $lo..$hi ms)"
  if awk -v a="$added" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(a >= lo && a <= hi) }'; then
    check "delay $1$(tag): ping -U added RTT" 0 "$detail"
  else
    check "delay $1$(tag): ping -U added RTT" 1 "$detail"
  fi
}

delay_bounds() {  # one-way-ms -> "low high" accepted added RTT in ms
  awk -v d="$1" -v e="$delay_early" -v l="$delay_late" -v r="$delay_tol_rel" 'BEGIN {
    lo = 2 * d - e; printf "%.3f %.3f\n", lo, 2 * d + l + r * 2 * d }'
}

# The bound must still tell a missing or doubled delay from a right one, or the check proves nothing.
for d in 1 5 10; do
  read -r lo hi < <(delay_bounds "$d")
  if ! awk -v d="$d" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(0 < lo && 4 * d > hi) }'; then
    echo "test.sh: DELAY_EARLY_MS/DELAY_LATE_MS accept $lo..$hi ms for 2 x $d ms: a missing or doubled delay would pass" >&2
    exit 2
  fi
done

# Tears down topology PREFIX (default: $P), then checks none of its namespaces and no process of
# it remain.
topo_pids() {  # prefix: the recorded delay lines and everything running in its namespaces, once each
  {
    awk '$1 == "pid" { print $2 }' "$(state_of "$1")" 2>/dev/null || true
    ns_list "$1" | while read -r ns; do ip netns pids "$ns"; done
  } | sort -un
}
down_and_check() {  # [prefix]
  local p=${1:-$P} pids=() left=() pid i
  mapfile -t pids < <(topo_pids "$p")
  "$topo" --prefix "$p" down
  for ((i = 0; i < 40; i++)); do  # allow a moment to exit; zombies (exited) do not count
    left=()
    for pid in "${pids[@]}"; do
      [[ -e /proc/$pid && $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]] && left+=("$pid")
    done
    ((${#left[@]})) || break
    sleep 0.05
  done
  local nss
  nss=$(ns_list "$p" | tr '\n' ' ')
  if [[ -z $nss && ${#left[@]} -eq 0 ]]; then
    check "down $p: no $p* namespaces, no leftover processes" 0 "${#pids[@]} processes ended"
  else
    check "down $p: no $p* namespaces, no leftover processes" 1 "namespaces: ${nss:-none}; processes: ${left[*]:-none}"
  fi
}

workers8=(w0 w1 w2 w3 w4 w5 w6 w7)
up8=() down8=()
for w in "${workers8[@]}"; do up8+=("$w>server"); down8+=("$w<server"); done
start=$(date +%s)

# 1. star, 8 workers, 1 Gbit/s server link.
if up star --workers 8; then
  check_ping_all 8
  check_rate "star: 8 flows worker->server @1gbit" 1gbit "${up8[@]}"
  check_rate "star: 8 flows server->worker @1gbit" 1gbit "${down8[@]}"
  base=$(for w in w0 w3 w7; do rtt_ms "$w"; done | awk '{ s += $1; n++ } END { if (n) printf "%.3f", s / n }')
  echo "   (baseline: median ping -U RTT without delay ${base:-?} ms)"
  down_and_check
fi
base=${base:-0}

# 2. tree, 2 racks x 4, 2 Gbit/s uplinks, 1 Gbit/s server links; a second server off the core.
if up tree --racks 2 --per-rack 4 --servers 2; then
  check_ping_all 8
  check_ping_all 8 s1
  check_rate "tree: 8 flows worker->server @1gbit" 1gbit "${up8[@]}"
  check_rate "tree: 8 flows server->worker @1gbit" 1gbit "${down8[@]}"
  check_rate "tree: rack0->rack1 via uplinks @2gbit" 2gbit "w0>w4" "w1>w5" "w2>w6" "w3>w7"
  down_and_check
fi

# 3. star, 8 workers, w1 and w2 on 100 Mbit/s links (both ways).
if up star --workers 8 --slow-workers 1,2 --slow-rate 100mbit; then
  check_ping_all 8
  check_rate "slow w1: worker->server @100mbit" 100mbit "w1>server"
  check_rate "slow w2: server->worker @100mbit" 100mbit "w2<server"
  check_rate "fast w0: worker->server @1gbit" 1gbit "w0>server"
  down_and_check
fi

# 4. star, 8 workers, 5 ms one-way delay on every worker<->server path.
if up star --workers 8 --delay-ms 5; then
  check_ping_all 8
  for w in w0 w4 w7; do check_delay "$w" 5 "$base"; done
  check_rate "star+5ms: 8 flows worker->server @1gbit" 1gbit "${up8[@]}"
  down_and_check
fi

# 5. per-worker delays (list form), a sysctl set in every namespace, and small-first host queues.
if up star --workers 3 --delay-ms 0,1,10 --sysctl net.ipv4.tcp_slow_start_after_idle=0 \
  --host-queue small-first; then
  check_delay w0 0 "$base"
  check_delay w1 1 "$base"
  check_delay w2 10 "$base"
  got=$(for h in server w0 w2; do "$topo" exec "$h" sysctl -n net.ipv4.tcp_slow_start_after_idle; done | tr '\n' ' ')
  check "--sysctl: set in each namespace" "$([[ $got == '0 0 0 ' ]] && echo 0 || echo 1)" "got: $got"
  # A ping (84-byte packets) from the server goes through its small-packet queue (1:20), and
  # the switch's shaped port keeps one FIFO.
  "$topo" exec server ping -c 3 -i 0.2 -q 10.77.0.2 >/dev/null 2>&1 || true
  small=$("$topo" exec server tc -s qdisc show dev gwe0 | awk '$2 == "bfifo" && $3 == "20:" { getline; print $4 }')
  sw_leaves=$("$topo" exec sw tc qdisc show | awk '$2 == "bfifo" { n++ } END { print n + 0 }')
  check "--host-queue small-first: a ping leaves through the host's small-packet queue" \
    "$([[ ${small:-0} -ge 3 && $sw_leaves == 1 ]] && echo 0 || echo 1)" "small-queue packets: ${small:-none}; switch FIFOs: $sw_leaves"
  down_and_check
fi
if "$topo" up star --workers 1 --host-queue red >/dev/null 2>&1; then
  check "--host-queue red: refused" 1 "accepted"
  "$topo" down >/dev/null 2>&1 || true
else
  check "--host-queue red: refused" 0 "refused"
fi
# Only network sysctls (per namespace) are accepted, and nothing is built for a refused one.
if "$topo" up star --workers 1 --sysctl kernel.panic=1 >/dev/null 2>&1; then
  check "--sysctl kernel.*: refused" 1 "accepted"
  "$topo" down >/dev/null 2>&1 || true
else
  check "--sysctl kernel.*: refused" 0 "refused; kernel.panic is $(sysctl -n kernel.panic)"
fi

# 6. Two topologies at once (prefixes P and Q), P with 2 servers, both with delay lines (NFQUEUE
# numbers are per namespace, so both bind queues 0 and 1), a short job in each at the same time;
# tearing Q down leaves P whole. Then the RDMA transport without devices, and bad prefixes.
roots_links() { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' '; }
alive_count() { local n=0 pid; for pid in "$@"; do [[ -e /proc/$pid && $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]] && n=$((n + 1)); done; echo "$n"; }
rows() { [[ -f $1 ]] && echo $(($(wc -l <"$1") - 1)) || echo 0; }
job=(--num-workers 2 --workload synthetic --grad-bytes 1M --part-bytes 256K --iterations 20
     --sync bsp --timeout 20)
links_before=$(roots_links)
if [[ ! -x $gradwire ]]; then
  check "gradwire for the job checks" 1 "no gradwire binary at $gradwire (make build, or pass it: test.sh GRADWIRE)"
elif up star --workers 2 --servers 2 --delay-ms 1 &&
     GW_TOPO_STATE='' up --prefix "$Q" star --workers 2 --delay-ms 1; then
  got_p=$(ns_list "$P" | tr '\n' ' ') got_q=$(ns_list "$Q" | tr '\n' ' ')
  check "two prefixes: both sets of namespaces" "$([[ $got_p == "${P}srv ${P}srv1 ${P}sw ${P}w0 ${P}w1 " &&
    $got_q == "${Q}srv ${Q}sw ${Q}w0 ${Q}w1 " ]] && echo 0 || echo 1)" "$got_p| $got_q"
  check "two prefixes: nothing created in the root namespace" \
    "$([[ $(roots_links) == "$links_before" ]] && echo 0 || echo 1)" "root links: $(roots_links)"
  check_ping_all 2 s1
  GW_TOPO_STATE='' P=$Q GW_TOPO_PREFIX=$Q check_ping_all 2
  check_delay w1 1 "$base"
  GW_TOPO_STATE='' P=$Q GW_TOPO_PREFIX=$Q check_delay w1 1 "$base"
  # Server 1's link is shaped as server 0's, both ways.
  shaped=$(for h in "$(ns_of server)/gwe0" "$(ns_of s1)/gwe0" "${P}sw/gwps" "${P}sw/gwps1"; do
    tc -n "${h%/*}" class show dev "${h#*/}" | grep -o 'rate [0-9A-Za-z]*' | head -1; done | tr '\n' ' ')
  check "--servers 2: server 1 shaped like server 0" \
    "$([[ $shaped == 'rate 1Gbit rate 1Gbit rate 1Gbit rate 1Gbit ' ]] && echo 0 || echo 1)" "$shaped"
  # A job in each topology at once: 2 servers in P, 1 in Q.
  t0=$(date +%s)
  GW_NETNS_SERVERS=2 netns_job "$gradwire" "$tmp/job-$P" 2 "${job[@]}" 2>"$tmp/job-$P.err" &
  jp=$!
  GW_TOPO_STATE='' GW_TOPO_PREFIX=$Q netns_job "$gradwire" "$tmp/job-$Q" 2 "${job[@]}" 2>"$tmp/job-$Q.err" &
  jq=$!
  wait "$jp" && rc_p=0 || rc_p=$?
  wait "$jq" && rc_q=0 || rc_q=$?
  took=$(($(date +%s) - t0))
  n0=$(rows "$tmp/job-$P/server-0.csv") n1=$(rows "$tmp/job-$P/server-1.csv") it=$(rows "$tmp/job-$P/iterations.csv")
  check "job in $P, GW_NETNS_SERVERS=2: server-0/1.csv" \
    "$([[ $rc_p == 0 && $n0 == 1 && $n1 == 1 && $it == 40 ]] && echo 0 || echo 1)" \
    "exit $rc_p, server-0.csv $n0 row, server-1.csv $n1 row, $it iteration rows (2 x 20), ${took} s$(
      [[ $rc_p == 0 ]] || echo ": $(tail -c 300 "$tmp/job-$P.err")")"
  it=$(rows "$tmp/job-$Q/iterations.csv")
  check "job in $Q at the same time" "$([[ $rc_q == 0 && $it == 40 ]] && echo 0 || echo 1)" \
    "exit $rc_q, $it iteration rows$([[ $rc_q == 0 ]] || echo ": $(tail -c 300 "$tmp/job-$Q.err")")"
  # RDMA without a device in the namespaces: refused at once, nothing started.
  if [[ -n $("$topo" exec server sh -c 'ls /sys/class/infiniband 2>/dev/null') ]]; then
    check "rdma without devices: refused fast" 0 "skipped: this host has RDMA devices in the namespaces"
  else
    t0=$(date +%s.%N)
    GW_NETNS_TRANSPORT=rdma netns_job "$gradwire" "$tmp/job-rdma" 2 "${job[@]}" 2>"$tmp/rdma.err" && rc=0 || rc=$?
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    check "rdma without devices: refused fast" \
      "$([[ $rc != 0 ]] && grep -q 'no RDMA device is visible' "$tmp/rdma.err" &&
          awk -v t="$took" 'BEGIN { exit !(t < 5) }' && echo 0 || echo 1)" \
      "exit $rc in $took s: $(head -c 110 "$tmp/rdma.err")"
  fi
  # Another prefix's state is not taken over, and tearing Q down leaves P (namespaces, delay lines).
  mapfile -t p_pids < <(topo_pids "$P")
  if GW_TOPO_STATE=$(state_of "$P") "$topo" --prefix "$Q" down >"$tmp/steal.log" 2>&1; then
    check "down $Q with $P's state file: refused" 1 "accepted"
  else
    check "down $Q with $P's state file: refused" 0 "$(head -c 90 "$tmp/steal.log")"
  fi
  GW_TOPO_STATE='' down_and_check "$Q"
  got_p=$(ns_list "$P" | tr '\n' ' ')
  p_alive=$(alive_count "${p_pids[@]}")
  check "down $Q left $P whole" "$([[ $got_p == "${P}srv ${P}srv1 ${P}sw ${P}w0 ${P}w1 " && $p_alive == "${#p_pids[@]}" ]] &&
    echo 0 || echo 1)" "$got_p; $p_alive/${#p_pids[@]} of its processes alive"
  check_ping_all 2
  down_and_check "$P"
fi
# A bad prefix is refused before anything is built.
for bad in Gw gw-1 toolong7; do
  if "$topo" --prefix "$bad" up star --workers 1 >"$tmp/bad.log" 2>&1; then
    check "prefix '$bad' refused" 1 "accepted"
  else
    check "prefix '$bad' refused" "$(grep -q 'bad topology prefix' "$tmp/bad.log" && echo 0 || echo 1)" \
      "$(head -c 70 "$tmp/bad.log")..."
  fi
done

echo "== $passes passed, $fails failed ($(($(date +%s) - start)) s)"
((fails == 0))
