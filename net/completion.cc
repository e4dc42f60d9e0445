#include "net/completion.h"

namespace gw {

void CompletionQueue::Push(Completion c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    q_.push_back(std::move(c));
  }
  cv_.notify_one();
}

size_t CompletionQueue::Poll(std::vector<Completion>& out, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  while (n < max && !q_.empty()) {
    out.push_back(std::move(q_.front()));
    q_.pop_front();
    ++n;
  }
  return n;
}

size_t CompletionQueue::Wait(std::vector<Completion>& out, std::chrono::nanoseconds timeout,
                             size_t max) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !q_.empty(); })) return 0;
  size_t n = 0;
  while (n < max && !q_.empty()) {
    out.push_back(std::move(q_.front()));
    q_.pop_front();
    ++n;
  }
  return n;
}

}  // namespace gw
