#!/usr/bin/env bash
# How a run's ring turns went, from its windows.csv (`gradwire run --windows ...`): the median
# time between consecutive ring grants, from a grant to its writer's first-post notice, and
# from that notice to the window's end (the push on the wire, as the server saw it), and how
# many ring windows were granted ahead (sched/window_scheduler.h: long trips), and the idle
# gap before each turn: from the latest end of the windows granted before it to its first
# post, 0 where it posted before then (the link went from one writer to the next without a
# pause). Ring windows are those with a finite bound; rows without a post notice count only
# between grants (and their ends in the idle gap).
#
# A merged windows.csv of several servers (a server column) gives one line per server: each
# server has its own ring.
# Usage: experiments/ring_timing.sh RUN_DIR/windows.csv ...   (one line per file and server)
# Exit 2: bad usage or a file without the columns.
set -euo pipefail
source "$(dirname "$0")/lib/csv.sh"
(($#)) || { echo "usage: experiments/ring_timing.sh WINDOWS_CSV ..." >&2; exit 2; }
# shellcheck source=experiments/lib/stats.sh
source "$(dirname "$0")/lib/stats.sh"
for f in "$@"; do
  [[ -r $f ]] || { echo "ring_timing.sh: cannot read $f" >&2; exit 2; }
  head -1 "$f" | grep -q 'start_s.*bound_s.*posted_s' ||
    { echo "ring_timing.sh: $f has no start_s, bound_s and posted_s columns" >&2; exit 2; }
  servers=$(csv_awk '{ print (has("server") ? col("server") : "") }' "$f" | sort -un)
  [[ -n $servers ]] || servers="-"
  for server in $servers; do
    label=$f
    [[ $server == - ]] || label="$f (server $server)"
    rows=$(csv_awk -v s="$server" 'col("bound_s") !~ /inf/ && (s == "-" || col("server") == s) {
        printf "%s %s %s %s\n", col("start_s"), col("posted_s"), col("end_s"), (has("ahead") ? col("ahead") : 0) }' "$f" | sort -g)
    grants=$(awk 'NR > 1 { printf "%.6f\n", 1000 * ($1 - prev) } { prev = $1 }' <<<"$rows" | median %.1f)
    handoff=$(awk '$2 != "nan" { printf "%.6f\n", 1000 * ($2 - $1) }' <<<"$rows" | median %.1f)
    busy=$(awk '$2 != "nan" { printf "%.6f\n", 1000 * ($3 - $2) }' <<<"$rows" | median %.1f)
    idle=$(awk 'NR > 1 && $2 != "nan" { d = $2 - last; printf "%.6f\n", (d > 0 ? 1000 * d : 0) }
        NR == 1 || $3 > last { last = $3 }' <<<"$rows" | median %.1f)
    counts=$(awk '{ n++; a += $4 } END { printf "%d of %d", a, n }' <<<"$rows")
    echo "$label: ring windows $counts ahead; median ms: grant to grant $grants, grant to post $handoff, post to end $busy, idle gap $idle"
  done
done
