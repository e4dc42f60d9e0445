# shellcheck shell=bash
# Shared by setup.sh, check.sh and teardown.sh (sourced, not run).
# shellcheck disable=SC2034 # used by the scripts that source this
GW_RXE=${GW_RDMA_DEVICE:-rxe0}   # the rxe device's name
GW_DUMMY=rxenet0                  # the dummy netdev made by `setup.sh dummy`
GW_DUMMY_ADDR=169.254.77.1/16     # same address as in experiments/softroce-vm

log() { echo "softroce: $*" >&2; }
die() { echo "softroce: error: $*" >&2; exit 1; }
need_root() { [[ $(id -u) -eq 0 ]] || die "run as root (sudo $0 $*)"; }
need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null ||
      die "$t not found: apt-get install iproute2 rdma-core ibverbs-providers ibverbs-utils rdmacm-utils perftest"
  done
}
# The rxe module, or a clear word why there is none.
have_rxe_module() {
  [[ -d /sys/module/rdma_rxe ]] && return 0
  modinfo rdma_rxe >/dev/null 2>&1
}
no_rxe_msg() {
  echo "the running kernel ($(uname -r)) has no rdma_rxe module (CONFIG_RDMA_RXE;" \
    "$( [[ -d /sys/class/infiniband ]] && echo "RDMA core present" || echo "no RDMA core at all: CONFIG_INFINIBAND")):" \
    "soft-RoCE cannot run natively here. Use experiments/softroce-vm/run-in-vm.sh (a qemu VM with" \
    "Debian's kernel), or install a kernel that has it (Debian's linux-image-amd64 does)."
}
# netdev under rxe device $1 (empty when the device does not exist)
rxe_netdev() {
  rdma link show 2>/dev/null | awk -v d="$1/" 'index($2, d) == 1 { for (i = 1; i < NF; i++) if ($i == "netdev") print $(i + 1) }' | head -n1
}
