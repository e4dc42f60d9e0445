#!/usr/bin/env bash
# Tests experiments/launch/launch.sh on this machine (root, Debian 12; ~1 minute):
#   (a) --dry-run of --hostfile, --slurm and --mpirun for a 1-server 4-worker job on a 2-host
#       hostfile (localhost, 127.0.0.1): roles, ranks, addresses, token kept off command lines;
#       the launcher's own errors (Slurm outside an allocation, a flag the launcher owns)
#   (b) a real --hostfile run over ssh to this machine (a private sshd on a free loopback port
#       with a throwaway key; skipped with the reason when sshd cannot run), plus its errors
#       (host unreachable, binary missing on the host)
#   (c) a real --slurm run: salloc on the local Slurm (local-slurm.sh up; taken down again
#       if this script brought it up)
#   (d) a real --mpirun run on this machine if Open MPI's mpirun is installed
# Every real run must write the same files as `gradwire run --out` and, the job being BSP and
# seeded, the same losses and test accuracy (checked first: two `gradwire run`s agree).
# Usage: experiments/launch/test.sh [PATH/TO/gradwire]   Prints PASS/FAIL/SKIP lines, exits
# non-zero on any FAIL.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$(realpath -m "${1:-$repo/build/apps/gradwire/gradwire}")
launch=$here/launch.sh
[[ -x $bin ]] || { echo "test: no gradwire binary at $bin (make, or pass its path)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/gradwire-launch-test.XXXXXX)
passed=0 failed=0 skipped=0
sshd_pid="" slurm_started=0
cleanup() {
  [[ -n $sshd_pid ]] && kill "$sshd_pid" 2>/dev/null
  ((slurm_started)) && "$here/local-slurm.sh" down >/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

pass() { echo "PASS $*"; ((++passed)); }
fail() { echo "FAIL $*"; ((++failed)); }
skip() { echo "SKIP $*"; ((++skipped)); }
check() { # NAME CMD...: PASS when CMD succeeds
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# A free TCP port on this machine with the next one free too.
free_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 20000))
    if ! ss -Htln "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null | grep -q .; then
      echo "$p"
      return
    fi
  done
  echo 29000
}

job=(--num-workers 4 --iterations 100 --workload softmax --seed 1)
printf 'localhost\n127.0.0.1\n' >"$tmp/hosts"

# ---- reference: gradwire run, twice -----------------------------------------------------
# A run's deterministic content: every worker's per-iteration loss and bytes, and the
# summary's losses and accuracy.
fingerprint() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
           { print $c["worker"], $c["iteration"], $c["bytes"], $c["loss"] }' "$1/iterations.csv"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
           { print "train_loss_last20", $c["train_loss_last20"]; print "test_loss", $c["test_loss"]
             print "test_accuracy", $c["test_accuracy"] }' "$1/summary.csv"
}
files() { (cd "$1" && find . -type f | sort); }
summary_of() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
           { printf "test_accuracy=%s train_loss_last20=%s", $c["test_accuracy"], $c["train_loss_last20"] }' \
    "$1/summary.csv"
}
for r in 1 2; do
  "$bin" run "${job[@]}" --out "$tmp/run$r" >"$tmp/run$r.log" 2>&1 || fail "gradwire run #$r (see its log)"
done
fingerprint "$tmp/run1" >"$tmp/run1.fp" 2>/dev/null
fingerprint "$tmp/run2" >"$tmp/run2.fp" 2>/dev/null
if [[ -s $tmp/run1.fp ]] && cmp -s "$tmp/run1.fp" "$tmp/run2.fp"; then
  pass "reference: two gradwire runs of the BSP seeded job agree (losses per iteration, $(summary_of "$tmp/run1"))"
else
  fail "reference: two gradwire runs of the same BSP seeded job differ; the comparisons below mean little"
fi

# A launched run's directory against the reference.
compare_run() { # NAME DIR LOG RC
  local name=$1 dir=$2 log=$3 rc=$4
  if ((rc != 0)); then
    fail "$name: launch.sh exited $rc; last lines of its output:"
    tail -5 "$log" | sed 's/^/    /'
    return
  fi
  if diff <(files "$tmp/run1") <(files "$dir") >"$tmp/files.diff"; then
    pass "$name: the same files as gradwire run --out ($(files "$dir" | sed 's|^\./||' | tr '\n' ' '))"
  else
    fail "$name: files differ from gradwire run --out:"
    sed 's/^/    /' "$tmp/files.diff"
  fi
  if cmp -s "$tmp/run1.fp" <(fingerprint "$dir" 2>/dev/null); then
    pass "$name: the same per-iteration losses and final results as gradwire run ($(summary_of "$dir"))"
  else
    fail "$name: results differ from gradwire run (reference $(summary_of "$tmp/run1"); got $(summary_of "$dir" 2>/dev/null))"
  fi
}

# ---- (a) dry runs ------------------------------------------------------------------------
port=$(free_port)
dry() { # MODE-FLAGS... : output in $tmp/dry.out, exit code in dry_rc
  dry_rc=0
  env -u SLURM_JOB_ID -u SLURM_JOB_NODELIST "$launch" "$@" --dry-run --port "$port" \
    --out "$tmp/dry-out" -- "${job[@]}" >"$tmp/dry.out" 2>&1 || dry_rc=$?
}
has() { grep -qF -- "$1" "$tmp/dry.out"; }
# Every line that starts a process carries the sizes and no token.
no_token() {
  ! grep -qE -- '--token|GRADWIRE_TOKEN=[0-9a-f]{8}' "$tmp/dry.out" && [[ ! -e $tmp/dry-out ]]
}

dry --hostfile "$tmp/hosts"
ok=$((dry_rc == 0))
has "server 0 on localhost: listens tcp://0.0.0.0:$port, reached at tcp://localhost:$port" || ok=0
has "--rank=0 --listen=tcp://0.0.0.0:$port" || ok=0
expect_host=(127.0.0.1 localhost 127.0.0.1 localhost)
for w in 0 1 2 3; do
  has "worker $w on ${expect_host[w]}" || ok=0
  grep -A1 "^worker $w on " "$tmp/dry.out" | grep -qF -- "worker --rank=$w --servers=tcp://localhost:$port " || ok=0
done
[[ $(grep -c -- "--num-workers=4 --num-servers=1 --iterations 100 --workload softmax --seed 1" "$tmp/dry.out") == 5 ]] || ok=0
has "read -r GRADWIRE_TOKEN" || ok=0
no_token || ok=0
if ((ok)); then pass "(a) hostfile dry run: server 0 on localhost:$port, workers 0-3 alternating 127.0.0.1/localhost, token on stdin only, nothing started"
else fail "(a) hostfile dry run:"; sed 's/^/    /' "$tmp/dry.out"; fi

dry --slurm --hostfile "$tmp/hosts"
ok=$((dry_rc == 0))
has "server 0 on localhost: SLURM_PROCID=0 SLURM_NTASKS=1 DMLC_PS_ROOT_URI=0.0.0.0 DMLC_PS_ROOT_PORT=$port" || ok=0
grep "^step 1" "$tmp/dry.out" | grep -qF -- "--ntasks=1 " || ok=0
grep "^step 1" "$tmp/dry.out" | grep -qF -- "gradwire server --out=" || ok=0
grep "^step 2" "$tmp/dry.out" | grep -qF -- "--ntasks=4 " || ok=0
grep "^step 2" "$tmp/dry.out" | grep -qF -- "gradwire worker --servers=tcp://localhost:$port " || ok=0
expect_host=(localhost 127.0.0.1 localhost 127.0.0.1)
for w in 0 1 2 3; do has "worker $w on ${expect_host[w]}: SLURM_PROCID=$w SLURM_NTASKS=4" || ok=0; done
grep -E "^step" "$tmp/dry.out" | grep -qE -- '--rank' && ok=0 # ranks come from SLURM_PROCID
no_token || ok=0
if ((ok)); then pass "(a) slurm dry run: server step 1 task (SLURM_PROCID 0), worker step 4 tasks (SLURM_PROCID 0-3) cyclic, --servers=tcp://localhost:$port"
else fail "(a) slurm dry run:"; sed 's/^/    /' "$tmp/dry.out"; fi

dry --mpirun --hostfile "$tmp/hosts"
ok=$((dry_rc == 0))
has "server 0 on localhost: OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=1 DMLC_PS_ROOT_URI=0.0.0.0 DMLC_PS_ROOT_PORT=$port" || ok=0
grep "^mpirun 1" "$tmp/dry.out" | grep -qF -- "-np 1 --host localhost:1 --map-by node -x GRADWIRE_TOKEN " || ok=0
grep "^mpirun 2" "$tmp/dry.out" | grep -qF -- "-np 4 --host 127.0.0.1:1,localhost:1 --map-by node -x GRADWIRE_TOKEN " || ok=0
grep "^mpirun 2" "$tmp/dry.out" | grep -qF -- "gradwire worker --servers=tcp://localhost:$port " || ok=0
expect_host=(127.0.0.1 localhost 127.0.0.1 localhost)
for w in 0 1 2 3; do has "worker $w on ${expect_host[w]}: OMPI_COMM_WORLD_RANK=$w OMPI_COMM_WORLD_SIZE=4" || ok=0; done
no_token || ok=0
if ((ok)); then pass "(a) mpirun dry run: servers' mpirun -np 1 on localhost, workers' mpirun -np 4 over 127.0.0.1,localhost (OMPI_COMM_WORLD_RANK 0-3), -x GRADWIRE_TOKEN by name"
else fail "(a) mpirun dry run:"; sed 's/^/    /' "$tmp/dry.out"; fi

# --worker-cmd: every mode starts the workers through sh with the command, flags appended.
ok=1
for mode in "--hostfile $tmp/hosts" "--slurm --hostfile $tmp/hosts" "--mpirun --hostfile $tmp/hosts"; do
  # shellcheck disable=SC2086  # the mode's words
  dry $mode --worker-cmd "/usr/bin/python3 train.py"
  ((dry_rc == 0)) || ok=0
  # The inner shell's "$@", as printed (quoted once more inside ssh's remote command).
  # shellcheck disable=SC2016
  has '/usr/bin/python3 train.py "$@"' || ok=0
  grep -qE '(^|\s)sh -c ' "$tmp/dry.out" || ok=0
  has "gradwire worker" && ok=0
  no_token || ok=0
done
if ((ok)); then pass "(a) --worker-cmd dry runs: every mode runs sh -c 'CMD \"\$@\"' with the worker's flags"
else fail "(a) --worker-cmd dry runs:"; sed 's/^/    /' "$tmp/dry.out"; fi

rc=0
env -u SLURM_JOB_ID -u SLURM_JOB_NODELIST "$launch" --slurm --out "$tmp/x" -- "${job[@]}" >"$tmp/err.out" 2>&1 || rc=$?
if ((rc == 1)) && grep -q "must run inside a Slurm allocation" "$tmp/err.out" && [[ ! -e $tmp/x ]]; then
  pass "(a) --slurm outside an allocation: exit 1, '$(head -1 "$tmp/err.out" | cut -c1-80)'"
else fail "(a) --slurm outside an allocation (exit $rc):"; sed 's/^/    /' "$tmp/err.out"; fi
rc=0
"$launch" --hostfile "$tmp/hosts" -- "${job[@]}" --token abc >"$tmp/err.out" 2>&1 || rc=$?
if ((rc == 2)) && grep -q "GRADWIRE_TOKEN" "$tmp/err.out"; then
  pass "(a) --token among the job flags refused: exit 2"
else fail "(a) --token among the job flags (exit $rc):"; sed 's/^/    /' "$tmp/err.out"; fi

# ---- (b) hostfile over ssh ---------------------------------------------------------------
start_sshd() { # sets sshd_pid and ssh_args, or returns 1 with a reason in $why
  why=""
  if [[ ! -x /usr/sbin/sshd ]] && (($(id -u) == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      openssh-server openssh-client >"$tmp/apt.log" 2>&1 || true
  fi
  [[ -x /usr/sbin/sshd ]] || { why="sshd not installed (apt-get install openssh-server, as root)"; return 1; }
  command -v ssh >/dev/null || { why="ssh not installed"; return 1; }
  (($(id -u) == 0)) || { why="a private sshd needs root here"; return 1; }
  ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A >/dev/null 2>&1
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$tmp/key" >/dev/null
  cp "$tmp/key.pub" "$tmp/authorized_keys"
  local p
  p=$(free_port)
  /usr/sbin/sshd -p "$p" -o ListenAddress=127.0.0.1 -o PidFile="$tmp/sshd.pid" \
    -o AuthorizedKeysFile="$tmp/authorized_keys" -o StrictModes=no \
    -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -E "$tmp/sshd.log" ||
    { why="sshd did not start: $(tail -1 "$tmp/sshd.log" 2>/dev/null)"; return 1; }
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $tmp/sshd.pid ]] && break; sleep 0.1; done
  sshd_pid=$(cat "$tmp/sshd.pid" 2>/dev/null)
  ssh_args=(--ssh-opt "Port=$p" --ssh-opt "IdentityFile=$tmp/key"
    --ssh-opt StrictHostKeyChecking=accept-new --ssh-opt "UserKnownHostsFile=$tmp/known_hosts")
  ssh -o BatchMode=yes -o Port="$p" -o IdentityFile="$tmp/key" -o StrictHostKeyChecking=accept-new \
    -o UserKnownHostsFile="$tmp/known_hosts" -o LogLevel=ERROR 127.0.0.1 true </dev/null 2>"$tmp/ssh.err" ||
    { why="ssh to the private sshd fails: $(cat "$tmp/ssh.err")"; return 1; }
}

if start_sshd; then
  rc=0
  timeout 120 "$launch" --hostfile "$tmp/hosts" --out "$tmp/ssh-run" --port "$(free_port)" \
    "${ssh_args[@]}" -- "${job[@]}" >"$tmp/ssh-run.log" 2>&1 || rc=$?
  compare_run "(b) hostfile over ssh (localhost, 127.0.0.1)" "$tmp/ssh-run" "$tmp/ssh-run.log" "$rc"
  if ls /tmp/gradwire-launch-2* >/dev/null 2>&1; then
    fail "(b) the remote run directories were not removed: $(ls -d /tmp/gradwire-launch-2*)"
  fi
  rc=0
  "$launch" --hostfile "$tmp/hosts" --out "$tmp/x" --remote-binary "$tmp/no-such-gradwire" \
    "${ssh_args[@]}" -- "${job[@]}" >"$tmp/err.out" 2>&1 || rc=$?
  if ((rc == 1)) && grep -q "missing on host localhost" "$tmp/err.out"; then
    pass "(b) binary missing on a host: exit 1, '$(grep -m1 missing "$tmp/err.out" | cut -c1-90)'"
  else fail "(b) binary missing on a host (exit $rc):"; sed 's/^/    /' "$tmp/err.out"; fi
  rc=0
  # A name that resolves nowhere (.invalid is reserved): ssh fails at once, no traffic.
  printf 'localhost\nno-such-host.invalid\n' >"$tmp/hosts-bad"
  "$launch" --hostfile "$tmp/hosts-bad" --out "$tmp/x" "${ssh_args[@]}" \
    -- "${job[@]}" >"$tmp/err.out" 2>&1 || rc=$?
  if ((rc == 1)) && grep -q "host no-such-host.invalid is unreachable over ssh" "$tmp/err.out" && [[ ! -e $tmp/x/worker-0.csv ]]; then
    pass "(b) host unreachable: exit 1, '$(grep -m1 unreachable "$tmp/err.out" | cut -c1-90)'"
  else fail "(b) host unreachable (exit $rc):"; sed 's/^/    /' "$tmp/err.out"; fi
  kill "$sshd_pid" 2>/dev/null
  sshd_pid=""
else
  skip "(b) hostfile over ssh: $why"
fi

# ---- (c) Slurm -----------------------------------------------------------------------------
if [[ -n ${SLURM_JOB_ID:-} ]]; then
  skip "(c) slurm: this script runs inside a Slurm job already; run it outside one"
elif (($(id -u) != 0)); then
  skip "(c) slurm: the local Slurm needs root"
else
  if "$here/local-slurm.sh" status 2>/dev/null | grep -q "slurmctld: running"; then
    echo "test: using the running local Slurm"
  else
    slurm_started=1
  fi
  if "$here/local-slurm.sh" up >"$tmp/slurm-up.log" 2>&1; then
    rc=0
    timeout 120 salloc --overcommit -n 5 -t 5 "$launch" --slurm --out "$tmp/slurm-run" \
      --port "$(free_port)" -- "${job[@]}" >"$tmp/slurm-run.log" 2>&1 || rc=$?
    compare_run "(c) slurm (salloc --overcommit -n 5, srun steps)" "$tmp/slurm-run" "$tmp/slurm-run.log" "$rc"
  else
    fail "(c) slurm: local-slurm.sh up failed:"
    sed 's/^/    /' "$tmp/slurm-up.log"
  fi
  if ((slurm_started)); then
    "$here/local-slurm.sh" down >/dev/null 2>&1
    slurm_started=0
  fi
fi

# ---- (d) mpirun ----------------------------------------------------------------------------
if command -v mpirun >/dev/null && mpirun --version 2>/dev/null | grep -q "Open MPI"; then
  rc=0
  timeout 120 env -u SLURM_JOB_ID "$launch" --mpirun --out "$tmp/mpi-run" --port "$(free_port)" \
    -- "${job[@]}" >"$tmp/mpi-run.log" 2>&1 || rc=$?
  compare_run "(d) mpirun on this machine" "$tmp/mpi-run" "$tmp/mpi-run.log" "$rc"
  # The same job with the workers started through --worker-cmd (the flags must reach them whole).
  rc=0
  timeout 120 env -u SLURM_JOB_ID "$launch" --mpirun --out "$tmp/mpi-cmd-run" --port "$(free_port)" \
    --worker-cmd "$(printf '%q' "$bin") worker" -- "${job[@]}" >"$tmp/mpi-cmd-run.log" 2>&1 || rc=$?
  compare_run "(d) mpirun with --worker-cmd" "$tmp/mpi-cmd-run" "$tmp/mpi-cmd-run.log" "$rc"
else
  skip "(d) mpirun: Open MPI's mpirun is not installed (apt-get install openmpi-bin)"
fi

echo "launch-test: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
