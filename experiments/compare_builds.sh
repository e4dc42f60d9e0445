#!/usr/bin/env bash
# Same behaviour, checked: runs one matrix of small seeded jobs with two gradwire binaries
# (say, before and after a restructuring) and checks that every per-iteration loss is the
# same, cell for cell as written: each worker's worker-W.csv loss per iteration and, for
# coded jobs, the server's rounds.csv loss per round (mds: 0.5|Ax-y|^2/m; nan elsewhere).
# One line per configuration, "same" or "DIFFERENT" with the first differing row; exits 1 on
# any difference (or a job that failed), 0 when every configuration is the same.
#
# The matrix (linreg, 30 iterations, --seed 1; about a minute for both binaries):
#   sync rules      bsp, asp, ssp:2, r2sp (--windows round-robin)
#   coding schemes  uncoded, replication, gc-fr, gc-cr, mm, mds
#   window policies burst, round-robin, slots, topology (under bsp)
# A loss is a pure function of the seed and of the order in which the server combines
# gradients. Where that order follows arrivals, seeded straggler delays fix it (found by
# running the reference binary three times per configuration; none of the delay models can
# keep four equally fast workers apart, hence two workers where the order matters):
#   bsp, windows  every update sums all workers' gradients in worker order: 4 workers as is.
#   asp     updates in order of arrival, and periodic workers drift into each other, so 2
#           workers: worker 1 a persistent straggler so slow (50 x 4 ms) that worker 0 ends
#           all its iterations before worker 1's first gradient lands (30 updates stale);
#           then worker 1's in turn.
#   ssp:2   2 workers, worker 1 2.5x slower (base 20 ms): worker 0 waits for it every 2
#           iterations, so each cycle starts at a landing of worker 1 and the next arrivals
#           are >= 10 ms apart.
#   r2sp    2 workers, worker 1 2.5x slower: with equally fast workers the first ring after
#           the warm-up starts with whoever asks first.
#   coded   worker 3 (of 4) a persistent straggler (factor 4, base 10 ms), so the first three
#           messages always come from workers 0-2: enough for replication, gc-fr and mds:k=3,
#           whose decoding does not depend on the order among them. uncoded, gc-cr and mm
#           sum messages in arrival order: 2 workers there, worker 1 the straggler.
#
# Usage: experiments/compare_builds.sh A_GRADWIRE B_GRADWIRE [OUT]
#   OUT keeps both binaries' runs (OUT/<configuration>/{a,b}/); by default a temporary
#   directory, removed at the end.
# Environment: ONLY="bsp asp ..." runs those configurations only; B_FLAGS adds flags the
# matrix does not set to B's jobs only, e.g. B_FLAGS="--lr 0.11" to see the check fail.
set -euo pipefail
usage="usage: experiments/compare_builds.sh A_GRADWIRE B_GRADWIRE [OUT]"
[[ $# -ge 2 && $# -le 3 ]] || { echo "$usage" >&2; exit 2; }
a_bin=$(realpath "$1")
b_bin=$(realpath "$2")
for bin in "$a_bin" "$b_bin"; do
  [[ -x $bin ]] || { echo "compare_builds.sh: $bin is not an executable" >&2; exit 2; }
done
if [[ -n ${3:-} ]]; then
  out=$3
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
# shellcheck source=experiments/lib/csv.sh
source "$(dirname "$0")/lib/csv.sh"
read -r -a b_flags <<<"${B_FLAGS:-}"

job=(--workload linreg --iterations 30 --seed 1 --log-level warn --timeout 60)
slow_worker_1=persistent:workers=1,factor=2.5,base=0.02
coded_4=--straggler=persistent:workers=3,factor=4,base=0.01
coded_2=--straggler=persistent:workers=1,factor=4,base=0.01
# name | workers | flags
configs=(
  "bsp|4|--sync bsp"
  "asp|2|--sync asp --straggler persistent:workers=1,factor=50,base=0.004"
  "ssp|2|--sync ssp:2 --straggler $slow_worker_1"
  "r2sp|2|--sync r2sp --windows round-robin --straggler $slow_worker_1"
  "coding-uncoded|2|--coding uncoded $coded_2"
  "coding-replication|4|--coding replication:r=2 $coded_4"
  "coding-gc-fr|4|--coding gc-fr:s=1 $coded_4"
  "coding-gc-cr|2|--coding gc-cr:s=1 $coded_2"
  "coding-mm|2|--coding mm:r=2 $coded_2"
  "coding-mds|4|--coding mds:k=3 $coded_4"
  "windows-burst|4|--sync bsp --windows burst"
  "windows-round-robin|4|--sync bsp --windows round-robin"
  "windows-slots|4|--sync bsp --windows slots:period=4,slot=1"
  "windows-topology|4|--sync bsp --windows topology:racks=2"
)

# The losses of one run, one line each: file, iteration (rounds.csv: round), loss.
losses() {
  local f
  for f in "$1"/worker-*.csv; do
    csv_awk -v f="$(basename "$f")" '{ print f, col("iteration"), col("loss") }' "$f"
  done
  [[ ! -f $1/rounds.csv ]] || csv_awk '{ print "rounds.csv", col("round"), col("loss") }' "$1/rounds.csv"
}

differences=0
for config in "${configs[@]}"; do
  IFS='|' read -r name workers flags <<<"$config"
  [[ -z ${ONLY:-} || " $ONLY " == *" $name "* ]] || continue
  read -r -a config_flags <<<"$flags"
  dir=$out/$name
  rm -rf "$dir"
  verdict=""
  for side in a b; do
    bin=$a_bin extra=()
    [[ $side == b ]] && bin=$b_bin extra=("${b_flags[@]}")
    if ! "$bin" run --num-workers "$workers" "${job[@]}" "${config_flags[@]}" "${extra[@]}" \
      --out "$dir/$side" >"$dir-$side.log" 2>&1; then
      verdict="FAILED    $name: $side's job failed: $(tail -1 "$dir-$side.log")"
    fi
  done
  if [[ -z $verdict ]]; then
    losses "$dir/a" >"$dir/a.losses"
    losses "$dir/b" >"$dir/b.losses"
    defined=$(grep -cv ' nan$' "$dir/a.losses" || true)
    first=$(paste -d'|' "$dir/a.losses" "$dir/b.losses" |
      awk -F'|' '$1 != $2 { printf "row %d: \"%s\" vs \"%s\"", NR, $1, $2; exit }')
    if [[ -n $first ]]; then
      verdict="DIFFERENT $name: $first"
    elif ((defined == 0)); then
      verdict="DIFFERENT $name: no losses written"
    else
      verdict="same      $name ($defined losses, $workers workers)"
    fi
  fi
  echo "$verdict"
  [[ $verdict == same* ]] || differences=$((differences + 1))
done
if ((differences)); then
  echo "compare_builds.sh: $differences configuration(s) differ" >&2
  exit 1
fi
echo "compare_builds.sh: every configuration the same"
