// Completions: what the transport tells the layer above. One queue per device, filled by the
// transport's I/O thread, drained by the application thread.
//
// The hand-off between the two threads is the receive side's latency (issue 21): a waiter that
// sleeps on the condition variable is woken by a futex call from the I/O thread and scheduled
// again, 5-15 us on a host and more in a VM, on every message a ping-pong waits for: a second
// wake-up per message that a plain blocking recv() does not pay. So:
//   - a waiter runs the device's I/O itself (IoDriver, when the device offers it): it asks the
//     I/O thread to park, and once it has, waits in the device's own poll (epoll, the
//     completion channel) and handles what arrives on its own thread, until a completion is
//     queued or its time is up; then it lets the I/O thread go. One thread runs the I/O at any
//     time (the parked one is blocked under mu_), so the backends' I/O code stays
//     single-threaded. The park costs two wake-ups of the I/O thread, but both fall while the
//     waiter waits anyway, not between a message's arrival and its taker;
//   - Push notifies only when the application thread sleeps (a waiter counted under the lock),
//     sparing the I/O thread the futex call while the application thread is busy or spinning;
//   - a parked I/O thread that is let go stays parked for kParkGrace, in case the waiter is
//     back at once (a ping-pong answers and waits again), so it need not ask again;
//   - letting the I/O thread go does not wake it: that wake fell between every message and its
//     answer, and on a host of 2 cores the woken thread took the core the answer needed (half a
//     16 B control round trip on loopback: 21-32 us with it, 14 us without, sockperf's 9-12 us;
//     tcp_latency_bench). The
//     parked thread looks back by itself instead, kParkGrace after it parked and then ever less
//     often while a waiter still drives (up to kParkLookMax), so it is back within about
//     kParkLookMax of the last waiter leaving; work handed to it meanwhile (WakeParkedIo)
//     brings it back at once;
//   - Wait may spin first (DeviceOptions::completion_spin): for up to that long it polls the
//     device without blocking once the I/O is its own (without a driver: it watches the
//     queue's size without the lock) before it waits. Opt-in: a spinning thread takes
//     a core, which emulations of many processes on one host cannot spare.
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

// A device whose I/O an application thread waiting on its completion queue may run (see the
// top of this file). Implemented by the backends; called by CompletionQueue only.
class IoDriver {
 public:
  virtual ~IoDriver() = default;
  // Any thread, under the queue's lock, must not block: have the I/O thread call
  // CompletionQueue::ParkIo soon, where it holds none of the device's I/O state.
  virtual void AskIoToPark() = 0;
  // The waiting thread, while the I/O thread is parked: run the device's I/O once (wait for
  // it until `until` at most, then handle what came; an `until` already past: look without
  // waiting). False when it cannot run any more (the device is shutting down): the waiter
  // then sleeps instead.
  virtual bool RunIoOnce(TimePoint until) = 0;
  // False for a device with no I/O thread of its own (net/sim: the simulated network lands
  // what arrives and only a waiter's RunIoOnce waits for it): its waiters skip the park
  // hand-shake and each runs RunIoOnce until a completion is queued or its time is up.
  virtual bool has_io_thread() const { return true; }
};

class CompletionQueue {
 public:
  // spin: how long Wait watches for a completion before it waits (zero: it waits at once).
  explicit CompletionQueue(std::chrono::nanoseconds spin = std::chrono::nanoseconds::zero())
      : spin_(spin) {}

  void Push(Completion c);
  // Moves up to max completions into out (appending); waits up to timeout for the first one,
  // spinning for the first min(spin, timeout) of it. Returns the number moved (0 on timeout).
  size_t Wait(std::vector<Completion>& out, std::chrono::nanoseconds timeout, size_t max = 64);
  size_t Poll(std::vector<Completion>& out, size_t max = 64);

  // The device's constructor, before any Wait: lets waiters run its I/O (nullptr: they only
  // sleep, and the I/O thread hands every completion over).
  void SetDriver(IoDriver* driver);
  // The I/O thread, where AskIoToPark said: blocks while a waiter runs the I/O. Returns at
  // once when no waiter asks (any more), or when called from the waiter's own I/O.
  void ParkIo();
  // Any thread but under no lock of the device's I/O, after handing the I/O thread work that
  // should not wait for a parked thread to look back (a posted send, a connect, a shutdown):
  // a parked I/O thread leaves the park now, or once the waiter driving lets it go (that
  // waiter's own I/O runs the work meanwhile).
  void WakeParkedIo();

  std::chrono::nanoseconds spin() const { return spin_; }
  // Completions waiting to be taken (a snapshot: the I/O thread may push more at once).
  size_t size() const { return size_.load(std::memory_order_acquire); }
  // Times Push woke a sleeping waiter (instrumentation and tests).
  uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }
  // Times a waiter ran the device's I/O itself (instrumentation and tests).
  uint64_t drives() const { return drives_.load(std::memory_order_relaxed); }
  // Times a parked I/O thread woke to look whether it may go (instrumentation and tests).
  uint64_t park_looks() const { return park_looks_.load(std::memory_order_relaxed); }

 private:
  size_t TakeLocked(std::vector<Completion>& out, size_t max);
  // Under lock: parks the I/O thread and runs the I/O here until a completion is queued or
  // until passes; the I/O thread is let go before it returns (also when the I/O throws).
  // Until spin_end, the I/O is polled without blocking once it is this waiter's.
  void DriveLocked(std::unique_lock<std::mutex>& lock, TimePoint until, TimePoint spin_end);
  // Under lock, a driver without an I/O thread: runs its I/O until a completion is queued or
  // until passes (the lock is not held while it runs: a simulated wait lets other actors
  // run, and one of them pushing here must not find mu_ taken).
  void DriveThreadlessLocked(std::unique_lock<std::mutex>& lock, TimePoint until);
  // Under mu_: WakeParkedIo's work.
  void WakeParkedIoLocked();
  // Watches size_ without the lock until it is non-zero or spin_end passes.
  void SpinOnSize(TimePoint spin_end) const;

  // How long a parked I/O thread that was let go stays parked in case the waiter is back: a
  // loopback round trip, so a ping-pong keeps its I/O on the waiting threads, while an
  // application that went to compute gets its I/O thread back within this long.
  static constexpr std::chrono::microseconds kParkGrace{50};
  // The longest a parked I/O thread sleeps between looks while a waiter drives: each look is a
  // wake-up (a few us of a core) that finds the waiter still there, so the interval doubles
  // from kParkGrace up to this; it bounds how long I/O nobody asked for (data arriving while
  // the application computes) waits after the last waiter left, and costs 1000 wake-ups a
  // second per device whose application thread waits.
  static constexpr std::chrono::milliseconds kParkLookMax{1};

  const std::chrono::nanoseconds spin_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Completion> q_;
  std::atomic<size_t> size_{0};        // q_.size(), stored under mu_, read by spinning waiters
  std::atomic<uint32_t> sleepers_{0};  // waiters in cv_.wait: changed under mu_
  std::atomic<uint64_t> wakeups_{0};
  std::atomic<uint64_t> drives_{0};
  std::atomic<uint64_t> park_looks_{0};

  IoDriver* driver_ = nullptr;
  // The hand-off, under mu_: a waiter wants the I/O (want_park_), has asked the I/O thread to
  // park and that request is not yet taken (park_asked_), the I/O thread is parked in ParkIo
  // (io_parked_; it leaves only once want_park_ is false, so a waiter that sees it may run
  // the I/O until it clears want_park_).
  bool want_park_ = false;
  bool park_asked_ = false;
  bool io_parked_ = false;
  bool io_wanted_ = false;  // WakeParkedIo while parked: leave the park once nobody drives
  std::chrono::steady_clock::time_point let_go_at_{};  // when the last drive ended
  std::condition_variable io_cv_;                      // the parked I/O thread waits here
};

}  // namespace gw
