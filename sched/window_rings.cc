#include "sched/window_rings.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace gw::sched {

WindowRings::WindowRings(const WindowSpec& spec, const std::vector<uint32_t>& ring_of,
                         Pacing pacing)
    : factor_(spec.factor),
      window_gaps_(spec.window_gaps),
      min_window_(spec.min_window()),
      pacing_(pacing),
      ring_of_(ring_of.size()) {
  // One ring per distinct label, in label order; members ascend because w does.
  std::map<uint32_t, uint32_t> index_of_label;
  for (uint32_t label : ring_of) index_of_label.emplace(label, 0);
  uint32_t r = 0;
  for (auto& [label, index] : index_of_label) index = r++;
  rings_.resize(index_of_label.size());
  for (uint32_t w = 0; w < ring_of.size(); ++w) {
    ring_of_[w] = index_of_label.at(ring_of[w]);
    rings_[ring_of_[w]].members.push_back(w);
  }
  for (Ring& ring : rings_) ring.bound = min_window_;
}

void WindowRings::Closed(uint32_t w, TimePoint end) {
  Ring& ring = rings_[ring_of_[w]];
  --ring.open;
  ring.free_since = std::max(ring.free_since, end);
}

void WindowRings::IterationTime(Duration t_iter) {
  const double t = static_cast<double>(t_iter.count());
  const double max_ns = WindowSpec::kMaxMs * 1e6;
  for (Ring& ring : rings_) {
    const double gap_ns = std::min(t / (factor_ * ring.members.size()), max_ns);
    ring.gap = Duration(std::llround(gap_ns));
    UpdateBound(ring);
  }
}

void WindowRings::PushDone(uint32_t w, Duration push) {
  Ring& ring = rings_[ring_of_[w]];
  const double prev = static_cast<double>(ring.push.count());
  const double x = static_cast<double>(std::max(push, Duration::zero()).count());
  ring.push = Duration(std::llround(ring.push_known ? prev + kPushWeight * (x - prev) : x));
  ring.push_known = true;
  UpdateBound(ring);
}

// Cut while pushing: the bound, not the writer, was too short.
void WindowRings::CutWhileProgressing(uint32_t w, Duration window) {
  Ring& ring = rings_[ring_of_[w]];
  ring.push = std::max(ring.push, window);
  ring.push_known = true;
  UpdateBound(ring);
}

void WindowRings::UpdateBound(Ring& ring) const {
  const double max_ns = WindowSpec::kMaxMs * 1e6;
  const double base = static_cast<double>(std::max(ring.gap, ring.push).count());
  const double bound = std::min(window_gaps_ * base, max_ns);
  ring.bound = std::max(Duration(std::llround(bound)), min_window_);
}

std::optional<WindowRings::Turn> WindowRings::TurnOf(
    const Ring& ring, const std::vector<WindowWorker>& workers) const {
  const size_t size = ring.members.size();
  const TimePoint turn_start = std::max(ring.not_before, ring.free_since);
  // The owner of the turn: the first live member from `next` on (the dead have no grace).
  size_t owner = size;
  for (size_t i = 0; i < size && owner == size; ++i) {
    const size_t pos = (ring.next + i) % size;
    if (workers[ring.members[pos]].live) owner = pos;
  }
  if (owner == size) return std::nullopt;
  if (pacing_ == Pacing::kRounds) {
    // First come, first served, back to back (the gap is zero: no grace either).
    std::optional<size_t> first;
    for (size_t i = 0; i < size; ++i) {
      const size_t pos = (owner + i) % size;
      const WindowWorker& x = workers[ring.members[pos]];
      if (x.live && x.pending && (!first || x.queued < workers[ring.members[*first]].queued)) {
        first = pos;
      }
    }
    if (!first) return std::nullopt;
    return Turn{turn_start, *first};
  }
  if (workers[ring.members[owner]].pending) return Turn{turn_start, owner};
  for (size_t i = 1; i < size; ++i) {
    const size_t pos = (owner + i) % size;
    const WindowWorker& x = workers[ring.members[pos]];
    if (x.live && x.pending) return Turn{turn_start + ring.gap, pos};
  }
  return std::nullopt;
}

void WindowRings::Grant(const WindowView& view, TimePoint now, WindowOpener& opener) {
  for (Ring& ring : rings_) {
    if (ring.open > 0) continue;
    const std::optional<Turn> turn = TurnOf(ring, view.workers);
    if (!turn || turn->at > now) continue;
    opener.Open(ring.members[turn->position], now + ring.bound);
    ring.next = (turn->position + 1) % ring.members.size();
    ring.not_before = now + ring.gap;
  }
}

std::optional<TimePoint> WindowRings::NextTurn(const WindowView& view) const {
  std::optional<TimePoint> next;
  for (const Ring& ring : rings_) {
    if (ring.open > 0) continue;
    const std::optional<Turn> turn = TurnOf(ring, view.workers);
    if (turn && (!next || turn->at < *next)) next = turn->at;
  }
  return next;
}

}  // namespace gw::sched
