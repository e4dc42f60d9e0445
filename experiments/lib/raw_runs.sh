# shellcheck shell=bash
# Sourced by the experiments that re-read a results folder's raw per-job runs (DIR/runs/<job>/:
# per-worker CSVs, logs, command.txt). Git keeps those only packed, as DIR/runs.tar.xz (the
# raw runs are 99 % of the files under results/; .gitignore keeps /results/*/runs/ out):
#   raw_runs_unpack DIR   if DIR/runs/ is missing and DIR/runs.tar.xz exists, unpacks it into
#                         DIR/runs/ (git-ignored) and says so on stderr; otherwise does nothing
#   raw_runs_pack DIR     packs DIR/runs/ into DIR/runs.tar.xz, byte for byte the same for the
#                         same files (sorted names, mtime 0, owner 0, one xz thread); DIR/runs/
#                         is left in place
#   raw_runs_pack_committed DIR   at the end of a run: packs DIR/runs/ when DIR is a committed
#                         results folder (results/<NAME>/ of this repository, not results/runs/),
#                         so the runs.tar.xz git keeps is never older than the CSVs beside it
# All return non-zero (with a message) when tar fails.
raw_runs_unpack() {
  local dir=${1:?raw_runs_unpack: no results folder}
  [[ -d $dir/runs || ! -f $dir/runs.tar.xz ]] && return 0
  echo "raw_runs: unpacking $dir/runs.tar.xz into $dir/runs/ (git-ignored)" >&2
  tar -C "$dir" -m -xJf "$dir/runs.tar.xz" || { echo "raw_runs: cannot unpack $dir/runs.tar.xz" >&2; return 1; }
}
raw_runs_pack() {
  local dir=${1:?raw_runs_pack: no results folder}
  [[ -d $dir/runs ]] || { echo "raw_runs: no $dir/runs/ to pack" >&2; return 1; }
  XZ_OPT=${XZ_OPT:--T1} tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cJf "$dir/runs.tar.xz" runs || { echo "raw_runs: cannot pack $dir/runs/" >&2; return 1; }
}
raw_runs_pack_committed() {
  local dir results
  dir=$(realpath -m "${1:?raw_runs_pack_committed: no results folder}")
  results=$(realpath -m "$(dirname "${BASH_SOURCE[0]}")/../../results")
  [[ $dir == "$results"/* && $dir != "$results"/runs && $dir != "$results"/runs/* && -d $dir/runs ]] || return 0
  echo "raw_runs: packing $dir/runs/ into runs.tar.xz (what git keeps of the raw runs)" >&2
  raw_runs_pack "$dir"
}
