// The worker-side gate: consulted before every write is posted, it says yes only inside the
// window the server granted (sched/window_scheduler.h). Pure: the caller passes the time.
// MayPost is on the hot path (once per write), so it is two compares and no branch; the
// bookkeeping happens per grant and per push.
//
// Times are the worker's own clock. The server's steady_clock is not comparable across
// hosts, so the wiring turns a grant into a local window, e.g. [arrival, arrival + (deadline
// − start)), before calling OnGrant.
//
// Counters, for the results CSV: waited() is the time between having a push ready (OnRequest,
// or a window running out before the push was done) and the next grant; held() the time
// inside windows, each ending at OnDone or at its deadline, whichever came first.
#pragma once

#include <cstdint>

#include "sched/time.h"

namespace gw::sched {

// The deadline of a grant that arrived at `arrival` with a window of `window_ns` (the
// server's WindowGrantMsg, untrusted): TimePoint::max() for an open-ended (negative) window,
// and for one so long that the sum does not fit; otherwise arrival + window_ns.
TimePoint LocalDeadline(TimePoint arrival, int64_t window_ns);

class WindowGate {
 public:
  // A push is ready and a window was asked for.
  void OnRequest(TimePoint now);
  // A grant: posts are allowed in [start, deadline). Replaces the current window; if that one
  // is still open at `start` (end of round-robin's warm-up) only its deadline changes.
  void OnGrant(TimePoint start, TimePoint deadline);
  // May a write be posted at `now`? A burst grant (deadline TimePoint::max()) stays open
  // until OnDone.
  bool MayPost(TimePoint now) const { return (now >= start_) & (now < deadline_); }
  // The push completed, or was withdrawn (a push withdrawn before any grant waited until
  // now): the window closes.
  void OnDone(TimePoint now);

  // A window was asked for and none granted since.
  bool asked() const { return asked_; }
  Duration waited() const { return waited_; }
  Duration held() const { return held_; }
  uint64_t grants() const { return grants_; }
  uint64_t expired() const { return expired_; }  // windows that ran out before OnDone

 private:
  // Closed: start after deadline, so MayPost is false for every time.
  TimePoint start_ = TimePoint::max();
  TimePoint deadline_ = TimePoint::min();
  bool open_ = false;   // granted and not yet OnDone (possibly run out)
  bool asked_ = false;  // OnRequest seen, no grant since
  TimePoint asked_at_;  // time of that OnRequest
  Duration waited_ = Duration::zero();
  Duration held_ = Duration::zero();
  uint64_t grants_ = 0;
  uint64_t expired_ = 0;
};

}  // namespace gw::sched
