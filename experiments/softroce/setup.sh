#!/usr/bin/env bash
# Native soft-RoCE on a machine whose kernel has rdma_rxe (e.g. a laptop with Debian's kernel):
# loads rdma_rxe and adds an rxe device on a netdev. Idempotent.
# Usage: sudo setup.sh IFACE   rxe on an existing interface (e.g. eth0, wlp2s0; not lo)
#        sudo setup.sh dummy   make a dummy netdev rxenet0 with 169.254.77.1/16 and put rxe on
#                              it: the same set-up as experiments/softroce-vm (tests then use
#                              GW_RDMA_TEST_ADDR=169.254.77.1), reaches nothing outside
# Env: GW_RDMA_DEVICE (name of the rxe device, default rxe0).
# Undo with teardown.sh; look with check.sh. Where the kernel has no rdma_rxe (the project's
# machines), this says so and exits 1: use experiments/softroce-vm/run-in-vm.sh there.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"

(($# == 1)) || { sed -n '4,12p' "${BASH_SOURCE[0]}" >&2; exit 2; }
iface=$1
need_root "$@"
need_tools ip rdma modprobe

have_rxe_module || die "$(no_rxe_msg)"
# rxe needs the crc32 shash, which is not a declared dependency
[[ -d /sys/module/crc32_generic ]] || modprobe crc32_generic 2>/dev/null || true
for m in rdma_rxe ib_uverbs rdma_ucm; do
  [[ -d /sys/module/$m ]] || modprobe "$m" || die "modprobe $m failed (see dmesg)"
done

if [[ $iface == dummy ]]; then
  iface=$GW_DUMMY
  if ! ip link show dev "$iface" >/dev/null 2>&1; then
    [[ -d /sys/module/dummy ]] || modprobe dummy numdummies=0 2>/dev/null || true
    ip link add "$iface" type dummy || die "ip link add $iface type dummy failed"
  fi
  ip -4 addr show dev "$iface" | grep -q "inet ${GW_DUMMY_ADDR%/*}/" ||
    ip addr add "$GW_DUMMY_ADDR" dev "$iface" || die "ip addr add $GW_DUMMY_ADDR dev $iface failed"
  ip link set "$iface" up
fi
[[ $iface == lo ]] &&
  die "rxe refuses the loopback interface: use a real one, or 'setup.sh dummy' (169.254.77.1)"
ip link show dev "$iface" >/dev/null 2>&1 || die "no network interface '$iface' (see: ip -br link)"

current=$(rxe_netdev "$GW_RXE")
if [[ -n $current && $current != "$iface" ]]; then
  die "$GW_RXE already exists on $current, not $iface: run teardown.sh first"
fi
if [[ -z $current ]]; then
  rdma link add "$GW_RXE" type rxe netdev "$iface" ||
    die "rdma link add $GW_RXE type rxe netdev $iface failed ('No such file or directory':" \
      "modprobe crc32_generic; see dmesg)"
  log "added $GW_RXE on $iface"
else
  log "$GW_RXE already on $iface"
fi

for _ in $(seq 50); do
  grep -q ACTIVE "/sys/class/infiniband/$GW_RXE/ports/1/state" 2>/dev/null && break
  sleep 0.1
done
grep -q ACTIVE "/sys/class/infiniband/$GW_RXE/ports/1/state" 2>/dev/null ||
  log "warning: $GW_RXE port is not ACTIVE (is $iface up? ip link set $iface up)"
rdma link show "$GW_RXE/1"
addr=$(ip -4 -o addr show dev "$iface" | awk '{ split($4, a, "/"); print a[1]; exit }')
[[ -n $addr ]] || log "warning: $iface has no IPv4 address: rdma_cm needs one"
cat <<MSG
For gradwire's RDMA tests (and ulimit -l unlimited in that shell, see check.sh):
  export GW_RDMA_DEVICE=$GW_RXE GW_RDMA_TEST_ADDR=${addr:-<an IPv4 address of $iface>}
MSG
