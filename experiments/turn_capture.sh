#!/usr/bin/env bash
# Where a ring turn's hand-over goes, from a packet capture: one gradwire job on the emulated
# star with tcpdump in the server's namespace (headers only), its windows.csv aligned with the
# capture. For each ring window: from the grant's decision (windows.csv start_s) to the grant
# on the wire (the server sending it), from there to the writer's first-post notice on the wire
# (the path's round trip, the worker waking up to post, and the notice's wait in the switch
# port's FIFO behind the writer before it), from there to the server's record of it (posted_s:
# the server picking it up), the idle gap before the turn as windows.csv has it (its posted_s
# after the latest end of the ring windows granted before it; 0 if before), and the rate of the
# data the server received while the ring turned (the link's use on the wire). The server
# lays the next grant early by the grant-to-post time it measures (sched/window_scheduler.h),
# so this tells what of that time is the wire's and what is the two processes'.
# Usage: experiments/turn_capture.sh OUT [--workers 16] [--grad 1M] [--iterations 16]
#          [--rate 1gbit] [--host-queue small-first] [--restart off] [--prefix gwc]
#          [--flags "--sync r2sp --windows round-robin:warmup=5"] [--keep-pcap]
# GRADWIRE=path/to/gradwire (default build/apps/gradwire/gradwire). As root (namespaces).
# Brings up its own star and takes it down. Writes OUT/turns.csv (one row per ring window that
# was granted, posted and matched in the capture), OUT/turns.png (the three parts' distributions),
# OUT/README.md (medians and 90th percentiles, the command, the commit) and OUT/runs/job/ (the
# job's CSVs and logs; packed into OUT/runs.tar.xz in a committed results folder); the capture
# (~3 MB per 16-worker job) only with --keep-pcap (OUT/server.pcap).
# Exit 2: bad usage.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=experiments/lib/netns_job.sh
source experiments/lib/netns_job.sh
# shellcheck source=experiments/lib/provenance.sh
source experiments/lib/provenance.sh
# shellcheck source=experiments/lib/raw_runs.sh
source experiments/lib/raw_runs.sh

out=${1:?usage: experiments/turn_capture.sh OUT [--workers 16] [--grad 1M] ...}
shift
workers=16 grad=1M iterations=16 rate=1gbit queue=small-first restart=off prefix=gwc keep=no
flags="--sync r2sp --windows round-robin:warmup=5"
while (($#)); do
  case $1 in
    --workers) workers=${2:?} ;;
    --grad) grad=${2:?} ;;
    --iterations) iterations=${2:?} ;;
    --rate) rate=${2:?} ;;
    --host-queue) queue=${2:?} ;;
    --restart) restart=${2:?} ;;
    --prefix) prefix=${2:?} ;;
    --flags) flags=${2:?} ;;
    --keep-pcap) keep=yes; shift; continue ;;
    *) echo "turn_capture.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ $workers =~ ^[1-9][0-9]*$ && $iterations =~ ^[1-9][0-9]*$ ]] ||
  { echo "turn_capture.sh: --workers and --iterations want positive integers" >&2; exit 2; }
[[ $restart == on || $restart == off ]] || { echo "turn_capture.sh: --restart on|off" >&2; exit 2; }
[[ $flags == *--windows* ]] || { echo "turn_capture.sh: --flags must grant windows (--windows ...)" >&2; exit 2; }
command -v tcpdump >/dev/null || { echo "turn_capture.sh: tcpdump missing (make deps)" >&2; exit 1; }
gradwire=${GRADWIRE:-build/apps/gradwire/gradwire}
[[ -x $gradwire ]] || { echo "turn_capture.sh: no gradwire binary at $gradwire (make build)" >&2; exit 1; }
command="experiments/turn_capture.sh $out --workers $workers --grad $grad --iterations $iterations --rate $rate --host-queue $queue --restart $restart --flags \"$flags\""
mkdir -p "$out"
run=$out/runs/job
rm -rf "$out/runs"

topo=(experiments/topo/topo.sh --prefix "$prefix")
export GW_TOPO_PREFIX=$prefix
cap_pid=''
cleanup() {
  [[ -n $cap_pid ]] && kill "$cap_pid" 2>/dev/null
  "${topo[@]}" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
"${topo[@]}" up star --workers "$workers" --rate "$rate" --host-queue "$queue" \
  --sysctl "net.ipv4.tcp_slow_start_after_idle=$([[ $restart == on ]] && echo 1 || echo 0)" >/dev/null

pcap=$out/server.pcap
"${topo[@]}" exec server tcpdump -i gwe0 -s 100 -U -w "$pcap" tcp port 7070 2>"$out/tcpdump.log" &
cap_pid=$!
for _ in $(seq 50); do [[ -s $pcap ]] && break; sleep 0.1; done  # tcpdump wrote its header
read -r -a flag_words <<<"$flags"
netns_job "$gradwire" "$run" "$workers" --num-workers "$workers" --workload synthetic \
  --grad-bytes "$grad" --iterations "$iterations" --timeout 300 "${flag_words[@]}"
sleep 0.5  # the last packets
kill "$cap_pid" 2>/dev/null || true
wait "$cap_pid" 2>/dev/null || true
cap_pid=''

# Aligns the capture with windows.csv (experiments/lib/turn_align.py says how).
tcpdump -r "$pcap" -nn -tt 2>/dev/null |
  python3 experiments/lib/turn_align.py "$run/windows.csv" "$out/turns.csv" >"$out/summary.txt"
[[ $keep == yes ]] || rm -f "$pcap"
mv "$out/tcpdump.log" "$run/"
raw_runs_pack_committed "$out"
rtt_ms=$("${topo[@]}" exec w0 ping -c 5 -i 0.2 -q 10.77.0.100 | awk -F/ '/^rtt/ { print $5 }')

# x up to twice the largest 90th percentile: the long tails squeeze the rest otherwise.
xmax=$(grep -o 'p90 [0-9.]*' "$out/summary.txt" | awk '$2 > m { m = $2 } END { print (m > 0 ? 2 * m : 1) }')
gnuplot <<GP
set terminal pngcairo size 800,450 font ',10'
set output '$out/turns.png'
set datafile separator ','
set title "Ring hand-overs: $workers workers x $grad, $rate star, queue $queue, restart $restart"
set xlabel 'ms'
set ylabel 'fraction of turns'
set key bottom right
set grid
set yrange [0:1]
set xrange [0:$xmax]
stats '$out/turns.csv' every ::1 using 4 nooutput
n = STATS_records
plot '$out/turns.csv' every ::1 using 4:(1.0/n) smooth cumulative with lines lw 2 title 'grant decided -> on the wire', \
  '' every ::1 using 5:(1.0/n) smooth cumulative with lines lw 2 title 'grant on the wire -> notice back', \
  '' every ::1 using 6:(1.0/n) smooth cumulative with lines lw 2 title 'notice on the wire -> handled', \
  '' every ::1 using 7:(1.0/n) smooth cumulative with lines lw 2 dt 2 title 'idle before the turn (windows.csv)'
GP
cat "$out/summary.txt"
{
  echo "# Where a ring turn's hand-over goes (packet capture at the server)"
  echo
  echo "Made by \`$command\` (as root) at commit $(code_commit) on $(date -u +%Y-%m-%d), $(nproc) cores, kernel $(uname -r)."
  echo
  echo "One job (\`gradwire server/worker --num-workers $workers --workload synthetic --grad-bytes $grad"
  echo "--iterations $iterations $flags\`) on the star (\`topo.sh up star --workers $workers --rate $rate"
  echo "--host-queue $queue\`, slow-start restart after idle $restart), tcpdump on the server's NIC,"
  echo "the capture aligned with the job's windows.csv (experiments/lib/turn_align.py says how). The"
  echo "path's round trip (ping, worker 0 to the server): ${rtt_ms:-?} ms."
  echo
  sed 's/^/- /' "$out/summary.txt"
  echo
  echo "![turns](turns.png)"
  echo
  echo "Files: turns.csv (one row per matched ring window), summary.txt, runs.tar.xz (the job's CSVs and logs, and tcpdump's)."
} >"$out/README.md"
