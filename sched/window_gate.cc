#include "sched/window_gate.h"

#include <algorithm>

namespace gw::sched {

void WindowGate::OnRequest(TimePoint now) {
  if (open_) return;  // the current push; its window is already accounted
  asked_ = true;
  asked_at_ = now;
}

TimePoint LocalDeadline(TimePoint arrival, int64_t window_ns) {
  Duration::rep end = 0;
  if (window_ns < 0 ||
      __builtin_add_overflow(arrival.time_since_epoch().count(), window_ns, &end)) {
    return TimePoint::max();
  }
  return TimePoint(Duration(end));
}

void WindowGate::OnGrant(TimePoint start, TimePoint deadline) {
  if (open_ && start < deadline_) {
    held_ += std::max(start - start_, Duration::zero());  // still open: new deadline only
  } else if (open_) {
    // The window ran out with the push unfinished: held until its deadline, then waited.
    held_ += deadline_ - start_;
    waited_ += start - deadline_;
    ++expired_;
  } else if (asked_) {
    waited_ += std::max(start - asked_at_, Duration::zero());
  }
  asked_ = false;
  open_ = true;
  start_ = start;
  deadline_ = deadline;
  ++grants_;
}

void WindowGate::OnDone(TimePoint now) {
  if (open_) {
    held_ += std::max(std::min(now, deadline_) - start_, Duration::zero());
    if (now > deadline_) ++expired_;
  } else if (asked_) {
    waited_ += std::max(now - asked_at_, Duration::zero());  // withdrawn before any grant
  }
  open_ = false;
  asked_ = false;
  start_ = TimePoint::max();
  deadline_ = TimePoint::min();
}

}  // namespace gw::sched
