#!/usr/bin/env bash
# Runs every libFuzzer target of a GW_FUZZ build over a scratch copy of its committed seed
# corpus (tests/fuzz/corpus/<target>/) for a fixed time each; new inputs stay in the scratch
# dir, never in the tree. A crash, leak, timeout or violated property in any target fails the
# run (after the other targets ran) and prints the reproducer's path (rerun it: <target
# binary> <reproducer>).
#   tests/fuzz/run.sh <fuzz build dir> [seconds per target]
set -euo pipefail
build=${1:?usage: run.sh <fuzz build dir> [seconds per target]}
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
scratch="$build/fuzz-run"

# One target per core at a time: each is single-threaded and -max_total_time is wall time, so
# N cores give every target its whole time in 1/N of the wall time.
parallel=${GW_FUZZ_JOBS:-$(nproc)}

# Fuzzes one target; its report goes to $work/report, its status is the exit code.
fuzz_one() {
  local target=$1 binary=$2 work=$3 corpus=$4
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  cp "$corpus"/* "$work/corpus/"
  local log="$work/fuzz.log"
  if "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1; then
    local runs secs edges
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
    ((${secs:-0} > 0)) || secs=1
    edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    echo "fuzz: $target ok: ${runs:-?} runs in ${secs:-?} s ($((${runs:-0} / secs)) exec/s)," \
      "coverage ${edges:-?} edges, corpus $(find "$work/corpus" -type f | wc -l) inputs" \
      >"$work/report"
    return 0
  fi
  {
    echo "fuzz: $target FAILED; what went wrong (whole log: $log):"
    grep -E 'property violated|refused|unexpected|runtime error|ERROR:|SUMMARY:' "$log" |
      head -20 || true
    for repro in "$work"/artifacts/*; do
      [[ -e "$repro" ]] && echo "fuzz: $target reproducer: $repro (rerun: $binary $repro)"
    done
  } >"$work/report"
  return 1
}

targets=()
for corpus in "$here"/corpus/*/; do
  target=$(basename "$corpus")
  binary="$build/tests/fuzz/${target}_fuzz"
  [[ -x "$binary" ]] || { echo "fuzz: $binary missing (build $build first)" >&2; exit 1; }
  targets+=("$target")
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
  fuzz_one "$target" "$binary" "$scratch/$target" "$corpus" &
done
wait || true

# Reports in the corpus order, whatever order the targets ended in; a missing report is a
# target that died before writing one.
failed=0
for target in "${targets[@]}"; do
  report="$scratch/$target/report"
  if [[ -f "$report" ]] && head -1 "$report" | grep -q ' ok: '; then
    cat "$report"
  else
    failed=1
    if [[ -f "$report" ]]; then cat "$report" >&2; else echo "fuzz: $target FAILED (no report)" >&2; fi
  fi
done
exit "$failed"
