#include "ps/server/held_steps.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "ps/roles.h"

namespace gw {

void HeldSteps::TrackParts(uint32_t parts) {
  parts_ = parts;
  part_in_flight_.assign(in_flight_.size() * parts, 0);
}

void HeldSteps::Posted(uint32_t w, uint64_t wr_id) {
  ++in_flight_[w];
  if (parts_ > 0 && wr_id < parts_) ++part_in_flight_[size_t{w} * parts_ + wr_id];
}

void HeldSteps::Completed(uint32_t w, uint64_t wr_id) {
  if (in_flight_[w] > 0) --in_flight_[w];
  if (parts_ == 0 || wr_id >= parts_) return;
  uint32_t& n = part_in_flight_[size_t{w} * parts_ + wr_id];
  if (n > 0) --n;
}

void HeldSteps::Forget(uint32_t w) {
  in_flight_[w] = 0;
  if (parts_ == 0) return;
  std::fill_n(part_in_flight_.begin() + static_cast<std::ptrdiff_t>(size_t{w} * parts_), parts_, 0);
}

bool HeldSteps::TakeIfWriteDone(const Completion& c) {
  if (c.kind != CompletionKind::kWriteDone || c.peer.role != Role::kWorker ||
      c.peer.rank >= in_flight_.size()) {
    return false;
  }
  Completed(c.peer.rank, c.wr_id);
  return true;
}

bool HeldSteps::Settled(const Step& s, bool checkpoint_busy) const {
  for (uint32_t w = 0; w < in_flight_.size(); ++w) {
    if (InFlight(s, w)) return false;
  }
  return !checkpoint_busy;
}

std::optional<HeldSteps::Step> HeldSteps::TakeSettled(bool checkpoint_busy) {
  if (held_.empty() || !Settled(held_.front(), checkpoint_busy)) return std::nullopt;
  Step s = std::move(held_.front());
  held_.pop_front();
  behind_ = std::move(held_);
  held_.clear();
  return s;
}

void HeldSteps::Ran() {
  for (auto& s : behind_) held_.push_back(std::move(s));
  behind_.clear();
}

std::vector<uint32_t> HeldSteps::Overdue(TimePoint now, Duration timeout) {
  std::vector<uint32_t> overdue;
  if (held_.empty()) return overdue;
  Step& front = held_.front();
  if (!front.deadline) front.deadline = now + timeout;
  if (now <= *front.deadline) return overdue;
  for (uint32_t w = 0; w < in_flight_.size(); ++w) {
    if (InFlight(front, w)) overdue.push_back(w);
  }
  return overdue;
}

}  // namespace gw
