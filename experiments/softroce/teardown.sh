#!/usr/bin/env bash
# Undoes setup.sh: deletes the rxe device and, if setup.sh made it, the dummy netdev rxenet0.
# Leaves the kernel modules loaded. Idempotent.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
need_root "$@"
need_tools ip rdma

if ! have_rxe_module; then
  log "$(no_rxe_msg)"
  log "nothing to tear down"
  exit 0
fi
if [[ -n $(rxe_netdev "$GW_RXE") ]]; then
  rdma link delete "$GW_RXE" || die "rdma link delete $GW_RXE failed"
  log "deleted $GW_RXE"
else
  log "no $GW_RXE"
fi
if ip -d link show dev "$GW_DUMMY" 2>/dev/null | grep -qw dummy; then
  ip link delete "$GW_DUMMY"
  log "deleted $GW_DUMMY"
fi
