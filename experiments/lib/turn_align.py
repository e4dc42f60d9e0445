#!/usr/bin/env python3
"""Aligns a packet capture at the server with a job's windows.csv (experiments/turn_capture.sh).

Usage: tcpdump -r CAPTURE -nn -tt | turn_align.py WINDOWS_CSV OUT_CSV
Reads tcpdump's text lines on stdin, writes OUT_CSV (one row per matched ring window) and prints
one summary line per part (median, 90th percentile) and the rate of the data the server received
from the first ring grant to the last ring window's end (the link's use on the wire). Control frames are small (TCP payload under
128 bytes): a grant is the first small server->writer segment at or after its decision (start_s)
plus the offset, the writer's notice the first small writer->server segment after the grant.
The capture's clock is the wall clock, windows.csv's the server's since its start: the offset
puts every grant nearest its decision, then is lowered to the smallest grant-minus-decision
(a grant is sent after it is decided). Worker rank r is 10.77.0.(r+1), the server 10.77.0.100
(experiments/topo).
"""
import bisect
import csv
import math
import re
import statistics
import sys

windows_csv, out_csv = sys.argv[1], sys.argv[2]
pat = re.compile(r"^(\d+\.\d+) IP (\S+) > (\S+): Flags \[[^\]]*\].* length (\d+)")
server = "10.77.0.100."
grants, notices = {}, {}
inbound = []  # (time, bytes) of the data segments arriving at the server: the pushes
for line in sys.stdin:
    m = pat.match(line)
    length = int(m.group(4)) if m else 0
    if length == 0:
        continue
    t, src, dst = float(m.group(1)), m.group(2), m.group(3)
    if length >= 128:
        if dst.startswith(server):
            inbound.append((t, length))
        continue
    if src.startswith(server):
        grants.setdefault(int(dst.split(".")[3]) - 1, []).append(t)
    elif dst.startswith(server):
        notices.setdefault(int(src.split(".")[3]) - 1, []).append(t)
# Ring windows (a finite bound), as experiments/ring_timing.sh takes them: every one's end counts
# in the idle gap before the turns after it; those with a post notice are matched.
ring = sorted((r for r in csv.DictReader(open(windows_csv)) if r["bound_s"] != "inf"),
              key=lambda r: float(r["start_s"]))
rows = [r for r in ring if r["posted_s"] not in ("", "nan")]
def first_at(times, x):
    i = bisect.bisect_left(times, x)
    return times[i] if i < len(times) else None
def nearest(times, x):
    i = bisect.bisect_left(times, x)
    near = [times[j] for j in (i - 1, i) if 0 <= j < len(times)]
    return min(near, key=lambda y: abs(y - x)) if near else None
if not rows or not grants:
    sys.exit("turn_capture: no ring windows with posts, or no grants in the capture")
# Coarse offset: the one that puts every grant nearest its decision; then the smallest
# grant-minus-decision, as a grant is sent after it is decided.
first = rows[0]
def misfit(off):
    return sum(abs(nearest(grants.get(int(r["worker"]), [0.0]), float(r["start_s"]) + off) -
                   float(r["start_s"]) - off) for r in rows)
offset = min((g - float(first["start_s"]) for g in grants.get(int(first["worker"]), [])), key=misfit)
offset += min(nearest(grants[int(r["worker"])], float(r["start_s"]) + offset) - float(r["start_s"]) - offset
              for r in rows if int(r["worker"]) in grants)
ends = []  # ends of the ring windows granted before, for the idle gap
out = csv.writer(open(out_csv, "w", newline=""))
out.writerow(["worker", "iteration", "start_s", "grant_send_ms", "notice_back_ms",
              "notice_handled_ms", "idle_gap_ms"])
parts = [[], [], [], []]
for r in ring:
    ended_before = max(ends) if ends else None
    ends.append(float(r["end_s"]))
    if r["posted_s"] in ("", "nan"):
        continue
    w, start, posted = int(r["worker"]), float(r["start_s"]), float(r["posted_s"])
    g = first_at(grants.get(w, []), start + offset - 1e-4)
    n = first_at(notices.get(w, []), g) if g is not None else None
    idle = None if ended_before is None else max(0.0, posted - ended_before)
    if g is None or n is None or n > posted + offset + 0.05:
        continue  # not matched in the capture
    row = [(g - start - offset) * 1e3, (n - g) * 1e3, (posted + offset - n) * 1e3]
    row.append("" if idle is None else idle * 1e3)
    for k, v in enumerate(row):
        if v != "":
            parts[k].append(v)
    out.writerow([w, r["iteration"], f"{start:.6f}"] + [v if v == "" else f"{v:.3f}" for v in row])
names = ["grant decided -> on the wire", "grant on the wire -> notice back (round trip, worker, switch queue)",
         "notice on the wire -> handled by the server", "idle before the turn, by windows.csv"]
for name, v in zip(names, parts):
    v.sort()
    if v:
        p90 = v[max(0, math.ceil(0.9 * len(v)) - 1)]  # nearest rank
        print(f"{name}: median {statistics.median(v):.2f} ms, p90 {p90:.2f} ms ({len(v)} turns)")
# The link's use on the wire while the ring turned: windows.csv's idle gap counts from when the
# server handled a notice, so it carries the server's own delay; the capture does not.
ring_from = float(rows[0]["start_s"]) + offset
ring_to = max(float(r["end_s"]) for r in rows) + offset
carried = sum(b for t, b in inbound if ring_from <= t <= ring_to)
if ring_to > ring_from:
    print(f"data into the server while the ring turned: {carried * 8 / (ring_to - ring_from) / 1e6:.1f} Mbit/s "
          f"({(ring_to - ring_from) * 1e3:.1f} ms)")
