// Completions: what the transport tells the layer above. One queue per device, filled by the
// transport's I/O thread, drained by the application thread.
//
// The hand-off between the two threads is the receive side's latency (issue 21): a waiter that
// sleeps on the condition variable is woken by a futex call from the I/O thread and scheduled
// again, 5-15 us on a host and more in a VM, on every message a ping-pong waits for. So:
//   - Push notifies only when the application thread sleeps (a waiter counted under the lock),
//     sparing the I/O thread the futex call while the application thread is busy or spinning;
//   - Wait may spin first (DeviceOptions::completion_spin): it watches the queue's size, without
//     the lock, for up to that long before it sleeps. Opt-in: a spinning thread takes a core,
//     which emulations of many processes on one host cannot spare.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "net/peer.h"
#include "net/receive_budget.h"

namespace gw {

enum class CompletionKind : uint8_t {
  kWriteLanded,    // a peer's one-sided write landed in one of our regions
  kWriteDone,      // our own write finished (its source buffer may be reused)
  kControl,        // a small typed control message arrived
  kPeerConnected,  // a peer completed the handshake
  kPeerClosed,     // a peer's connection ended (status says why)
};

struct Completion {
  CompletionKind kind = CompletionKind::kWriteLanded;
  PeerId peer;
  bool ok = true;
  std::string error;  // set when !ok, or the reason for kPeerClosed
  uint32_t region = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t imm = 0;
  uint64_t wr_id = 0;            // kWriteDone: the caller's id for that write
  uint16_t control_type = 0;     // kControl
  std::vector<uint8_t> payload;  // kControl
  ReceiveCredit credit;          // kControl: the payload's charge on its connection's budget
  // kControl: when the message was queued for the application (CompletionQueue::Push, on the
  // process's clock), so a message taken late (the application was computing) keeps its
  // arrival time: a window grant counts its window from it.
  TimePoint received{};

  // Our write wr_id of `length` bytes to `peer` was sent: its source may be reused.
  static Completion WriteDone(PeerId peer, uint64_t wr_id, uint64_t length) {
    Completion c;
    c.kind = CompletionKind::kWriteDone;
    c.peer = peer;
    c.wr_id = wr_id;
    c.length = length;
    return c;
  }
  // Our write wr_id to `peer` failed before it could land (both backends report it so).
  static Completion FailedWrite(PeerId peer, uint64_t wr_id, std::string why) {
    Completion c;
    c.kind = CompletionKind::kWriteDone;
    c.peer = peer;
    c.ok = false;
    c.error = std::move(why);
    c.wr_id = wr_id;
    return c;
  }
};

class CompletionQueue {
 public:
  // spin: how long Wait watches for a completion before it sleeps (zero: it sleeps at once).
  explicit CompletionQueue(std::chrono::nanoseconds spin = std::chrono::nanoseconds::zero())
      : spin_(spin) {}

  void Push(Completion c);
  // Moves up to max completions into out (appending); waits up to timeout for the first one,
  // spinning for the first min(spin, timeout) of it. Returns the number moved (0 on timeout).
  size_t Wait(std::vector<Completion>& out, std::chrono::nanoseconds timeout, size_t max = 64);
  size_t Poll(std::vector<Completion>& out, size_t max = 64);

  std::chrono::nanoseconds spin() const { return spin_; }
  // Completions waiting to be taken (a snapshot: the I/O thread may push more at once).
  size_t size() const { return size_.load(std::memory_order_acquire); }
  // Times Push woke a sleeping waiter (instrumentation and tests).
  uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

 private:
  size_t TakeLocked(std::vector<Completion>& out, size_t max);

  const std::chrono::nanoseconds spin_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Completion> q_;
  std::atomic<size_t> size_{0};        // q_.size(), stored under mu_, read by spinning waiters
  std::atomic<uint32_t> sleepers_{0};  // waiters in cv_.wait: changed under mu_
  std::atomic<uint64_t> wakeups_{0};
};

}  // namespace gw
