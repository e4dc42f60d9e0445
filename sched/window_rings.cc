#include "sched/window_rings.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace gw::sched {
namespace {

// One sample into a mean weighted kPushWeight (the first sample is the mean).
void Average(Duration* mean, bool* known, Duration sample) {
  const double prev = static_cast<double>(mean->count());
  const double x = static_cast<double>(std::max(sample, Duration::zero()).count());
  *mean = Duration(std::llround(*known ? prev + WindowRings::kPushWeight * (x - prev) : x));
  *known = true;
}

}  // namespace

WindowRings::WindowRings(const WindowSpec& spec, const std::vector<uint32_t>& ring_of,
                         Pacing pacing)
    : factor_(spec.factor),
      window_gaps_(spec.window_gaps),
      min_window_(spec.min_window()),
      pipelined_(spec.lead_ms != 0),
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
  if (spec.lead_ms != WindowSpec::kLeadAuto) {
    lead_fixed_ =
        std::chrono::round<Duration>(std::chrono::duration<double, std::milli>(spec.lead_ms));
  }
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
  Average(&ring.push, &ring.push_known, push);
  UpdateBound(ring);
}

void WindowRings::Posted(uint32_t w, Duration handoff) {
  Ring& ring = rings_[ring_of_[w]];
  Average(&ring.handoff, &ring.handoff_known, handoff);
}

void WindowRings::Transferred(uint32_t w, Duration busy) {
  Ring& ring = rings_[ring_of_[w]];
  Average(&ring.busy, &ring.busy_known, busy);
}

Duration WindowRings::LeadOf(const Ring& ring) const {
  if (!pipelined_ || !ring.busy_known) return Duration::zero();
  // Never more than one transfer ahead: a lead of busy already grants the next writer as the
  // current one's first bytes go out; more would grant it before they do.
  return std::min(TripOf(ring), ring.busy);
}

std::optional<TimePoint> WindowRings::FreeAt(const Ring& ring,
                                             const std::vector<WindowWorker>& workers) const {
  if (ring.open == 0) return ring.free_since;
  if (!pipelined_ || !ring.busy_known) return std::nullopt;
  if (LongTrip(ring)) {
    // Long trip: a grant takes longer to be used than a transfer lasts, so even a grant sent
    // at the open writer's post would idle the link (trip - busy) per turn. Grants go out a
    // transfer apart instead, whether or not the writers before posted: each writer's bytes
    // then arrive as the previous one's end.
    if (ring.open >= OpenAtMost(ring)) return std::nullopt;
    TimePoint latest = TimePoint::min();
    for (uint32_t w : ring.members) {
      if (workers[w].holding) latest = std::max(latest, workers[w].start);
    }
    return latest + ring.busy;
  }
  if (ring.open > 1) return std::nullopt;
  for (uint32_t w : ring.members) {
    const WindowWorker& x = workers[w];
    if (!x.holding) continue;
    if (!x.posted) return std::nullopt;
    return *x.posted + ring.busy - LeadOf(ring);
  }
  return std::nullopt;
}

bool WindowRings::LongTrip(const Ring& ring) const {
  return pipelined_ && ring.busy_known && TripOf(ring) > ring.busy;
}

Duration WindowRings::TripOf(const Ring& ring) const { return lead_fixed_.value_or(ring.handoff); }

uint32_t WindowRings::OpenAtMost(const Ring& ring) const {
  const Duration trip = TripOf(ring);
  // One window on the wire and the ones whose grants are still on their way: 1 + trip / busy,
  // rounded up, at most one per member.
  const auto ahead = static_cast<uint64_t>((trip.count() + ring.busy.count() - 1) /
                                           std::max<Duration::rep>(ring.busy.count(), 1));
  return static_cast<uint32_t>(std::min<uint64_t>(1 + ahead, ring.members.size()));
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

std::optional<WindowRings::Turn> WindowRings::TurnOf(const Ring& ring,
                                                     const std::vector<WindowWorker>& workers,
                                                     TimePoint free_at) const {
  const size_t size = ring.members.size();
  const TimePoint turn_start = std::max(ring.not_before, free_at);
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
      if (x.waiting() && (!first || x.queued < workers[ring.members[*first]].queued)) {
        first = pos;
      }
    }
    if (!first) return std::nullopt;
    return Turn{turn_start, *first};
  }
  // The owner from the turn's start, the others after its grace; a request asked ahead no
  // earlier than its grant can reach its writer as the push is ready, by the measured
  // grant-to-post time (zero until measured; not TripOf: lead=0 turns pipelining off, it does
  // not make grants arrive at once). Ties: the owner, then ring order.
  std::optional<Turn> first;
  for (size_t i = 0; i < size; ++i) {
    const size_t pos = (owner + i) % size;
    const WindowWorker& x = workers[ring.members[pos]];
    if (!x.waiting()) continue;
    TimePoint at = i == 0 ? turn_start : turn_start + ring.gap;
    if (x.ready_at != TimePoint::min()) at = std::max(at, x.ready_at - ring.handoff);
    if (!first || at < first->at) first = Turn{at, pos};
  }
  return first;
}

void WindowRings::Grant(const WindowView& view, TimePoint now, WindowOpener& opener) {
  for (Ring& ring : rings_) {
    const std::optional<TimePoint> free_at = FreeAt(ring, view.workers);
    if (!free_at) continue;
    const std::optional<Turn> turn = TurnOf(ring, view.workers, *free_at);
    if (!turn || turn->at > now) continue;
    opener.Open(ring.members[turn->position], now + ring.bound, ring.open > 0 && LongTrip(ring));
    ring.next = (turn->position + 1) % ring.members.size();
    ring.not_before = now + ring.gap;
  }
}

std::optional<TimePoint> WindowRings::NextTurn(const WindowView& view) const {
  std::optional<TimePoint> next;
  for (const Ring& ring : rings_) {
    const std::optional<TimePoint> free_at = FreeAt(ring, view.workers);
    if (!free_at) continue;
    const std::optional<Turn> turn = TurnOf(ring, view.workers, *free_at);
    if (turn && (!next || turn->at < *next)) next = turn->at;
  }
  return next;
}

}  // namespace gw::sched
