#!/usr/bin/env bash
# Same behaviour, checked: runs one matrix of small seeded jobs with two gradwire binaries
# (say, before and after a restructuring) and checks that every per-iteration loss is the
# same, cell for cell as written: each worker's worker-W.csv loss per iteration and, for
# coded jobs, the server's rounds.csv loss per round, where defined (mds: even rounds'
# 0.5|Ax-y|^2/m; its workers compute products, not losses, and write nan). In coded jobs a
# worker may miss a round that closed before it got to it (timing): a row one run lacks is
# no difference there, as long as every round's losses are compared.
# One line per configuration, "same" or "DIFFERENT" with the first differing row; exits 1 on
# any difference (or a job that failed), 0 when every configuration is the same.
#
# The matrix (linreg, 30 iterations, --seed 1; about 1.5 minutes for both binaries):
#   sync rules      bsp, asp, ssp:2, r2sp (--windows round-robin)
#   coding schemes  uncoded, replication, gc-fr, gc-cr, mm, mds
#   window policies burst, round-robin, slots, topology (under bsp)
# A loss is a pure function of the seed and of the order in which the server combines
# gradients. Where that order follows arrivals, seeded straggler delays fix it (found by
# running the reference binary three times per configuration; none of the delay models can
# keep four equally fast workers apart, hence two workers where the order matters):
#   bsp, windows  every update sums all workers' gradients in worker order: 4 workers as is.
#   asp     updates in order of arrival, and periodic workers drift into each other, so 2
#           workers: worker 1 a persistent straggler so slow (150 x 2 ms) that worker 0 ends
#           all its iterations before worker 1's first gradient lands (30 updates stale);
#           then worker 1's in turn.
#   ssp:2   2 workers, worker 1 2.5x slower (base 50 ms): worker 0 waits for it, so each
#           cycle starts at a landing of worker 1, and arrivals are >= 25 ms apart.
#   r2sp    2 workers, worker 1 2.5x slower (base 50 ms): with equally fast workers the
#           first ring after the warm-up starts with whoever asks first.
# These margins are tens of ms: on a machine loaded enough to stall a process longer than
# that, a DIFFERENT in asp, ssp, r2sp or a coded job can be timing; run it again (ONLY=...).
#   coded   the messages that decode a round are the first to arrive. Where the code
#           decodes without one worker, that worker never delivers (fail-stop from round 0:
#           it computes, waits for each round to close and writes its row; a slow straggler
#           instead catches up with whichever round is open then). replication, gc-fr and
#           mds:k=3 decode workers 0-2's messages in any order the same: 4 workers, worker 3
#           failed. gc-cr and mm sum in arrival order: 2 workers, worker 1 failed, worker 0
#           decodes alone. uncoded needs everyone: 2 workers, worker 1 4x slower (base 10 ms).
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
slow_worker_1=persistent:workers=1,factor=2.5,base=0.05
failed_3=--straggler=fail-stop:worker=3,at=0,base=0.01
failed_1=--straggler=fail-stop:worker=1,at=0,base=0.01
# name | workers | flags
configs=(
  "bsp|4|--sync bsp"
  "asp|2|--sync asp --straggler persistent:workers=1,factor=150,base=0.002"
  "ssp|2|--sync ssp:2 --straggler $slow_worker_1"
  "r2sp|2|--sync r2sp --windows round-robin --straggler $slow_worker_1"
  "coding-uncoded|2|--coding uncoded --straggler persistent:workers=1,factor=4,base=0.01"
  "coding-replication|4|--coding replication:r=2 $failed_3"
  "coding-gc-fr|4|--coding gc-fr:s=1 $failed_3"
  "coding-gc-cr|2|--coding gc-cr:s=1 $failed_1"
  "coding-mm|2|--coding mm:r=2 $failed_1"
  "coding-mds|4|--coding mds:k=3 $failed_3"
  "windows-burst|4|--sync bsp --windows burst"
  "windows-round-robin|4|--sync bsp --windows round-robin"
  "windows-slots|4|--sync bsp --windows slots:period=4,slot=1"
  "windows-topology|4|--sync bsp --windows topology:racks=2"
)

# The losses of one run, one line each: file, iteration (rounds.csv: round), loss; rows
# without a loss (nan) left out.
losses() {
  local f
  for f in "$1"/worker-*.csv; do
    csv_awk -v f="$(basename "$f")" 'col("loss") !~ /nan/ { print f, col("iteration"), col("loss") }' "$f"
  done
  [[ ! -f $1/rounds.csv ]] ||
    csv_awk 'col("loss") !~ /nan/ { print "rounds.csv", col("round"), col("loss") }' "$1/rounds.csv"
}

# Compares two runs' losses (a, b) by file and iteration: the first loss that differs, a
# row only one run has, or "compared N losses" when all agree. In coded jobs (coded=1) a
# worker may miss a round that closed before it got to it, a matter of timing: a row only
# one run has is then no difference, but every round must still be compared at least once.
first_difference() {  # a b coded
  awk -v coded="$3" '
    NR == FNR { k = $1 " " $2; a[k] = $3; rounds[$2] = 1; next }
    { k = $1 " " $2; rounds[$2] = 1
      if (!(k in a)) { if (coded) next; printf "%s iteration %s: only in run B", $1, $2; done = 1; exit }
      if (a[k] != $3 "") { printf "%s iteration %s: loss %s vs %s", $1, $2, a[k], $3; done = 1; exit }
      seen[k] = 1; compared[$2] = 1; n++ }
    END {
      if (done) exit
      if (!coded) for (k in a) if (!(k in seen)) { split(k, f, " "); printf "%s iteration %s: only in run A", f[1], f[2]; exit }
      for (r in rounds) if (!(r in compared)) { printf "round %s: no loss both runs wrote", r; exit }
      if (n == 0) { printf "no losses written"; exit }
      printf "compared %d losses", n }' "$1" "$2"
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
    coded=0
    [[ $name == coding-* ]] && coded=1
    result=$(first_difference "$dir/a.losses" "$dir/b.losses" "$coded")
    if [[ $result == compared* ]]; then
      verdict="same      $name (${result#compared }, $workers workers)"
    else
      verdict="DIFFERENT $name: $result"
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
