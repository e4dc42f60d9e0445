# shellcheck shell=bash
# Sourced by the experiments: what a results README names, said one way everywhere.
#   code_commit           the checkout's short commit, with -dirty when tracked files outside
#                         results/ differ from it ("unknown" outside a git checkout); run from
#                         the repository root. Outputs do not make the code dirty: a study that
#                         runs several scripts rewrites committed results between them
#   binary_text PATH SHOWN  "SHOWN (sha256 <12 hex>, built <UTC time>)" of the binary at PATH
#                         (SHOWN absolute: its file name, said to be outside the checkout)
#   machine_text          host, cores, CPU model, memory and kernel of this machine
#   provenance_head COMMAND COMMIT BINARY   the first lines of a provenance.txt: command=,
#                         commit=, gradwire=, date= (now, UTC) and machine=
code_commit() {
  local c
  c=$(git rev-parse --short HEAD 2>/dev/null) || { echo unknown; return; }
  git diff --quiet HEAD -- . ':(exclude)results' 2>/dev/null || c+=-dirty
  echo "$c"
}
binary_text() {
  local text=$2
  # A path outside the checkout names a machine (results name no machine's paths): its name.
  [[ $text == /* ]] && text="$(basename "$text") (outside the checkout)"
  [[ -f $1 ]] && text+=" (sha256 $(sha256sum "$1" | cut -c1-12), built $(date -u -r "$1" +%Y-%m-%dT%H:%MZ))"
  echo "$text"
}
machine_text() {
  echo "$(hostname), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
}
provenance_head() {
  echo "command=$1"
  echo "commit=$2"
  echo "gradwire=$3"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine=$(machine_text)"
}
