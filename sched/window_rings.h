// Workers taking turns in rank order, one ring or several in parallel: the machinery behind
// round-robin (after its warm-up, one ring of every worker) and topology (one ring per rack).
// The ring rules, the gap, the bound and the push-time mean are described in
// sched/window_scheduler.h.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "sched/window_policy.h"
#include "sched/window_spec.h"

namespace gw::sched {

class WindowRings {
 public:
  // Weight of one push in the ring's push-time mean: follows a changed link within about 10
  // pushes (65 % in 5), one slow push moves it by a fifth of its excess.
  static constexpr double kPushWeight = 0.2;
  static_assert(kPushWeight > 0 && kPushWeight <= 1);

  // ring_of[w]: worker w's ring label; one ring per distinct label, in label order.
  WindowRings(const WindowSpec& spec, const std::vector<uint32_t>& ring_of, Pacing pacing);

  // Grants each ring's turn that is due now (a ring with a window open waits).
  void Grant(const WindowView& view, TimePoint now, WindowOpener& opener);
  // The earliest turn of a ring with no window open, or nullopt.
  std::optional<TimePoint> NextTurn(const WindowView& view) const;

  void Opened(uint32_t w) { ++rings_[ring_of_[w]].open; }
  void Closed(uint32_t w, TimePoint end);
  void PushDone(uint32_t w, Duration push);
  void Posted(uint32_t w, Duration handoff);
  void Transferred(uint32_t w, Duration busy);
  void CutWhileProgressing(uint32_t w, Duration window);
  void IterationTime(Duration t_iter);

  Duration gap(uint32_t w) const { return rings_[ring_of_[w]].gap; }
  Duration push_time(uint32_t w) const { return rings_[ring_of_[w]].push; }
  Duration window_bound(uint32_t w) const { return rings_[ring_of_[w]].bound; }
  Duration lead(uint32_t w) const { return LeadOf(rings_[ring_of_[w]]); }

 private:
  struct Ring {
    std::vector<uint32_t> members;  // ascending ranks
    size_t next = 0;                // position whose turn it is (if live)
    uint32_t open = 0;  // open windows (2 with a pipelined turn, OpenAtMost with long trips,
                        // more only in warm-up)
    TimePoint not_before = TimePoint::min();  // last grant + gap
    TimePoint free_since = TimePoint::min();  // when the last window ended
    Duration push = Duration::zero();         // typical push time (see the bound)
    bool push_known = false;
    Duration gap = Duration::zero();  // updated by IterationTime
    Duration bound;                   // max(window·max(gap, push), min-window)
    // Pipelined turns: typical grant-to-post and first-post-to-Done times (means like push).
    Duration handoff = Duration::zero();
    bool handoff_known = false;
    Duration busy = Duration::zero();
    bool busy_known = false;
  };
  // When ring r may grant next, and to whom (position in members), or nullopt if nobody live
  // is pending. The time may be in the past. Requests asked ahead count from their ready time
  // less the ring's grant-to-post time (sched/window_scheduler.h, Asked ahead).
  struct Turn {
    TimePoint at;
    size_t position;
  };
  // free_at: when the link is (expected to be) free for the next writer (FreeAt).
  std::optional<Turn> TurnOf(const Ring& ring, const std::vector<WindowWorker>& workers,
                             TimePoint free_at) const;
  // When the ring's next turn may start as far as its open windows go: the last window's end
  // if none is open; with one open, posted + busy − lead once its writer posted (Pipelined
  // turns), else nullopt (wait for it), as with two open. Long trips (the grant-to-post time
  // exceeds busy): the latest open window's grant + busy, with fewer than OpenAtMost open.
  std::optional<TimePoint> FreeAt(const Ring& ring, const std::vector<WindowWorker>& workers) const;
  // The grant-to-post time: fixed (lead=MS) or the ring's mean (auto), uncapped.
  Duration TripOf(const Ring& ring) const;
  // Long trips: pipelined, a transfer time known, and the trip longer than a transfer.
  bool LongTrip(const Ring& ring) const;
  // Long trips: windows a ring may hold open at once, 1 + ceil(trip / busy), at most one per
  // member.
  uint32_t OpenAtMost(const Ring& ring) const;
  Duration LeadOf(const Ring& ring) const;
  void UpdateBound(Ring& ring) const;

  double factor_;
  double window_gaps_;
  Duration min_window_;
  bool pipelined_;                      // lead is not 0
  std::optional<Duration> lead_fixed_;  // lead=MS; nullopt: auto
  Pacing pacing_;
  std::vector<uint32_t> ring_of_;  // worker -> index into rings_
  std::vector<Ring> rings_;
};

// A policy whose windows come from rings: the rings keep the books and answer the
// instrumentation; the policy decides when they are in charge.
class RingPolicy : public WindowPolicy {
 public:
  explicit RingPolicy(WindowRings rings) : rings_(std::move(rings)) {}

  void Opened(uint32_t w) override { rings_.Opened(w); }
  void Closed(uint32_t w, TimePoint end) override { rings_.Closed(w, end); }
  void PushDone(uint32_t w, Duration push) override { rings_.PushDone(w, push); }
  void Posted(uint32_t w, Duration handoff) override { rings_.Posted(w, handoff); }
  void Transferred(uint32_t w, Duration busy) override { rings_.Transferred(w, busy); }
  void CutWhileProgressing(uint32_t w, Duration window) override {
    rings_.CutWhileProgressing(w, window);
  }
  void IterationTime(Duration t_iter) override { rings_.IterationTime(t_iter); }
  Duration gap(uint32_t w) const override { return rings_.gap(w); }
  Duration push_time(uint32_t w) const override { return rings_.push_time(w); }
  Duration window_bound(uint32_t w) const override { return rings_.window_bound(w); }
  Duration lead(uint32_t w) const override { return rings_.lead(w); }

 protected:
  WindowRings rings_;
};

}  // namespace gw::sched
