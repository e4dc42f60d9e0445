// The server-side coordinator of write windows: which worker may push now, and until when.
// Pure state machine, no I/O, no clock: every call takes the current time, so a test drives
// it with a fake clock. The caller (the server) feeds it requests, completions and deaths,
// calls Poll after each of them and at NextEvent(), and sends out the grants Poll returns.
//
// A window is [grant start, min(Done time, deadline)). A holder that reaches its deadline
// without Done is revoked: its window ends at the deadline (its gate refuses posts from then
// on), its request stays pending and it is granted again at its next turn or slot.
//
// Policies (sched/window_spec.h; each one file, sched/<name>_policy.cc, behind
// sched/window_policy.h; the ring machinery of round-robin and topology in
// sched/window_rings.h):
//   burst        every pending request is granted at once, deadline = TimePoint::max().
//   round-robin  burst until warm-up is over. Then rings (below) over all workers, gap =
//                T_iter / (factor·N). Windows still open from warm-up get a deadline at the
//                first Poll after it (re-granted with start = now, a deadline of one window
//                bound): rings wait for them, but not forever.
//   slots        worker i's slot in every period is [k·P + i·L, k·P + (i+1)·L), k counted
//                from the clock's epoch (TimePoint{}), so slots do not depend on when the
//                scheduler was made. A pending request is granted at the start of its slot,
//                or at once if inside it; deadline = slot end. A removed worker's slot stays
//                idle (TDMA).
//   topology     one ring per rack, racks independent (their windows interleave freely), gap
//                T_iter / (factor·rack size). No warm-up: one writer per uplink is a capacity
//                limit that holds from the first push; until T_iter is measured the gap is 0
//                (turns pass as soon as a window ends) and the bound is min-window.
//   global-priority  one window at a time, across all workers: when the link is free the
//                waiting request with the lowest priority value (Request's priority) is
//                granted at once; ties: longest waiting, then lowest rank. No warm-up, no gap;
//                deadline = start + max(window·push, min-window), push as in rings (below).
//
// Ring rules (round-robin after warm-up, every topology rack), in rank order among live
// workers:
//   - at most one window open; the next grant no earlier than the previous grant + gap and no
//     earlier than the previous window's end, so windows never overlap (lead=0; with a lead,
//     the next grant may come up to lead before the open window's expected end: Pipelined
//     turns, below);
//   - the turn belongs to the next live rank; if it has no pending request when its turn
//     starts it keeps the turn for a grace of one gap (a worker a little late keeps its place
//     in the rotation, which is what keeps R2SP's pushes evenly spread), after which the turn
//     goes to the first pending rank after it. A skipped worker waits for the ring to come
//     round. With nobody pending, the first request is granted at once (grace long over).
//   - deadline = start + bound, bound = max(window·max(gap, push), min-window), where push is
//     the ring's typical push time: an exponentially weighted mean (weight kPushWeight) of
//     its windows that ended in Done (warm-up's burst windows included, which seeds it high).
//     When the link, not the gap, paces the ring (gap < push time: pushes back to back), a
//     bound of window gaps alone would cut every push. A window revoked although its writer
//     was making progress (Progress) raises push to that window's bound, so a bound too short
//     for the pushes grows `window`-fold per such revocation, while a stuck writer (no
//     progress) holds the link at most one bound per turn and never raises it;
//   - a removed worker is skipped without grace and its window, if any, ends at removal.
// Each turn thus takes at most bound + 2·gap, and no other member is granted twice ahead of
// a pending worker, so a pending live worker of a ring of N is granted within
// N·(bound + 2·gap) of its request (plus one bound when round-robin's rings start).
//
// Pipelined turns (lead, not 0). Granted only once the window before it ended, every turn
// would leave the link idle for the grant's trip to the writer, its turnaround and its first
// bytes' trip back: a round trip per turn. So the ring grants the next turn early, while one
// window is still open: once that window's writer said it posted (Posted) and no earlier than
// posted + busy − lead, where busy is the ring's typical time from a writer's first post to
// its Done (a mean like push's) and lead the grant-to-post time (auto: the ring's mean of
// them, at most busy; or a fixed lead). The early writer's bytes then arrive as the last of the
// ones before it land. The other turn rules hold (rank order, gap after the previous grant,
// grace), so: at most two windows of a ring are open at once, the second granted within lead
// of the first's expected end. A writer that never posts holds its turn until its deadline as
// without pipelining; one that posted and overruns its expected end shares the link with the
// next writer only (the one after waits for one of them to end).
//
// Long trips (the grant-to-post time, auto or fixed, exceeds busy: a delay line, a slow
// control path). Even granted at the open writer's post, the next writer's bytes would arrive
// trip − busy after the link went idle, every turn. So the ring grants a transfer apart
// instead: the next turn at the latest open window's grant + busy, whether or not its writer
// posted, with up to 1 + ⌈trip / busy⌉ windows open (one per member at most): each writer's
// bytes arrive as the previous one's end. Those grants are marked `ahead` (windows.csv). A
// writer that never posts holds only its own window, to its deadline; the ring goes on.
//
// Asked ahead (WindowSpec::ask_ahead, Pacing::kIterations). A worker that knows when its
// gradient will be ready asks before it is (Request's ready_at), so that its grant can arrive
// as the gradient does instead of a round trip after it. In a ring such a request counts from
// ready_at − trip (trip: the ring's mean grant-to-post time), not from its arrival: the turn
// goes to whoever can use the link first, the owner at max(turn start, its time), any other
// waiting member at max(turn start + gap, its time), ties to the owner and then in ring order
// (with every request ready when asked this is exactly the rule above). A grant that reaches
// its writer before the gradient is held there (the held time is left out of the trip); one
// whose writer misses it is revoked at its deadline like any other, and the request stays.
//
// Pacing. Everything above is Pacing::kIterations, R2SP's, for the sync rules. Coded rounds
// (ps/server/window_desk.cc) use Pacing::kRounds: the server's input write starts every worker's
// round at once and the round closes as soon as the code can decode, so there is no iteration to
// spread pushes over, and which messages are ready first is up to the stragglers, not the
// ranks. In rings (round-robin after warm-up, topology racks) it changes three things:
//   - the gap is zero: a turn starts as soon as the previous window ended, with no grace, so
//     the link never idles while a message is ready (windows still never overlap);
//   - first come, first served: the turn goes to the live pending member whose request is
//     oldest (ties in ring order from `next`); a holder revoked at its deadline queues again
//     from that deadline, so a stuck writer goes behind everyone already waiting;
//   - round-robin's warm-up counts rounds the server closed (ObserveRound), not worker 0's
//     iterations (ObserveIteration is ignored): a lost or straggling worker 0 neither stalls
//     nor skews it; iteration_time() is then the mean round time (instrumentation only).
// The bound is as above with gap 0: max(window·push, min-window). Burst and slots are
// unchanged. Cancel (either pacing) withdraws a request that is no longer wanted (its coded
// round closed), waiting or holding, without counting it as a push or a death.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "sched/iteration_estimator.h"
#include "sched/time.h"
#include "sched/window_policy.h"
#include "sched/window_rings.h"
#include "sched/window_spec.h"

namespace gw::sched {

class WindowScheduler {
 public:
  static constexpr double kPushWeight = WindowRings::kPushWeight;

  using Grant = WindowGrant;
  using Pacing = sched::Pacing;  // see the top of this file

  // Throws gw::Error if spec.Validate(num_workers) does.
  WindowScheduler(const WindowSpec& spec, uint32_t num_workers,
                  Pacing pacing = Pacing::kIterations);
  // Copies carry the policy's state: a copy goes on exactly as the original would.
  WindowScheduler(const WindowScheduler& other);
  WindowScheduler& operator=(const WindowScheduler& other);
  WindowScheduler(WindowScheduler&&) = default;
  WindowScheduler& operator=(WindowScheduler&&) = default;
  ~WindowScheduler();

  // Worker w has a push ready (all its writes for one iteration). No-op while w already has
  // one pending or holds a window, or after Remove(w), except that a request still waiting
  // takes a more urgent (lower) priority: a more urgent tensor joined the push it waits with.
  // priority: the forward-pass index of the push's most urgent tensor (WindowWorker::priority);
  // only global-priority reads it. ready_at: when the push will be ready, for a request asked
  // ahead (TimePoint::min(): ready now); rings time its turn by it (Asked ahead, above).
  void Request(uint32_t w, TimePoint now, uint32_t priority = 0,
               TimePoint ready_at = TimePoint::min());
  // w's push completed: its window (if it holds one) ends now and its request is cleared.
  void Done(uint32_t w, TimePoint now);
  // w died: it loses its turn, its request and any window it held (ending now).
  void Remove(uint32_t w, TimePoint now);
  // w's request is withdrawn (a coded round closed before its message was needed): it is no
  // longer pending and its window, if it holds one, ends now. Not a push (the ring's push
  // time learns nothing) and not a death: w may Request again.
  void Cancel(uint32_t w, TimePoint now);
  // Part of w's push landed: if w holds a window, its writer is alive and making progress.
  void Progress(uint32_t w, TimePoint now);
  // w's writer posted the first write of the window it holds (its notice arrived now): the
  // rings learn the grant-to-post time and may grant the next turn early (Pipelined turns).
  // held: how long the writer kept the grant before its push was ready (a request asked
  // ahead), left out of the grant-to-post time. Ignored unless w holds a window, and after the
  // first notice of a window.
  void Posted(uint32_t w, TimePoint now, Duration held = Duration::zero());
  // One measured iteration of worker w: its length and the time it was blocked in it. Only
  // worker 0 counts, as in R2SP (sched/iteration_estimator.h); the others are ignored. If
  // worker 0 dies, the gap keeps its last value.
  // Ignored under Pacing::kRounds.
  void ObserveIteration(uint32_t w, Duration iteration, Duration blocked);
  // Pacing::kRounds: one round the server closed, of this length. Counts towards round-robin's
  // warm-up and the mean round time; the gap stays zero. Ignored under Pacing::kIterations.
  void ObserveRound(Duration round);

  // Revokes windows whose deadline is <= now, then returns the grants to issue now (start ==
  // now). A Grant for a worker that already holds a window replaces that window's deadline
  // (only at the end of round-robin's warm-up).
  std::vector<Grant> Poll(TimePoint now);
  // The same, appending to *grants (reuses its buffer).
  void Poll(TimePoint now, std::vector<Grant>* grants);
  // When Poll must be called next if nothing else happens (a deadline, a turn or grace
  // ending, a slot starting); nullopt if only a Request/Done/Remove can change anything.
  // Never earlier than the latest time passed in; equal to it means: call Poll at once.
  std::optional<TimePoint> NextEvent() const;

  // Instrumentation.
  bool warmed_up() const { return estimator_.ready(); }           // T_iter is measured
  Duration iteration_time() const { return estimator_.value(); }  // T_iter, 0 until measured
  // The gap between grants in w's ring (zero for burst, slots, and before T_iter is known).
  Duration gap(uint32_t w = 0) const;
  // deadline − start of a ring grant to w: max(window·max(gap, push), min-window); the slot
  // length for slots; Duration::max() for burst (open-ended).
  Duration window_bound(uint32_t w = 0) const;
  // The typical push time in w's ring (zero until one window ended in Done; zero for burst
  // and slots).
  Duration push_time(uint32_t w = 0) const;
  // How early the next turn of w's ring is granted (Pipelined turns); zero until measured,
  // with lead=0, and for burst, slots and global-priority.
  Duration lead(uint32_t w = 0) const;
  bool live(uint32_t w) const { return workers_.at(w).live; }
  bool pending(uint32_t w) const { return workers_.at(w).pending; }
  bool holding(uint32_t w) const { return workers_.at(w).holding; }
  uint64_t revocations() const { return revocations_; }
  uint32_t num_workers() const { return static_cast<uint32_t>(workers_.size()); }
  const WindowSpec& spec() const { return spec_; }
  Pacing pacing() const { return pacing_; }

 private:
  class Opener;

  void Check(uint32_t w) const;
  void Seen(TimePoint now);
  WindowView View() const { return {workers_, warmed_up(), last_seen_}; }
  void Open(uint32_t w, TimePoint now, TimePoint deadline, bool ahead, std::vector<Grant>* grants);
  void Close(uint32_t w, TimePoint end);

  WindowSpec spec_;
  Pacing pacing_;
  std::vector<WindowWorker> workers_;
  std::unique_ptr<WindowPolicy> policy_;
  IterationEstimator estimator_;
  TimePoint last_seen_ = TimePoint::min();
  uint64_t revocations_ = 0;
};

}  // namespace gw::sched
