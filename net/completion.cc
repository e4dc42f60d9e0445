#include "net/completion.h"

#include <algorithm>

namespace gw {

void CompletionQueue::Push(Completion c) {
  if (c.kind == CompletionKind::kControl) c.received = GetClock().Now();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    q_.push_back(std::move(c));
    size_.store(q_.size(), std::memory_order_release);
    // A waiter counts itself under mu_ before it sleeps, so one that sleeps now is counted.
    wake = sleepers_.load(std::memory_order_relaxed) > 0;
  }
  if (wake) {
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    cv_.notify_one();
  }
}

size_t CompletionQueue::TakeLocked(std::vector<Completion>& out, size_t max) {
  size_t n = 0;
  while (n < max && !q_.empty()) {
    out.push_back(std::move(q_.front()));
    q_.pop_front();
    ++n;
  }
  size_.store(q_.size(), std::memory_order_release);
  return n;
}

size_t CompletionQueue::Poll(std::vector<Completion>& out, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  return TakeLocked(out, max);
}

void CompletionQueue::SetDriver(IoDriver* driver) {
  std::lock_guard<std::mutex> lock(mu_);
  driver_ = driver;
  // No driver: the device is shutting down, and its I/O thread must run to end.
  if (driver == nullptr) WakeParkedIoLocked();
}

void CompletionQueue::WakeParkedIo() {
  std::lock_guard<std::mutex> lock(mu_);
  WakeParkedIoLocked();
}

void CompletionQueue::WakeParkedIoLocked() {
  if (!io_parked_) return;
  io_wanted_ = true;
  if (!want_park_) io_cv_.notify_one();  // else the driving waiter wakes it when it lets go
}

void CompletionQueue::ParkIo() {
  std::unique_lock<std::mutex> lock(mu_);
  park_asked_ = false;
  // Parked already: this is the waiter's own I/O running a park it posted earlier.
  if (!want_park_ || io_parked_) return;
  io_parked_ = true;
  cv_.notify_all();  // the waiter that asked sleeps until the I/O is its own
  // A waiter that took a message often waits again at once (a ping-pong answers and waits for
  // the next one), so a let-go thread stays parked for kParkGrace: asking again would wake this
  // thread and make it wake the waiter, the two wake-ups the hand-off is there to save. Nobody
  // wakes it when a drive ends (see the top of completion.h): it looks by itself.
  using SteadyClock = std::chrono::steady_clock;
  SteadyClock::duration look = kParkGrace;
  while (true) {
    io_cv_.wait_for(lock, look);
    park_looks_.fetch_add(1, std::memory_order_relaxed);
    if (want_park_) {
      look = std::min<SteadyClock::duration>(2 * look, kParkLookMax);
      continue;
    }
    if (io_wanted_) break;
    const SteadyClock::duration idle = SteadyClock::now() - let_go_at_;
    if (idle >= kParkGrace) break;
    look = kParkGrace - idle;
  }
  io_wanted_ = false;
  io_parked_ = false;
}

void CompletionQueue::SpinOnSize(TimePoint spin_end) const {
  // The clock is read every kSpinChecks looks at the size: a look costs a few ns, a clock read
  // ~20 ns, so the queue is watched closely and the deadline kept to within ~1 us.
  static constexpr int kSpinChecks = 64;
  while (size_.load(std::memory_order_acquire) == 0) {
    bool seen = false;
    for (int i = 0; i < kSpinChecks && !seen; ++i) {
      seen = size_.load(std::memory_order_acquire) != 0;
    }
    if (!seen && GetClock().Now() >= spin_end) break;
  }
}

void CompletionQueue::DriveThreadlessLocked(std::unique_lock<std::mutex>& lock, TimePoint until) {
  IoDriver* const driver = driver_;
  drives_.fetch_add(1, std::memory_order_relaxed);
  while (q_.empty() && GetClock().Now() < until) {
    lock.unlock();
    const bool runs = driver->RunIoOnce(until);
    lock.lock();
    if (!runs) break;
  }
}

void CompletionQueue::DriveLocked(std::unique_lock<std::mutex>& lock, TimePoint until,
                                  TimePoint spin_end) {
  IoDriver* const driver = driver_;  // SetDriver(nullptr) during the drive must not pull it away
  want_park_ = true;                 // this waiter drives: any other one sleeps
  auto let_go = [&] {
    want_park_ = false;
    let_go_at_ = std::chrono::steady_clock::now();
    if (io_parked_ && io_wanted_) io_cv_.notify_one();  // work came for it during the drive
  };
  if (!io_parked_) {
    // Have the I/O thread park. Until it has, it may still queue a completion: either ends this
    // wait. (No spin here: a spinning waiter would take the core the I/O thread needs to park
    // or to run the I/O meanwhile, 2 cores being all an emulation of many processes has.)
    if (!park_asked_) {
      park_asked_ = true;
      driver->AskIoToPark();
    }
    sleepers_.fetch_add(1, std::memory_order_relaxed);
    cv_.wait_until(lock, until, [&] { return !q_.empty() || io_parked_; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!io_parked_ || !q_.empty()) return let_go();
  drives_.fetch_add(1, std::memory_order_relaxed);
  lock.unlock();
  try {
    while (size_.load(std::memory_order_acquire) == 0) {
      const TimePoint now = GetClock().Now();
      if (now >= until) break;
      // Within the spin the I/O is polled without blocking (no other thread runs it now).
      if (!driver->RunIoOnce(now < spin_end ? now : until)) break;
    }
  } catch (...) {
    lock.lock();
    let_go();
    throw;
  }
  lock.lock();
  let_go();
}

size_t CompletionQueue::Wait(std::vector<Completion>& out, std::chrono::nanoseconds timeout,
                             size_t max) {
  // A day bounds any wait: the deadline below must not overflow the clock.
  timeout = std::clamp<std::chrono::nanoseconds>(timeout, std::chrono::nanoseconds::zero(),
                                                 std::chrono::hours(24));
  const TimePoint start = GetClock().Now();
  const TimePoint until = start + timeout;
  const TimePoint spin_end = start + std::min(spin_, timeout);
  std::unique_lock<std::mutex> lock(mu_);
  if (q_.empty() && driver_ != nullptr && !driver_->has_io_thread()) {
    DriveThreadlessLocked(lock, until);  // nothing else would fill the queue: no sleeping
    return TakeLocked(out, max);
  }
  if (q_.empty() && driver_ != nullptr && !want_park_ && timeout > Duration::zero()) {
    DriveLocked(lock, until, spin_end);  // one waiter drives at a time
  } else if (q_.empty() && spin_end > start) {
    lock.unlock();  // no driver, or another waiter drives: watch the queue, then sleep
    SpinOnSize(spin_end);
    lock.lock();
  }
  if (q_.empty()) {
    sleepers_.fetch_add(1, std::memory_order_relaxed);
    cv_.wait_until(lock, until, [&] { return !q_.empty(); });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }
  return TakeLocked(out, max);
}

}  // namespace gw
