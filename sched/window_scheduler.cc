#include "sched/window_scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "base/error.h"

namespace gw::sched {
namespace {

constexpr TimePoint kNever = TimePoint::max();

}  // namespace

WindowScheduler::WindowScheduler(const WindowSpec& spec, uint32_t num_workers, Pacing pacing)
    : spec_(spec), pacing_(pacing), workers_(num_workers), estimator_(spec.warmup) {
  spec_.Validate(num_workers);
  if (spec_.kind == WindowKind::kRoundRobin) {
    rings_.resize(1);
    for (uint32_t w = 0; w < num_workers; ++w) rings_[0].members.push_back(w);
  } else if (spec_.kind == WindowKind::kTopology) {
    // One ring per distinct rack label, in label order; members ascend because w does.
    const std::vector<uint32_t> rack_of = spec_.RackOf(num_workers);
    std::map<uint32_t, uint32_t> ring_of_rack;
    for (uint32_t rack : rack_of) ring_of_rack.emplace(rack, 0);
    uint32_t r = 0;
    for (auto& [rack, ring] : ring_of_rack) ring = r++;
    rings_.resize(ring_of_rack.size());
    for (uint32_t w = 0; w < num_workers; ++w) {
      workers_[w].ring = ring_of_rack.at(rack_of[w]);
      rings_[workers_[w].ring].members.push_back(w);
    }
  }
  ring_gap_.assign(rings_.size(), Duration::zero());
  ring_bound_.assign(rings_.size(), spec_.min_window());
}

void WindowScheduler::Check(uint32_t w) const {
  if (w >= workers_.size()) {
    throw Error("window scheduler: worker " + std::to_string(w) + " out of range; ranks are 0.." +
                std::to_string(workers_.size() - 1));
  }
}

void WindowScheduler::Seen(TimePoint now) { last_seen_ = std::max(last_seen_, now); }

bool WindowScheduler::RingsActive() const {
  return spec_.kind == WindowKind::kTopology ||
         (spec_.kind == WindowKind::kRoundRobin && rings_started_);
}

void WindowScheduler::Request(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  Worker& x = workers_[w];
  if (!x.live || x.pending) return;  // holding implies pending: nothing changes then
  x.pending = true;
  x.queued = now;
}

void WindowScheduler::Done(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  Worker& x = workers_[w];
  if (!x.live) return;
  x.pending = false;
  if (!x.holding) return;
  if (!rings_.empty()) ObservePush(x.ring, now - x.start);
  Close(w, now);
}

void WindowScheduler::Progress(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  Worker& x = workers_[w];
  if (x.holding) x.progressed = true;
}

void WindowScheduler::Remove(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  Worker& x = workers_[w];
  if (!x.live) return;
  if (x.holding) Close(w, now);
  x.live = false;
  x.pending = false;
}

void WindowScheduler::Cancel(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  Worker& x = workers_[w];
  if (!x.live) return;
  x.pending = false;
  if (x.holding) Close(w, now);
}

void WindowScheduler::ObserveRound(Duration round) {
  if (pacing_ != Pacing::kRounds) return;
  estimator_.Observe(round, Duration::zero());  // the gap stays zero: only warm-up counts
}

void WindowScheduler::ObserveIteration(uint32_t w, Duration iteration, Duration blocked) {
  Check(w);
  if (w != 0 || pacing_ != Pacing::kIterations) return;
  estimator_.Observe(iteration, blocked);
  if (!estimator_.ready()) return;
  const double t_iter = static_cast<double>(estimator_.value().count());
  const double max_ns = WindowSpec::kMaxMs * 1e6;
  for (uint32_t r = 0; r < rings_.size(); ++r) {
    const double gap = std::min(t_iter / (spec_.factor * rings_[r].members.size()), max_ns);
    ring_gap_[r] = Duration(std::llround(gap));
    UpdateBound(r);
  }
}

void WindowScheduler::ObservePush(uint32_t r, Duration sample) {
  Ring& ring = rings_[r];
  const double prev = static_cast<double>(ring.push.count());
  const double x = static_cast<double>(std::max(sample, Duration::zero()).count());
  ring.push = Duration(std::llround(ring.push_known ? prev + kPushWeight * (x - prev) : x));
  ring.push_known = true;
  UpdateBound(r);
}

void WindowScheduler::RaisePush(uint32_t r, Duration floor) {
  Ring& ring = rings_[r];
  ring.push = std::max(ring.push, floor);
  ring.push_known = true;
  UpdateBound(r);
}

void WindowScheduler::UpdateBound(uint32_t r) {
  const double max_ns = WindowSpec::kMaxMs * 1e6;
  const double base = static_cast<double>(std::max(ring_gap_[r], rings_[r].push).count());
  const double bound = std::min(spec_.window_gaps * base, max_ns);
  ring_bound_[r] = std::max(Duration(std::llround(bound)), spec_.min_window());
}

void WindowScheduler::Open(uint32_t w, TimePoint now, TimePoint deadline,
                           std::vector<Grant>* grants) {
  Worker& x = workers_[w];
  x.holding = true;
  x.progressed = false;
  x.start = now;
  x.deadline = deadline;
  if (!rings_.empty()) ++rings_[x.ring].open;
  grants->push_back({w, now, deadline});
}

void WindowScheduler::Close(uint32_t w, TimePoint end) {
  Worker& x = workers_[w];
  x.holding = false;
  if (rings_.empty()) return;
  Ring& ring = rings_[x.ring];
  --ring.open;
  ring.free_since = std::max(ring.free_since, end);
}

// Round-robin's switch from burst to rings: warm-up windows were open-ended; give them a
// ring bound from now, so the rings (which wait for them) wait at most that long.
void WindowScheduler::StartRings(TimePoint now, std::vector<Grant>* grants) {
  rings_started_ = true;
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    Worker& x = workers_[w];
    if (!x.holding) continue;
    x.deadline = now + ring_bound_[x.ring];
    grants->push_back({w, now, x.deadline});
  }
}

std::optional<WindowScheduler::Turn> WindowScheduler::NextTurn(const Ring& ring, uint32_t r) const {
  const size_t size = ring.members.size();
  const TimePoint turn_start = std::max(ring.not_before, ring.free_since);
  // The owner of the turn: the first live member from `next` on (the dead have no grace).
  size_t owner = size;
  for (size_t i = 0; i < size && owner == size; ++i) {
    const size_t pos = (ring.next + i) % size;
    if (workers_[ring.members[pos]].live) owner = pos;
  }
  if (owner == size) return std::nullopt;
  if (pacing_ == Pacing::kRounds) {
    // First come, first served, back to back (the gap is zero: no grace either).
    std::optional<size_t> first;
    for (size_t i = 0; i < size; ++i) {
      const size_t pos = (owner + i) % size;
      const Worker& x = workers_[ring.members[pos]];
      if (x.live && x.pending && (!first || x.queued < workers_[ring.members[*first]].queued)) {
        first = pos;
      }
    }
    if (!first) return std::nullopt;
    return Turn{turn_start, *first};
  }
  if (workers_[ring.members[owner]].pending) return Turn{turn_start, owner};
  for (size_t i = 1; i < size; ++i) {
    const size_t pos = (owner + i) % size;
    const Worker& x = workers_[ring.members[pos]];
    if (x.live && x.pending) return Turn{turn_start + ring_gap_[r], pos};
  }
  return std::nullopt;
}

std::pair<TimePoint, TimePoint> WindowScheduler::SlotAt(uint32_t w, TimePoint t) const {
  const Duration period = spec_.period(), slot = spec_.slot();
  Duration phase = t.time_since_epoch() % period;
  if (phase < Duration::zero()) phase += period;
  const TimePoint start = t - phase + slot * w;
  if (t < start) return {start, start + slot};
  if (t < start + slot) return {t, start + slot};
  return {start + period, start + period + slot};
}

std::vector<WindowScheduler::Grant> WindowScheduler::Poll(TimePoint now) {
  std::vector<Grant> grants;
  Poll(now, &grants);
  return grants;
}

void WindowScheduler::Poll(TimePoint now, std::vector<Grant>* grants) {
  Seen(now);
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    Worker& x = workers_[w];
    if (x.holding && x.deadline <= now) {
      // Cut while pushing: the bound, not the writer, was too short.
      if (x.progressed && !rings_.empty()) RaisePush(x.ring, x.deadline - x.start);
      Close(w, x.deadline);   // revoked: the request stays pending
      x.queued = x.deadline;  // kRounds: behind those already waiting
      ++revocations_;
    }
  }
  if (spec_.kind == WindowKind::kRoundRobin && !rings_started_ && warmed_up()) {
    StartRings(now, grants);
  }
  if (spec_.kind == WindowKind::kSlots) {
    for (uint32_t w = 0; w < workers_.size(); ++w) {
      const Worker& x = workers_[w];
      if (!x.live || !x.pending || x.holding) continue;
      const auto [start, end] = SlotAt(w, now);
      if (start == now) Open(w, now, end, grants);
    }
  } else if (!RingsActive()) {  // burst, or round-robin's warm-up
    for (uint32_t w = 0; w < workers_.size(); ++w) {
      const Worker& x = workers_[w];
      if (x.live && x.pending && !x.holding) Open(w, now, kNever, grants);
    }
  } else {
    for (uint32_t r = 0; r < rings_.size(); ++r) {
      Ring& ring = rings_[r];
      if (ring.open > 0) continue;
      const std::optional<Turn> turn = NextTurn(ring, r);
      if (!turn || turn->at > now) continue;
      Open(ring.members[turn->position], now, now + ring_bound_[r], grants);
      ring.next = (turn->position + 1) % ring.members.size();
      ring.not_before = now + ring_gap_[r];
    }
  }
}

std::optional<TimePoint> WindowScheduler::NextEvent() const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    t = std::max(t, last_seen_);
    if (!next || t < *next) next = t;
  };
  bool waiting = false;  // a live worker with a push but no window
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    const Worker& x = workers_[w];
    if (x.holding && x.deadline != kNever) consider(x.deadline);
    if (x.live && x.pending && !x.holding) {
      waiting = true;
      if (spec_.kind == WindowKind::kSlots) consider(SlotAt(w, last_seen_).first);
    }
  }
  if (spec_.kind == WindowKind::kSlots) return next;
  if (spec_.kind == WindowKind::kRoundRobin && !rings_started_) {
    // Burst during warm-up; after it, the next Poll starts the rings (and bounds windows).
    const bool any_holding =
        std::any_of(workers_.begin(), workers_.end(), [](const Worker& x) { return x.holding; });
    if (waiting || (warmed_up() && any_holding)) consider(last_seen_);
    return next;
  }
  if (spec_.kind == WindowKind::kBurst) {
    if (waiting) consider(last_seen_);
    return next;
  }
  for (uint32_t r = 0; r < rings_.size(); ++r) {
    if (rings_[r].open > 0) continue;
    if (const std::optional<Turn> turn = NextTurn(rings_[r], r)) consider(turn->at);
  }
  return next;
}

Duration WindowScheduler::gap(uint32_t w) const {
  Check(w);
  return rings_.empty() ? Duration::zero() : ring_gap_[workers_[w].ring];
}

Duration WindowScheduler::push_time(uint32_t w) const {
  Check(w);
  return rings_.empty() ? Duration::zero() : rings_[workers_[w].ring].push;
}

Duration WindowScheduler::window_bound(uint32_t w) const {
  Check(w);
  switch (spec_.kind) {
    case WindowKind::kBurst:
      return Duration::max();
    case WindowKind::kSlots:
      return spec_.slot();
    case WindowKind::kRoundRobin:
    case WindowKind::kTopology:
      break;
  }
  return ring_bound_[workers_[w].ring];
}

}  // namespace gw::sched
