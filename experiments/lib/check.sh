# shellcheck shell=bash
# Sourced by the experiments' shell tests: check NAME OK(0|1) DETAIL prints one PASS/FAIL line
# and counts it in $passes / $fails.
passes=0 fails=0
check() {
  if [[ $2 == 0 ]]; then
    printf 'PASS  %-50s %s\n' "$1" "$3"
    passes=$((passes + 1))
  else
    printf 'FAIL  %-50s %s\n' "$1" "$3"
    fails=$((fails + 1))
  fi
}
