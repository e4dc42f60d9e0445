#!/usr/bin/env bash
# Shows whether native soft-RoCE is usable here: rdma_rxe, rdma link, ibv_devices, the
# /dev/infiniband nodes and the memlock limit. Exit 0 when an rxe device is ACTIVE and
# usable, 1 otherwise. Needs no root.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
need_tools rdma ibv_devices

ok=1
if ! have_rxe_module; then
  log "$(no_rxe_msg)"
  exit 1
fi
[[ -d /sys/module/rdma_rxe ]] || { log "rdma_rxe is not loaded: run setup.sh"; ok=0; }
echo "== rdma link"
rdma link show || true
echo "== ibv_devices"
ibv_devices || true
state=$(cat "/sys/class/infiniband/$GW_RXE/ports/1/state" 2>/dev/null || echo "missing")
echo "== $GW_RXE port 1: $state (netdev: $(rxe_netdev "$GW_RXE"))"
[[ $state == *ACTIVE* ]] || { log "$GW_RXE is not ACTIVE: run setup.sh IFACE (or setup.sh dummy)"; ok=0; }
echo "== /dev/infiniband"
ls -l /dev/infiniband 2>/dev/null || { log "no /dev/infiniband: modprobe ib_uverbs rdma_ucm (setup.sh)"; ok=0; }
for n in uverbs0 rdma_cm; do
  [[ -r /dev/infiniband/$n && -w /dev/infiniband/$n ]] ||
    { log "/dev/infiniband/$n is not read-writable by $(id -un)"; ok=0; }
done
lim=$(ulimit -l)
echo "== ulimit -l: $lim"
if [[ $lim != unlimited ]] && ((lim < 1048576)); then
  log "warning: locked-memory limit is $lim KiB: registering buffers may fail. As root:" \
    "'ulimit -l unlimited' in the test shell, or a line '$(id -un) - memlock unlimited' in" \
    "/etc/security/limits.d/rdma.conf (then log in again)"
fi
((ok)) && echo "softroce: ready: GW_RDMA_DEVICE=$GW_RXE" && exit 0
exit 1
