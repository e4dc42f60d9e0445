// RDMA backend, shared pieces of the control path: choosing the device, the locked-memory
// budget, and registered regions (one protection domain per writing peer).
#pragma once

#include <infiniband/verbs.h>

#include <map>
#include <mutex>
#include <string>

#include "net/region.h"

namespace gw::rdma {

// Names of the RDMA devices present, e.g. "rxe0 mlx5_0" ("none" when there are none).
std::string DeviceNames();

// Locked memory registered so far against RLIMIT_MEMLOCK. Charge() throws gw::Error, saying
// what to run, before a registration would fail with ibv_reg_mr's bare ENOMEM.
class MemlockBudget {
 public:
  void Charge(size_t bytes, const std::string& what);

 private:
  std::mutex mu_;
  size_t used_ = 0;
};

// Memory one peer may write into: its MR lives in the writer's protection domain, so only
// QPs of that peer can use its rkey (any other QP gets a remote access error). The same
// memory used as the source of our writes is registered on demand, local access only, in the
// protection domain of each QP it is sent on.
class RdmaRegion : public Region {
 public:
  // memory == nullptr: allocate (page-aligned, zeroed, owned). writer_pd == nullptr: local
  // only (sources of writes). writer_name: the writer as messages call it ("worker 3").
  RdmaRegion(uint32_t id, std::byte* memory, size_t size, PeerId writer,
             const std::string& writer_name, ibv_pd* writer_pd, MemlockBudget& budget);
  ~RdmaRegion() override;
  RdmaRegion(const RdmaRegion&) = delete;
  RdmaRegion& operator=(const RdmaRegion&) = delete;

  uint32_t id() const override { return id_; }
  std::span<std::byte> bytes() override { return {data_, size_}; }
  PeerId writer() const override { return writer_; }
  RemoteRegion Describe() const override;

  bool Contains(const void* p, size_t n) const;
  // The lkey of this memory in pd, registering it there on first use. Thread-safe.
  uint32_t LkeyIn(ibv_pd* pd);

 private:
  uint32_t id_;
  std::byte* data_;
  size_t size_;
  bool owned_;
  PeerId writer_;
  ibv_mr* remote_mr_ = nullptr;  // in the writer's PD, remote write allowed
  MemlockBudget& budget_;
  std::mutex mu_;
  std::map<ibv_pd*, ibv_mr*> local_mrs_;
};

}  // namespace gw::rdma
