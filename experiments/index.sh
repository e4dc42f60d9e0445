#!/usr/bin/env bash
# results/INDEX.md: one row per figure (every PNG under results/ but those inside a runs/
# folder), with the command that made it, the code commit, the date and the machine, read from
# the figure's folder: its provenance.txt (runner.sh: key=value lines; dnn_traffic.sh and
# credit_sweep.sh: command, commit, date lines) or else the "Made by `COMMAND` ..." paragraph
# of its README.md. Where the code commit was not recorded (older folders), the row gives the
# commit that last changed the folder's CSVs and says so; a missing date likewise is that
# commit's date. A figure whose command cannot be found fails the script (exit 1) and names it:
# every committed figure must say how it was made.
#
# Usage: experiments/index.sh [--check]
#   --check   write nothing; exit 1 when results/INDEX.md differs from what would be written
# shellcheck disable=SC2016  # backquotes in single quotes are markdown, matched by grep and sed
set -euo pipefail
usage="usage: experiments/index.sh [--check]"
check=0
case ${1:-} in
  "") ;;
  --check) check=1 ;;
  -h | --help) echo "$usage"; exit 0 ;;
  *) echo "index.sh: unknown option '$1'; $usage" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
index=results/INDEX.md

# made_by DIR: the README's paragraph that starts with "Made by", joined into one line.
made_by() {
  [[ -f $1/README.md ]] || return 0
  awk '/Made by/ { on = 1 } on && /^[[:space:]]*$/ { exit } on { printf "%s ", $0 }' "$1/README.md"
}
# first_match ERE TEXT: the first match of ERE in TEXT (empty when none).
first_match() { grep -oE -- "$1" <<<"$2" | head -n 1 || true; }
# prov_key DIR KEY: a runner.sh provenance.txt value.
prov_key() { sed -n "s/^$2=//p" "$1/provenance.txt" | head -n 1; }
# short HASH[-dirty]: the abbreviated commit, keeping -dirty.
short() {
  local h=${1%-dirty}
  printf '%s%s' "${h:0:8}" "${1:${#h}}"
}
# results_commit DIR: the commit that last changed the folder's own CSVs (runs.csv alone where
# there is one: the measurements, which a redraw leaves alone; never those in runs/), and that
# commit's date.
results_commit() {
  local csvs
  mapfile -t csvs < <(git ls-files -- "$1/runs.csv")
  ((${#csvs[@]} > 0)) || mapfile -t csvs < <(git ls-files -- "$1" | grep -E "^$1/[^/]+\.csv$" || true)
  ((${#csvs[@]} > 0)) || mapfile -t csvs < <(git ls-files -- "$1" | grep -E "^$1/[^/]+$" || true)
  ((${#csvs[@]} > 0)) || return 0
  git log -1 --format='%h %ad' --date=short -- "${csvs[@]}"
}
# cell TEXT: TEXT made safe inside a markdown table cell.
cell() { local t=${1//|/\\|}; printf '%s' "${t//$'\n'/ }"; }

rows=()
missing=()
while IFS= read -r png; do
  dir=${png%/*}
  name=${dir#results/}
  para=$(made_by "$dir")
  command="" commit="" date="" machine="" note="" runner=0
  if [[ -f $dir/provenance.txt ]] && grep -q '^command=' "$dir/provenance.txt"; then
    # runner.sh: key=value.
    runner=1
    command=$(prov_key "$dir" command)
    commit=$(prov_key "$dir" commit)
    date=$(prov_key "$dir" date)
    machine=$(prov_key "$dir" machine)
  elif [[ -f $dir/provenance.txt ]]; then
    # dnn_traffic.sh, credit_sweep.sh: the command, the commit, the date, a line each.
    mapfile -t prov <"$dir/provenance.txt"
    command=${prov[0]:-}
    commit=${prov[1]:-}
    date=${prov[2]:-}
  fi
  [[ -n $command ]] || command=$(first_match 'Made by `[^`]+`' "$para" | sed 's/^Made by `//; s/`$//')
  command=${command% }
  # Only a commit hash counts ("not recorded (...)" does not). A runner README's other commit
  # is the redraw's, below.
  [[ $commit =~ ^[0-9a-f]{7,40}(-dirty)?$ ]] || commit=""
  [[ -n $commit ]] || ((runner)) ||
    commit=$(first_match 'commit [0-9a-f]{7,40}(-dirty)?' "$para" | sed 's/^commit //')
  [[ -n $date && $date != "not recorded" ]] ||
    date=$(first_match '[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2} UTC)?' "$para")
  if [[ -z $machine || $machine == "not recorded" ]]; then
    machine=$(first_match '[0-9]+ cores.{0,120}' "$para" |
      sed -E 's/((kernel|Linux) [0-9][^ ,:;]*[A-Za-z0-9]).*/\1/; t; s/[.:;].*$//')
  fi
  # runner.sh --plot-only (--rescan) redraws the figure from runs.csv (the jobs' CSVs): the
  # figure's own command.
  redraw=$(first_match 'redrawn from (runs.csv|the jobs. CSVs \(runs.csv rebuilt\)) by `[^`]+` at commit [^ ]+ on [0-9T:-]+Z' "$para")
  redraw_commit=""
  if [[ -n $redraw ]]; then
    note="; figure redrawn by \`$(sed -E 's/^[^`]*`([^`]+)`.*/\1/' <<<"$redraw")\`"
    note+=" on $(sed -E 's/.* on ([^ ]+)$/\1/' <<<"$redraw")"
    redraw_commit=$(sed -E 's/.* at commit ([^ ]+) on .*/\1/' <<<"$redraw")
  fi
  if [[ -z $command ]]; then
    missing+=("$png")
    continue
  fi
  rc="" rdate=""
  if [[ -z $commit || -z $date ]]; then read -r rc rdate < <(results_commit "$dir") || true; fi
  if [[ -n $commit ]]; then
    commit=$(short "$commit")
  else
    commit="${rc:-unknown} (commit of the results, the code commit was not recorded)"
  fi
  [[ -z $redraw_commit ]] || commit+="; figure redrawn at $(short "$redraw_commit")"
  [[ -n $date ]] || date="${rdate:-not recorded} (date of the commit of the results)"
  [[ -n $machine ]] || machine="not recorded"
  rows+=("| [$name/${png##*/}]($name/${png##*/}) | \`$(cell "$command")\`$(cell "$note") ([README]($name/README.md)) | $(cell "$commit") | $(cell "$date") | $(cell "$machine") |")
done < <(find results -name runs -prune -o -type f -name '*.png' -print | LC_ALL=C sort)

if ((${#missing[@]} > 0)); then
  echo "index.sh: no command found for these figures (their folder needs a provenance.txt or a" \
    "README.md paragraph 'Made by \`COMMAND\`'):" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
((${#rows[@]} > 0)) || { echo "index.sh: no figures under results/" >&2; exit 1; }

new=$(mktemp)
trap 'rm -f "$new"' EXIT
{
  echo "# Index of the figures in results/"
  echo
  echo "Written by \`experiments/index.sh\` (do not edit; run it again after adding or remaking a"
  echo "figure, \`experiments/index.sh --check\` says whether this file is current). One row per"
  echo "figure: the command that made it, the code commit, the date and the machine, as its folder's"
  echo "\`provenance.txt\` or \`README.md\` records them. Where the code commit was not recorded, the"
  echo "row gives the commit that last changed the folder's CSVs instead, and says so."
  echo
  echo "Raw per-job runs (per-worker CSVs, logs) are kept packed as \`NAME/runs.tar.xz\`; unpack"
  echo "with \`tar -C results/NAME -xJf results/NAME/runs.tar.xz\` (into \`results/NAME/runs/\`, which"
  echo "git ignores). \`dnn_traffic.sh\` and \`credit_sweep.sh --report-only\` unpack it themselves."
  echo
  echo "| figure | command | code commit | date | machine |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} >"$new"
if ((check)); then
  if ! diff -u "$index" "$new" >&2; then
    echo "index.sh: $index is out of date (run experiments/index.sh)" >&2
    exit 1
  fi
  echo "index.sh: $index is current (${#rows[@]} figures)" >&2
  exit 0
fi
cp "$new" "$index"
echo "index.sh: wrote $index (${#rows[@]} figures)" >&2
