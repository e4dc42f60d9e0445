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

size_t CompletionQueue::Wait(std::vector<Completion>& out, std::chrono::nanoseconds timeout,
                             size_t max) {
  using Clock = std::chrono::steady_clock;
  std::chrono::nanoseconds left = timeout;  // to sleep, after the spin
  if (spin_ > std::chrono::nanoseconds::zero()) {
    const Clock::time_point start = Clock::now();
    const Clock::time_point spin_end = start + std::min(spin_, timeout);
    // The clock is read every kSpinChecks looks at the size: a look costs a few ns, a clock
    // read ~20 ns, so the queue is watched closely and the deadline kept to within ~1 us.
    static constexpr int kSpinChecks = 64;
    while (size_.load(std::memory_order_acquire) == 0) {
      bool seen = false;
      for (int i = 0; i < kSpinChecks && !seen; ++i) {
        seen = size_.load(std::memory_order_acquire) != 0;
      }
      if (!seen && Clock::now() >= spin_end) break;
    }
    left = std::max(timeout - (Clock::now() - start), std::chrono::nanoseconds::zero());
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (q_.empty()) {
    sleepers_.fetch_add(1, std::memory_order_relaxed);
    cv_.wait_for(lock, left, [&] { return !q_.empty(); });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }
  return TakeLocked(out, max);
}

}  // namespace gw
