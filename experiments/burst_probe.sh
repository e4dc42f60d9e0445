#!/usr/bin/env bash
# How long one TCP connection takes to carry a burst after an idle wait, on the emulated star,
# without gradwire: the reference for an R2SP turn's push (issue 21: a lone 1 MiB push took a
# median 12.8 ms from its first post to its window's end for 8.4 ms of wire time). A python
# client in a worker's namespace keeps one connection to a python server in the server's
# namespace and, BURSTS times, waits IDLE ms, sends BYTES and waits for the server's one-byte
# answer (sent once every byte arrived); the connection's TCP_INFO before each burst gives its
# congestion window, smoothed RTT, retransmissions and pacing rate (the kernel computes that
# rate for every socket; it holds a socket to it only when pacing is on: BBR started it, or an
# fq qdisc paces).
# Congestion control: --cc (default cubic, gradwire's default) is set on both sockets before the
# connection exists (as gradwire does), or with --cc-when after only once it is established (as
# gradwire did before 768d123b): on a host whose default is BBR the kernel then keeps BBR's
# pacing under the new algorithm. --request-bytes N has the client send N bytes before each
# idle wait, which the server reads and does not answer (a window request whose grant comes
# later): their delayed ACK is an RTT sample of up to the delayed-ACK timer.
# Usage: experiments/burst_probe.sh OUT [--bytes 1M] [--idle-ms 240] [--bursts 40]
#          [--rate 1gbit] [--host-queue fifo|small-first] [--restart on|off] [--prefix gwp]
#          [--cc cubic] [--cc-when before|after] [--request-bytes 0]
# Brings up its own star (topo.sh --prefix P, one worker) and takes it down. Writes
# OUT/bursts.csv (burst,idle_ms,bytes,seconds,wire_s,cwnd,srtt_us,retrans_total,pacing_bps) and
# OUT/bursts.png (every burst against the wire time) and OUT/README.md (the median burst against
# its wire time, the command and the commit).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=experiments/lib/provenance.sh
source experiments/lib/provenance.sh
# shellcheck source=experiments/lib/stats.sh
source experiments/lib/stats.sh

out=${1:?usage: experiments/burst_probe.sh OUT [--bytes 1M] [--idle-ms 240] [--bursts 40] ...}
shift
bytes=1M idle_ms=240 bursts=40 rate=1gbit queue=small-first restart=off prefix=gwp
cc=cubic cc_when=before request_bytes=0
while (($#)); do
  case $1 in
    --bytes) bytes=${2:?} ;;
    --idle-ms) idle_ms=${2:?} ;;
    --bursts) bursts=${2:?} ;;
    --rate) rate=${2:?} ;;
    --host-queue) queue=${2:?} ;;
    --restart) restart=${2:?} ;;
    --prefix) prefix=${2:?} ;;
    --cc) cc=${2:?} ;;
    --cc-when) cc_when=${2:?} ;;
    --request-bytes) request_bytes=${2:?} ;;
    *) echo "burst_probe.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
n_bytes=$(numfmt --from=iec "$bytes")
# tc's rate units (1gbit, 100mbit, 500kbit) in bit/s.
rate_bps=$(sed -E 's/bit$//' <<<"$rate" | tr 'kmg' 'KMG' | numfmt --from=si) ||
  { echo "burst_probe.sh: --rate wants a tc rate such as 1gbit or 100mbit, not '$rate'" >&2; exit 2; }
[[ $idle_ms =~ ^[0-9]+$ && $bursts =~ ^[1-9][0-9]*$ ]] || { echo "burst_probe.sh: --idle-ms and --bursts want integers" >&2; exit 2; }
[[ $restart == on || $restart == off ]] || { echo "burst_probe.sh: --restart on|off" >&2; exit 2; }
[[ $cc_when == before || $cc_when == after ]] || { echo "burst_probe.sh: --cc-when before|after" >&2; exit 2; }
[[ $cc =~ ^[a-z0-9_]+$ && $request_bytes =~ ^[0-9]+$ ]] || { echo "burst_probe.sh: --cc wants an algorithm name, --request-bytes an integer" >&2; exit 2; }
command="experiments/burst_probe.sh $out --bytes $bytes --idle-ms $idle_ms --bursts $bursts --rate $rate --host-queue $queue --restart $restart --cc $cc --cc-when $cc_when --request-bytes $request_bytes"
mkdir -p "$out"

topo=(experiments/topo/topo.sh --prefix "$prefix")
trap '"${topo[@]}" down >/dev/null 2>&1 || true' EXIT
"${topo[@]}" up star --workers 1 --rate "$rate" --host-queue "$queue" \
  --sysctl "net.ipv4.tcp_slow_start_after_idle=$([[ $restart == on ]] && echo 1 || echo 0)" >/dev/null

port=7990
# The server: reads BYTES, answers one byte, for as long as the client keeps the connection.
server_py='
import socket, sys
n, port, cc, when, req = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4], int(sys.argv[5])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if when == "before":  # accepted sockets inherit the listener algorithm
    ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
ls.bind(("10.77.0.100", port)); ls.listen(1)
c, _ = ls.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
buf = bytearray(1 << 20)
def read(left):
    while left:
        got = c.recv_into(buf, min(left, len(buf)))
        if not got: sys.exit(0)
        left -= got
while True:
    read(req)  # the request: read, not answered
    read(n)
    c.sendall(b"k")
'
# The client: warm-up bursts, then the measured ones, each after the request and the idle wait.
client_py='
import socket, struct, sys, time
n, port, idle, bursts = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1e3, int(sys.argv[4])
wire = n * 8 / float(sys.argv[5])
cc, when, req = sys.argv[6].encode(), sys.argv[7], int(sys.argv[8])
for attempt in range(100):
    s = socket.socket()
    if when == "before":
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
    try:
        s.connect(("10.77.0.100", port)); break
    except OSError:
        s.close(); time.sleep(0.05)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
data = b"\0" * n
print("burst,idle_ms,bytes,seconds,wire_s,cwnd,srtt_us,retrans_total,pacing_bps")
for b in range(-3, bursts):
    if req:
        s.sendall(b"r" * req)
    time.sleep(idle)
    # struct tcp_info: 8 bytes of flags, then 24 u32s (snd_cwnd the 19th, rtt the 16th,
    # total_retrans the 24th), then the u64 pacing rate in bytes/s.
    info = struct.unpack("8B24IQ", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 112))[8:]
    t0 = time.perf_counter()
    s.sendall(data)
    if s.recv(1) != b"k": sys.exit("the server went away")
    t = time.perf_counter() - t0
    if b >= 0:
        print(f"{b},{idle * 1e3:.0f},{n},{t:.6f},{wire:.6f},{info[18]},{info[15]},{info[23]},{info[24] * 8}", flush=True)
'
"${topo[@]}" exec server python3 -c "$server_py" "$n_bytes" "$port" "$cc" "$cc_when" "$request_bytes" &
server_pid=$!
"${topo[@]}" exec w0 python3 -c "$client_py" "$n_bytes" "$port" "$idle_ms" "$bursts" "$rate_bps" \
  "$cc" "$cc_when" "$request_bytes" >"$out/bursts.csv"
wait "$server_pid" || true

med_s=$(tail -n +2 "$out/bursts.csv" | cut -d, -f4 | median %.9g)
med_cwnd=$(tail -n +2 "$out/bursts.csv" | cut -d, -f6 | median %.9g)
med_rtt=$(tail -n +2 "$out/bursts.csv" | cut -d, -f7 | median %.9g)
med_pacing=$(tail -n +2 "$out/bursts.csv" | cut -d, -f9 | median %.9g)
wire_s=$(awk -v n="$n_bytes" -v r="$rate_bps" 'BEGIN { printf "%.6f", n * 8 / r }')
line=$(awk -v m="$med_s" -v w="$wire_s" -v b="$bytes" -v i="$idle_ms" -v c="$med_cwnd" -v r="$med_rtt" -v p="$med_pacing" 'BEGIN {
  printf "%s after %s ms idle: median %.2f ms = %.2f x its wire time (%.2f ms); before a burst cwnd %s segments, srtt %.0f us, pacing rate %.0f Mbit/s (medians)", b, i, m * 1e3, m / w, w * 1e3, c, r, p / 1e6 }')
# Every burst against the wire time: the spread is the repetitions'.
gnuplot <<GP
set terminal pngcairo size 800,400 font ',10'
set output '$out/bursts.png'
set datafile separator ','
set title "$bytes bursts after $idle_ms ms idle, one TCP connection ($rate star, queue $queue, restart $restart, $cc set $cc_when connecting)"
set xlabel 'burst'
set ylabel 'ms (first byte sent to the server has all)'
set yrange [0:*]
set grid
plot '$out/bursts.csv' every ::1 using 1:(\$4 * 1e3) with points pt 7 title 'burst', \
  $wire_s * 1e3 with lines dt 2 title 'wire time at $rate'
GP
echo "$line"
{
  echo "# TCP bursts after idle on the emulated star, without gradwire"
  echo
  echo "Made by \`$command\` at commit $(code_commit) on $(date -u +%Y-%m-%d), $(nproc) cores."
  echo
  echo "One TCP connection ($cc set on both sockets $cc_when the connection was established; the"
  echo "namespaces' default: $("${topo[@]}" exec w0 sysctl -n net.ipv4.tcp_congestion_control); TCP_NODELAY) from a worker's namespace"
  echo "to the server's through the star (topo.sh up star --workers 1 --rate $rate --host-queue $queue,"
  echo "slow-start restart after idle $restart); $bursts bursts after 3 unmeasured ones, each sent"
  echo "after a request of $request_bytes bytes the server does not answer and $idle_ms ms idle, and"
  echo "timed from the first byte handed to the kernel to the server's one-byte answer."
  echo
  echo "- $line"
  echo
  echo "![bursts](bursts.png)"
  echo
  echo "Files: bursts.csv (every burst: seconds, wire_s, and TCP_INFO before it), bursts.png."
} >"$out/README.md"
