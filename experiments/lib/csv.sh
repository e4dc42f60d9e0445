# shellcheck shell=bash
# Sourced by the experiments to read CSVs (gradwire's and their own) by column name, never by
# position, so a column added or moved cannot shift what a script reads:
#   csv_awk [-v VAR=VALUE]... 'PROGRAM' [FILE...]
# runs awk -F, on the files (or stdin). Each file's first line is its header: PROGRAM never
# sees it, and on every other line col("name") is that column's cell; has("name") says whether
# the file has the column (runs older than a column lack it). A missing column stops awk with
# exit 2 and a message naming it and the file, before PROGRAM's END.
csv_awk() {
  local opts=()
  while [[ ${1:-} == -v ]]; do
    opts+=("$1" "$2")
    shift 2
  done
  local program=${1:?csv_awk: no awk program}
  shift
  awk -F, "${opts[@]}" "$_csv_awk_library
$program" "$@"
}

# Comes first in every csv_awk program: its END runs (and exits) before the program's own.
# shellcheck disable=SC2016  # awk code, not shell
_csv_awk_library='
FNR == 1 { split("", _csv_column); for (_i = 1; _i <= NF; _i++) _csv_column[$_i] = _i; next }
function has(name) { return name in _csv_column }
function col(name) {
  if (!(name in _csv_column)) {
    printf "csv_awk: %s has no column \"%s\"\n", FILENAME, name >"/dev/stderr"
    _csv_missing = 1
    exit 2
  }
  return $(_csv_column[name])
}
END { if (_csv_missing) exit 2 }'
