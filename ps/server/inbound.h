// What the transport completed and the server core has not handled yet, with each worker's
// share bounded. While the core waits (a held step waits for a stalled reader's parameter
// writes, for up to --timeout), what workers send queues here; one that keeps sending
// (control messages, writes) would grow the server without bound, so the queue names it once
// it holds more than kMaxBytesPerWorker and the core drops it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "net/completion.h"
#include "net/device.h"
#include "ps/imm.h"
#include "ps/roles.h"

namespace gw {

class Inbound {
 public:
  // What one queued completion costs: the record and what it owns.
  static size_t Cost(const Completion& c) {
    return sizeof(Completion) + c.payload.capacity() + c.error.capacity();
  }
  // An honest worker has at most one push's landings and a window request per part queued,
  // and a join (at most one control message): room for both, twice.
  static constexpr size_t kMaxBytesPerWorker = 4 << 20;
  static_assert(kMaxBytesPerWorker >= 2 * (2 * Imm::kMaxParts * (sizeof(Completion) + 64) +
                                           Connection::kMaxControlBytes));

  explicit Inbound(uint32_t num_workers) : bytes_(num_workers, 0), over_(num_workers, 0) {}

  void Push(Completion c);
  bool empty() const { return queue_.empty(); }
  Completion Pop();  // the oldest; only when !empty()
  // Workers over their bound since the last call, each named once until Drop(w).
  std::vector<uint32_t> TakeOverBound();
  // Frees what worker w queued, but the notice that its connection closed (it is dropped).
  void Drop(uint32_t w);
  size_t bytes(uint32_t w) const { return bytes_.at(w); }

 private:
  // The worker a completion is charged to, or none (not a worker's, or a rank it lacks:
  // admission refuses those, nothing here relies on it).
  bool Charged(const Completion& c) const {
    return c.peer.role == Role::kWorker && c.peer.rank < bytes_.size() &&
           c.kind != CompletionKind::kPeerClosed;
  }

  std::deque<Completion> queue_;
  std::vector<size_t> bytes_;  // per worker: queued now
  std::vector<uint8_t> over_;  // per worker: named over its bound (until dropped)
  std::vector<uint32_t> newly_over_;
};

}  // namespace gw
