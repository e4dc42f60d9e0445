#!/usr/bin/env bash
# Checks experiments/topo/topo.sh on this machine: builds each topology, measures it, tears it
# down. Prints PASS/FAIL per check and a summary; exits 1 if any check failed. Needs root,
# iperf3, iputils-ping, iptables and the delay line (make build). Takes about 2 minutes.
#
# What is compared (see README.md):
#   * rates: iperf3 -C cubic goodput (receiver side, first second omitted) against the configured
#     L2 rate x 1448/1514 (= 0.9564: TCP payload per 1514-byte Ethernet frame with timestamps),
#     within 5 %;
#   * delay: ping -U median RTT minus the same measurement without delay, against 2 x D
#     (one-way D each direction), within 0.5 ms;
#   * teardown: no gw* namespace in `ip netns list`, no process of the topology still alive.
# Usage: experiments/topo/test.sh
# Environment: T=5 (iperf3 seconds, plus 1 omitted), TOL=0.05, DELAY_TOL_MS=0.5.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
topo="$here/topo.sh"
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
goodput_per_l2=$(awk 'BEGIN { printf "%.6f", 1448 / 1514 }')

[[ $(id -u) -eq 0 ]] || { echo "test.sh: needs root" >&2; exit 1; }
for tool in iperf3 ping iptables ss; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool missing (make deps)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-topo-test.XXXXXX")
trap '"$topo" down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"
within() {  # measured expected relative-tolerance -> exit status
  awk -v m="$1" -v e="$2" -v t="$3" 'BEGIN { d = m / e - 1; if (d < 0) d = -d; exit !(d <= t) }'
}
bps() { awk -v r="$1" 'BEGIN { match(r, /^[0-9.]+/); v = substr(r, 1, RLENGTH); u = substr(r, RLENGTH + 1)
  m["bit"] = 1; m[""] = 1; m["kbit"] = 1e3; m["mbit"] = 1e6; m["gbit"] = 1e9; printf "%.0f", v * m[u] }'; }
ns_of() { case $1 in server) echo gwsrv ;; w*) echo "gww${1#w}" ;; esac; }
ip_of() { case $1 in server) echo "$srv" ;; w*) echo "10.77.0.$((${1#w} + 1))" ;; esac; }

up() {
  echo "== topo.sh up $*"
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$topo" up "$@" >"$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"
    check "up $*" 1 "topo.sh up failed"
    return 1
  fi
  t1=$(date +%s.%N)
  check "up $1" 0 "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "built in %.2f s", b - a }')"
}

# Every worker pings the server once (after ARP, so a lost first packet is not a failure).
check_ping_all() {  # n
  local r bad=()
  for ((r = 0; r < $1; r++)); do
    "$topo" exec "w$r" ping -q -c 1 -W 2 "$srv" >/dev/null 2>&1 ||
      "$topo" exec "w$r" ping -q -c 2 -W 2 "$srv" >/dev/null 2>&1 || bad+=("w$r")
  done
  if ((${#bad[@]})); then
    check "ping: every worker reaches the server" 1 "unreachable: ${bad[*]}"
  else
    check "ping: every worker reaches the server" 0 "$1/$1 workers"
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

check_rate() {  # name rate(tc string) flows...
  local name=$1 rate=$2 got exp detail
  shift 2
  exp=$(awk -v r="$(bps "$rate")" -v g="$goodput_per_l2" 'BEGIN { printf "%.0f", r * g }')
  if ! got=$(iperf_sum "$@"); then
    check "$name" 1 "iperf3 failed (${got:-no output})"
    return
  fi
  detail=$(awk -v m="$got" -v e="$exp" -v r="$rate" -v n="$#" 'BEGIN {
    printf "%.1f Mbit/s goodput (%d flow%s) vs %.1f = %s x 1448/1514 (%+.1f %%)", m / 1e6, n, n == 1 ? "" : "s", e / 1e6, r, (m / e - 1) * 100 }')
  if within "$got" "$exp" "$tol"; then check "$name" 0 "$detail"; else check "$name" 1 "$detail"; fi
}

check_delay() {  # host one-way-ms baseline-ms
  local rtt added detail
  rtt=$(rtt_ms "$1")
  if [[ -z $rtt ]]; then
    check "delay $1: ping -U RTT" 1 "ping failed"
    return
  fi
  added=$(awk -v a="$rtt" -v b="$3" 'BEGIN { printf "%.3f", a - b }')
  local hi lo
  read -r lo hi < <(delay_bounds "$2")
  detail="median RTT $rtt ms - base $3 = $added ms vs 2 x $2 ms (accepted $lo..$hi ms)"
  if awk -v a="$added" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(a >= lo && a <= hi) }'; then
    check "delay $1: ping -U added RTT" 0 "$detail"
  else
    check "delay $1: ping -U added RTT" 1 "$detail"
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

# Tears down, then checks no gw* namespace and no process of the topology remain.
down_and_check() {
  local pids=() left=() pid i
  # The recorded delay lines and everything running in our namespaces, each PID once.
  mapfile -t pids < <({
    awk '$1 == "pid" { print $2 }' "${GW_TOPO_STATE:-/run/gradwire-topo/state}" 2>/dev/null || true
    ip netns list | awk '$1 ~ /^gw(srv|sw|w[0-9]+)$/ { print $1 }' | while read -r ns; do ip netns pids "$ns"; done
  } | sort -un)
  "$topo" down
  for ((i = 0; i < 40; i++)); do  # allow a moment to exit; zombies (exited) do not count
    left=()
    for pid in "${pids[@]}"; do
      [[ -e /proc/$pid && $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]] && left+=("$pid")
    done
    ((${#left[@]})) || break
    sleep 0.05
  done
  local nss
  nss=$(ip netns list | awk '$1 ~ /^gw/ { printf "%s ", $1 }')
  if [[ -z $nss && ${#left[@]} -eq 0 ]]; then
    check "down: no gw* namespaces, no leftover processes" 0 "${#pids[@]} processes ended"
  else
    check "down: no gw* namespaces, no leftover processes" 1 "namespaces: ${nss:-none}; processes: ${left[*]:-none}"
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

# 2. tree, 2 racks x 4, 2 Gbit/s uplinks, 1 Gbit/s server link.
if up tree --racks 2 --per-rack 4; then
  check_ping_all 8
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

# 5. per-worker delays (list form), and a sysctl set in every namespace.
if up star --workers 3 --delay-ms 0,1,10 --sysctl net.ipv4.tcp_slow_start_after_idle=0; then
  check_delay w0 0 "$base"
  check_delay w1 1 "$base"
  check_delay w2 10 "$base"
  got=$(for h in server w0 w2; do "$topo" exec "$h" sysctl -n net.ipv4.tcp_slow_start_after_idle; done | tr '\n' ' ')
  check "--sysctl: set in each namespace" "$([[ $got == '0 0 0 ' ]] && echo 0 || echo 1)" "got: $got"
  down_and_check
fi
# Only network sysctls (per namespace) are accepted, and nothing is built for a refused one.
if "$topo" up star --workers 1 --sysctl kernel.panic=1 >/dev/null 2>&1; then
  check "--sysctl kernel.*: refused" 1 "accepted"
  "$topo" down >/dev/null 2>&1 || true
else
  check "--sysctl kernel.*: refused" 0 "refused; kernel.panic is $(sysctl -n kernel.panic)"
fi

echo "== $passes passed, $fails failed ($(($(date +%s) - start)) s)"
((fails == 0))
