#!/usr/bin/env bash
# Runs each test binary given under strace and fails, naming it, if it started a thread or a
# process (clone, clone3, fork, vfork) or if its tests failed. These are the binaries whose
# sources name nothing that starts one (tests/CMakeLists.txt): `make tsan` leaves them out,
# since TSan finds races between threads and there would be none; this keeps that true.
#   tests/no_threads_check.sh BINARY...
set -euo pipefail
command -v strace >/dev/null || { echo "no_threads_check: strace is not installed (make deps)" >&2; exit 1; }
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
failed=0
for binary in "$@"; do
  if ! strace -f -qq -e trace=clone,clone3,fork,vfork -o "$trace" "$binary" >/dev/null 2>&1; then
    echo "no_threads_check: $(basename "$binary"): its tests failed under strace" >&2
    failed=1
  elif [[ -s "$trace" ]]; then
    echo "no_threads_check: $(basename "$binary") started a thread or process, so it belongs under" \
      "TSan: name what starts it in GW_THREAD_STARTERS (tests/CMakeLists.txt). strace:" >&2
    head -3 "$trace" | cut -c1-160 >&2
    failed=1
  fi
done
(($# > 0)) || { echo "no_threads_check: no binaries given" >&2; exit 1; }
((failed)) && exit 1
echo "no_threads_check: $# binaries, none started a thread or process"
