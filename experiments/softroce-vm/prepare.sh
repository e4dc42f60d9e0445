#!/usr/bin/env bash
# Prepares the soft-RoCE VM used by run-in-vm.sh. Idempotent: a second run does nothing.
#   1. apt-get installs the Debian packages it needs when missing (that step needs root);
#   2. downloads Debian's generic kernel package (linux-image-6.1.0-*-amd64, NOT -cloud,
#      which has neither rdma_rxe nor 9p) once, with `apt-get download`, into the cache;
#   3. builds a busybox-static initramfs with the kernel modules for virtio/9p/rxe/rdma_cm
#      and ./init as /init, once (again only when init, this script or the kernel change).
# Usage: prepare.sh [--no-install] [--update-kernel]
#   --no-install     never call apt-get install (only report what is missing)
#   --update-kernel  re-resolve linux-image-amd64 and fetch its current kernel
# Env: GW_VM_CACHE (cache dir; default ${XDG_CACHE_HOME:-$HOME/.cache}/gradwire-vm),
#      GW_VM_KERNEL_PKG (exact kernel package to use, e.g. linux-image-6.1.0-56-amd64).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
cache=${GW_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gradwire-vm}
install=1
update_kernel=0
for arg in "$@"; do
  case $arg in
    --no-install) install=0 ;;
    --update-kernel) update_kernel=1 ;;
    -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "prepare.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "softroce-vm: $*" >&2; }
die() { echo "softroce-vm: error: $*" >&2; exit 1; }

# --- 1. Debian packages ---------------------------------------------------------------------
packages=(qemu-system-x86 busybox-static cpio kmod iproute2 rdma-core ibverbs-providers
  ibverbs-utils libibverbs-dev librdmacm-dev rdmacm-utils perftest)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
if ((${#missing[@]})); then
  if ((!install)) || [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]}: run experiments/softroce-vm/prepare.sh as root" \
      "(or: apt-get install ${missing[*]})"
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
fi
for tool in qemu-system-x86_64 dpkg dpkg-deb depmod cpio gzip flock; do
  command -v "$tool" >/dev/null || die "$tool not found: run experiments/softroce-vm/prepare.sh as root"
done
busybox=$(command -v busybox || true)
[[ -x /bin/busybox ]] && busybox=/bin/busybox
[[ -n $busybox ]] || die "busybox not found: run experiments/softroce-vm/prepare.sh as root"
if command -v file >/dev/null && file -L "$busybox" | grep -q 'dynamically linked'; then
  die "$busybox is dynamically linked: install busybox-static (prepare.sh as root)"
fi

# --- 2. kernel -------------------------------------------------------------------------------
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one prepare at a time (concurrent run-in-vm.sh calls)

resolve_kernel_pkg() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | grep -v cloud | head -n1 || true)
  if [[ -z $pkg && $(id -u) -eq 0 && $install -eq 1 ]]; then
    log "apt-get update (to resolve linux-image-amd64)"
    apt-get update -qq >&2 || true
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | grep -v cloud | head -n1 || true)
  fi
  [[ -n $pkg ]] || die "cannot resolve the Debian kernel package (apt-cache depends linux-image-amd64" \
    "found none): run 'apt-get update' as root, or set GW_VM_KERNEL_PKG=linux-image-6.1.0-NN-amd64"
  echo "$pkg"
}

kpkg=${GW_VM_KERNEL_PKG:-}
if [[ -z $kpkg && $update_kernel -eq 0 && -s $cache/current ]]; then
  kpkg=$(<"$cache/current")
fi
[[ -n $kpkg ]] || kpkg=$(resolve_kernel_pkg)
[[ $kpkg == linux-image-*-amd64 && $kpkg != *cloud* ]] ||
  die "kernel package '$kpkg' is not a generic linux-image-*-amd64 (the -cloud flavour has no rdma_rxe/9p)"
kver=${kpkg#linux-image-}
kdir=$cache/$kver

if [[ ! -s $kdir/vmlinuz || ! -s $kdir/kernel.deb ]]; then
  log "downloading $kpkg (~70 MB, once) into $kdir"
  tmp=$(mktemp -d "$cache/.dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # (as root apt-get warns that the download runs unsandboxed: harmless, hidden in the log)
  if ! (cd "$tmp" && apt-get download -q "$kpkg") >"$tmp/download.log" 2>&1; then
    cat "$tmp/download.log" >&2
    die "kernel download failed: 'apt-get download $kpkg' (is the Debian mirror reachable?" \
      "run 'apt-get update' as root; or set GW_VM_KERNEL_PKG to an available linux-image-*-amd64)"
  fi
  deb=$(find "$tmp" -maxdepth 1 -name "${kpkg}_*.deb" | head -n1)
  [[ -n $deb && -s $deb ]] || die "kernel download failed: 'apt-get download $kpkg' produced no .deb" \
    "(is the Debian mirror reachable? run 'apt-get update' as root; or set GW_VM_KERNEL_PKG)"
  dpkg-deb --fsys-tarfile "$deb" | tar -xf - -C "$tmp" "./boot/vmlinuz-$kver" ||
    die "$deb has no boot/vmlinuz-$kver"
  mkdir -p "$kdir"
  mv "$tmp/boot/vmlinuz-$kver" "$kdir/vmlinuz"
  mv "$deb" "$kdir/kernel.deb"
  rm -rf "$tmp"
  trap - EXIT
fi
echo "$kpkg" >"$cache/current.tmp" && mv "$cache/current.tmp" "$cache/current"

# --- 3. initramfs ----------------------------------------------------------------------------
# Loaded in this order (each after its modules.dep dependencies). crc32_generic is needed by
# rdma_rxe but is not a declared dependency (without it: `rdma link add` -> ENOENT).
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  9pnet 9pnet_virtio netfs fscache 9p virtio_console virtio_rng dummy veth
  udp_tunnel ip6_udp_tunnel crc32_generic crc32_pclmul
  ib_core ib_uverbs rdma_rxe configfs ib_cm iw_cm rdma_cm rdma_ucm)
optional=" virtio_rng crc32_pclmul veth "
declare -A params=([dummy]="numdummies=0")

stamp=$( (cat "$here/init" "${BASH_SOURCE[0]}"; echo "$kver"; sha256sum "$busybox") | sha256sum | cut -c1-16)
if [[ -s $kdir/initrd.gz && -f $kdir/initrd.stamp && $(<"$kdir/initrd.stamp") == "$stamp" ]]; then
  exit 0 # ready
fi

log "building the initramfs for $kver"
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$kdir/kernel.deb" | tar -xf - -C "$tmp" "./lib/modules/$kver" ||
  die "cannot unpack lib/modules/$kver from $kdir/kernel.deb (delete $kdir and retry)"
depmod -b "$tmp" "$kver" || die "depmod -b failed"
moddir=$tmp/lib/modules/$kver

declare -A path_of=() deps_of=() loaded=()
while IFS= read -r line; do
  file=${line%%:*}
  base=${file##*/}
  name=${base%%.ko*}
  name=${name//-/_}
  path_of[$name]=$file
  deps_of[$name]=${line#*:}
done <"$moddir/modules.dep"
builtin=" "
while IFS= read -r file; do
  base=${file##*/}
  name=${base%%.ko*}
  builtin+="${name//-/_} "
done <"$moddir/modules.builtin"

root=$tmp/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,newroot,gwrun,lib/modules}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh" # /init's interpreter; init installs the other applets
cp "$here/init" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
: >"$root/lib/modules/load.list"

add_module() { # $1: module name; loads its dependencies first
  local name=$1 dep dname file out
  [[ -n ${loaded[$name]:-} ]] && return 0
  loaded[$name]=1
  if [[ -z ${path_of[$name]:-} ]]; then
    [[ $builtin == *" $name "* ]] && return 0
    [[ $optional == *" $name "* ]] && { log "note: optional module $name not in $kver"; return 0; }
    die "module $name is neither a module nor built into $kver"
  fi
  for dep in ${deps_of[$name]}; do
    dname=${dep##*/}
    dname=${dname%%.ko*}
    add_module "${dname//-/_}"
  done
  file=$moddir/${path_of[$name]}
  out=$root/lib/modules/$name.ko
  case $file in
    *.ko) cp "$file" "$out" ;;
    *.ko.xz) xz -dc "$file" >"$out" ;;
    *.ko.zst) zstd -qdc "$file" >"$out" ;;
    *.ko.gz) gzip -dc "$file" >"$out" ;;
    *) die "unknown module format: $file" ;;
  esac
  # optional ones (e.g. crc32_pclmul, which needs the CPU's PCLMULQDQ) may fail to load
  local mark=
  [[ $optional == *" $name "* ]] && mark="?"
  echo "$mark$name.ko ${params[$name]:-}" >>"$root/lib/modules/load.list"
}
for m in "${modules[@]}"; do add_module "$m"; done

(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet | gzip -6) >"$tmp/initrd.gz"
mv "$tmp/initrd.gz" "$kdir/initrd.gz"
echo "$stamp" >"$kdir/initrd.stamp"
log "ready: $kdir ($(wc -l <"$root/lib/modules/load.list") modules, initrd $(du -k "$kdir/initrd.gz" | cut -f1) KiB)"
