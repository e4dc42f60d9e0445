#!/usr/bin/env bash
# A one-machine Slurm to test experiments/launch/launch.sh --slurm against (root, Debian 12).
#   experiments/launch/local-slurm.sh up       install slurm-wlm + munge if missing, write
#                                              /etc/slurm/slurm.conf for this machine (1 node,
#                                              its real CPU count), start munged, slurmctld,
#                                              slurmd, wait until sinfo shows the node idle
#   experiments/launch/local-slurm.sh down     stop what `up` started, put back the slurm.conf
#                                              that was there before (or remove ours)
#   experiments/launch/local-slurm.sh status   what runs, and sinfo
# Idempotent: `up` twice is one `up`; `down` when nothing runs does nothing. No systemd needed:
# the daemons are started directly (this works in containers). The packages stay installed.
# Overcommit: the node has its real CPU count; jobs ask `salloc --overcommit` / `srun
# --overcommit --overlap` to fit 1 server + 4 workers on 2 CPUs (what launch.sh --slurm does).
set -euo pipefail

conf_dir=/etc/slurm
conf=$conf_dir/slurm.conf
backup=$conf_dir/slurm.conf.before-gradwire
marker="# written by gradwire experiments/launch/local-slurm.sh"
state=/run/gradwire-local-slurm # what `up` started, for `down`
ctld_state=/var/lib/slurm/slurmctld
slurmd_spool=/var/lib/slurm/slurmd
logs=/var/log/slurm

die() {
  echo "local-slurm: $*" >&2
  exit 1
}

need_root() { [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts daemons)"; }

# The pid in FILE if that process is alive.
live_pid() {
  local pid
  [[ -r $1 ]] || return 1
  pid=$(tr -dc 0-9 <"$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

install_packages() {
  local missing=() p
  for p in slurm-wlm slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "local-slurm: installing ${missing[*]}"
  apt-get update -qq
  # policy-rc.d may forbid starting services in a container; we start them ourselves.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/dev/null
}

write_conf() {
  local host cpus
  host=$(hostname -s)
  cpus=$(nproc)
  mkdir -p "$conf_dir"
  if [[ -e $conf ]] && ! grep -qxF "$marker" "$conf"; then
    [[ -e $backup ]] || cp -p "$conf" "$backup"
    echo "local-slurm: the existing $conf is kept as $backup (restored by down)"
  fi
  cat >"$conf.tmp" <<EOF
$marker
# One node: this machine with its real CPU count. No accounting, no cgroups.
ClusterName=gradwire
SlurmctldHost=$host
SlurmUser=slurm
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation=$ctld_state
SlurmdSpoolDir=$slurmd_spool
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
  mv "$conf.tmp" "$conf"
  chmod 644 "$conf"
}

start_munge() {
  if live_pid /run/munge/munged.pid >/dev/null; then return 0; fi
  install -d -o munge -g munge -m 0755 /run/munge
  [[ -s /etc/munge/munge.key ]] || die "/etc/munge/munge.key is missing (reinstall munge)"
  runuser -u munge -- /usr/sbin/munged || die "munged did not start; see /var/log/munge/munged.log"
  touch "$state/munge"
}

up() {
  need_root
  install_packages
  mkdir -p "$state"
  if [[ ! -e $state/clean-state ]] && [[ -z $(ls -A "$ctld_state" 2>/dev/null) ]]; then
    touch "$state/clean-state" # down empties the state dirs again
  fi
  write_conf
  install -d -o slurm -g slurm "$ctld_state" "$slurmd_spool" "$logs"
  start_munge
  munge -n </dev/null | unmunge >/dev/null || die "munge does not work (munge -n | unmunge)"
  if ! live_pid /run/slurmctld.pid >/dev/null; then
    /usr/sbin/slurmctld -c || die "slurmctld did not start; see $logs/slurmctld.log"
  fi
  if ! live_pid /run/slurmd.pid >/dev/null; then
    /usr/sbin/slurmd || die "slurmd did not start; see $logs/slurmd.log"
  fi
  local i st=""
  for ((i = 0; i < 150; i++)); do
    st=$(sinfo -h -N -o '%T' 2>/dev/null | head -1) || true
    [[ $st == idle ]] && break
    if [[ $st == down* || $st == drain* ]]; then
      scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    fi
    sleep 0.2
  done
  [[ $st == idle ]] || die "the node is not idle after 30 s (state: ${st:-none}); see $logs/"
  echo "local-slurm: up: node $(hostname -s), $(nproc) CPUs, partition main, idle"
}

# Stops the process in pidfile $1 (name $2), waiting up to 10 s.
stop_pid() {
  local pid i
  pid=$(live_pid "$1") || return 0
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "local-slurm: $2 ($pid) did not stop on SIGTERM; sending SIGKILL" >&2
  kill -9 "$pid" 2>/dev/null || true
}

down() {
  need_root
  stop_pid /run/slurmd.pid slurmd
  stop_pid /run/slurmctld.pid slurmctld
  if [[ -e $state/munge ]]; then
    stop_pid /run/munge/munged.pid munged
    rm -f "$state/munge"
  fi
  if [[ -e $conf ]] && grep -qxF "$marker" "$conf"; then
    if [[ -e $backup ]]; then
      mv "$backup" "$conf"
      echo "local-slurm: restored the previous $conf"
    else
      rm -f "$conf"
    fi
  fi
  if [[ -e $state/clean-state ]]; then
    find "$ctld_state" "$slurmd_spool" -mindepth 1 -delete 2>/dev/null || true
  fi
  rm -rf "$state"
  echo "local-slurm: down (nothing of it runs; logs stay in $logs/)"
}

status() {
  local d f
  for d in munged:/run/munge/munged.pid slurmctld:/run/slurmctld.pid slurmd:/run/slurmd.pid; do
    f=${d#*:}
    if pid=$(live_pid "$f"); then echo "${d%%:*}: running (pid $pid)"; else echo "${d%%:*}: stopped"; fi
  done
  if [[ -e $conf ]] && grep -qxF "$marker" "$conf"; then echo "slurm.conf: ours ($conf)"; fi
  if live_pid /run/slurmctld.pid >/dev/null; then sinfo -N; fi
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
