#!/usr/bin/env bash
# A link cut and restored in an emulated star (issue #7): gradwire over real TCP through
# network namespaces, worker 1's NIC taken down mid-run.
#   1. cut for 2 s (shorter than --timeout), then restored: TCP retransmits, the job finishes
#      with every worker and every iteration, and worker 1's longest iteration shows the gap;
#   2. cut for good: after --timeout the server reports worker 1 lost by name and, with
#      --continue-without-lost-workers, the others finish.
# Prints PASS/FAIL per check; exits 1 if any failed. Needs root and a built gradwire.
# Usage: experiments/topo/link_cut_test.sh GRADWIRE
# Environment: GW_TOPO_PREFIX (default gw), the prefix of the topology it builds and tears down.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
topo="$here/topo.sh"
export GW_TOPO_PREFIX=${GW_TOPO_PREFIX:-gw}
w1_ns=${GW_TOPO_PREFIX}w1  # worker 1's namespace (topo.sh names it <prefix>w<rank>)
# shellcheck source=../lib/netns_job.sh
source "$here/../lib/netns_job.sh"
gradwire=$(realpath "${1:?usage: link_cut_test.sh GRADWIRE}")
[[ $(id -u) -eq 0 ]] || { echo "link_cut_test.sh: needs root" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-link-cut.XXXXXX")
trap '"$topo" down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"
summary_value() {  # csv key
  awk -F, -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i }
                     NR == 2 && c { print $c }' "$1"
}
rows() { [[ -f $1 ]] && echo $(($(wc -l <"$1") - 1)) || echo 0; }
# Longest wall time of one iteration in a worker CSV (sum of its *_s columns).
longest_iteration() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /_s$/) c[i] = 1; next }
           { s = 0; for (i in c) s += $i; if (s > m) m = s } END { printf "%.2f", m }' "$1"
}
wait_joined() {  # run_dir workers
  for _ in $(seq 1 100); do
    grep -q "joined ($2/$2)" "$1/server.log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

workers=3
job=(--num-workers "$workers" --workload synthetic --grad-bytes 1M --part-bytes 256K
     --sync bsp --timeout 8 --congestion cubic)
"$topo" up star --workers "$workers" --rate 1gbit >"$tmp/up.log" 2>&1 || {
  cat "$tmp/up.log"; exit 1; }

echo "== 1. worker 1's link cut for 2 s, then restored (BSP, --timeout 8)"
run=$tmp/restored
netns_job "$gradwire" "$run" "$workers" "${job[@]}" --iterations 400 2>/dev/null &
job_pid=$!
if wait_joined "$run" "$workers"; then
  sleep 1
  ip -n "$w1_ns" link set gwe0 down
  sleep 2
  ip -n "$w1_ns" link set gwe0 up
fi
wait "$job_pid" && ok=0 || ok=1
check "job finished after the link came back" "$ok" "$(tail -1 "$run/server.log")"
lost=$(summary_value "$run/server-0.csv" workers_lost 2>/dev/null || true)
check "no worker lost" "$([[ $lost == 0 ]] && echo 0 || echo 1)" "workers_lost=$lost"
for w in 0 1 2; do
  n=$(rows "$run/worker-$w.csv")
  check "worker $w did all 400 iterations" "$([[ $n == 400 ]] && echo 0 || echo 1)" "$n rows"
done
gap=$(longest_iteration "$run/worker-1.csv" 2>/dev/null || echo 0)
check "the cut stalled worker 1 (longest iteration >= 1.5 s)" \
  "$(awk -v g="$gap" 'BEGIN { exit !(g >= 1.5) }' && echo 0 || echo 1)" "${gap} s"

echo "== 2. worker 1's link cut for good (BSP, --continue-without-lost-workers, --timeout 8)"
run=$tmp/cut
netns_job "$gradwire" "$run" "$workers" "${job[@]}" --iterations 400 \
  --continue-without-lost-workers 2>/dev/null &
job_pid=$!
t_cut=0
if wait_joined "$run" "$workers"; then
  sleep 1
  ip -n "$w1_ns" link set gwe0 down
  t_cut=$(date +%s)
fi
# netns_job waits for every worker; the cut-off one gives up on its own (its --timeout).
wait "$job_pid" && ok=0 || ok=1
took=$(($(date +%s) - t_cut))
ip -n "$w1_ns" link set gwe0 up || true
check "the others finished without it" "$ok" "$(tail -1 "$run/server.log")"
named=$(grep -c "worker 1 lost" "$run/server.log" || true)
check "the server named worker 1 as lost" "$([[ $named -ge 1 ]] && echo 0 || echo 1)" \
  "$(grep -m1 "worker 1 lost" "$run/server.log" | cut -c1-110)"
lost=$(summary_value "$run/server-0.csv" workers_lost 2>/dev/null || true)
check "exactly one worker lost" "$([[ $lost == 1 ]] && echo 0 || echo 1)" "workers_lost=$lost"
for w in 0 2; do
  n=$(rows "$run/worker-$w.csv")
  check "worker $w did all 400 iterations" "$([[ $n == 400 ]] && echo 0 || echo 1)" "$n rows"
done
check "the cut-off worker gave up (no hang)" "$([[ $took -lt 60 ]] && echo 0 || echo 1)" \
  "job ended ${took} s after the cut"

"$topo" down >/dev/null
left=$(ip netns list | grep -cE "^${GW_TOPO_PREFIX}(srv[0-9]*|sw|w[0-9]+)( |\$)" || true)
check "nothing left behind" "$([[ $left == 0 ]] && echo 0 || echo 1)" "$left namespaces"
echo "link_cut_test.sh: $passes passed, $fails failed"
[[ $fails == 0 ]]
