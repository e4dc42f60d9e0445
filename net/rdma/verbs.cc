#include "net/rdma/verbs.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "base/huge_pages.h"
#include "net/rdma/wire.h"

namespace gw::rdma {

namespace {
constexpr size_t kPage = 4096;

std::string Mib(size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }
}  // namespace

std::string DeviceNames() {
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  std::string names;
  for (int i = 0; list != nullptr && i < n; ++i) {
    names += (names.empty() ? "" : " ") + std::string(ibv_get_device_name(list[i]));
  }
  if (list != nullptr) ibv_free_device_list(list);
  return names.empty() ? "none" : names;
}

void MemlockBudget::Charge(size_t bytes, const std::string& what) {
  rlimit lim{};
  getrlimit(RLIMIT_MEMLOCK, &lim);
  std::lock_guard<std::mutex> lock(mu_);
  // Root normally holds CAP_IPC_LOCK, which lifts the limit for pinned memory.
  if (lim.rlim_cur != RLIM_INFINITY && geteuid() != 0 && used_ + bytes > lim.rlim_cur) {
    throw Error("registering " + what + " (" + Mib(bytes) + ", " + Mib(used_ + bytes) +
                " in all) exceeds the locked-memory limit of " + Mib(lim.rlim_cur) +
                " (ulimit -l " + std::to_string(lim.rlim_cur / 1024) +
                "); raise it: ulimit -l unlimited (or LimitMEMLOCK=infinity for a service, "
                "memlock in /etc/security/limits.conf)");
  }
  used_ += bytes;
}

RdmaRegion::RdmaRegion(uint32_t id, std::byte* memory, size_t size, PeerId writer,
                       const std::string& writer_name, ibv_pd* writer_pd, MemlockBudget& budget)
    : id_(id),
      data_(memory),
      size_(size),
      owned_(memory == nullptr),
      writer_(writer),
      budget_(budget) {
  if (owned_) {
    const size_t align = size >= kHugePage ? kHugePage : kPage;
    const size_t rounded = std::max(align, (size + align - 1) / align * align);
    data_ = static_cast<std::byte*>(std::aligned_alloc(align, rounded));
    if (data_ == nullptr)
      throw Error("cannot allocate a region of " + std::to_string(size) + " bytes");
    AdviseHugePages(data_, rounded);  // large regions are aligned to huge pages
    std::memset(data_, 0, rounded);
  }
  if (writer_pd != nullptr) {
    budget_.Charge(size_, "region " + std::to_string(id) + " for " + writer_name);
    remote_mr_ = ibv_reg_mr(writer_pd, data_, std::max<size_t>(size_, 1),
                            IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
    if (remote_mr_ == nullptr) {
      const int err = errno;
      if (owned_) std::free(data_);
      throw Error("ibv_reg_mr of " + Mib(size_) + " for " + writer_name +
                  " failed: " + std::strerror(err) +
                  (err == ENOMEM ? " (locked-memory limit? try: ulimit -l unlimited)" : ""));
    }
  }
}

RdmaRegion::~RdmaRegion() {
  if (remote_mr_ != nullptr) ibv_dereg_mr(remote_mr_);
  for (auto& [pd, mr] : local_mrs_) ibv_dereg_mr(mr);
  if (owned_) std::free(data_);
}

RemoteRegion RdmaRegion::Describe() const {
  RemoteRegion r{.id = id_, .length = size_};
  r.SetHandle(EncodeRegionHandle({.addr = reinterpret_cast<uint64_t>(data_),
                                  .rkey = remote_mr_ != nullptr ? remote_mr_->rkey : 0}));
  return r;
}

bool RdmaRegion::Contains(const void* p, size_t n) const {
  const auto* b = static_cast<const std::byte*>(p);
  return b >= data_ && n <= size_ && b - data_ <= static_cast<ptrdiff_t>(size_ - n);
}

uint32_t RdmaRegion::LkeyIn(ibv_pd* pd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (remote_mr_ != nullptr && remote_mr_->pd == pd) return remote_mr_->lkey;
  if (auto it = local_mrs_.find(pd); it != local_mrs_.end()) return it->second->lkey;
  budget_.Charge(size_, "region " + std::to_string(id_) + " as a source");
  ibv_mr* mr = ibv_reg_mr(pd, data_, std::max<size_t>(size_, 1), IBV_ACCESS_LOCAL_WRITE);
  if (mr == nullptr) {
    throw Error("ibv_reg_mr of a source region (" + Mib(size_) +
                ") failed: " + std::strerror(errno));
  }
  local_mrs_[pd] = mr;
  return mr->lkey;
}

}  // namespace gw::rdma
