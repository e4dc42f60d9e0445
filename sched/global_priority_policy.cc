// global-priority: the link goes to the most urgent partition across all workers (issue 16:
// "the server grants the link to the highest-priority pending partition across all
// workers"). P3 and ByteScheduler order one worker's own tensors; this orders every worker's
// partitions against each other, so the front layers of every worker reach the server before
// anybody's back layers.
//
// Grants are per partition (grants_parts): a window lets its worker post one partition, and
// the worker asks again, with that partition's priority, for each next one it has ready. So a
// more urgent partition of any worker overtakes at the next partition boundary, and a worker
// whose backprop has nothing ready holds no window (a window per whole push would hold the
// link through the worker's backward pass).
//
// One window at a time (per rack, with racks= or rack-of=: the rack uplink is the link
// contended; racks are independent): when nobody in a rack holds one, its waiting request
// with the lowest priority value (WindowWorker::priority, the forward-pass index of the
// partition) is granted at once; ties go to the one waiting longest, then to the lowest rank.
// There is no gap and no warm-up: the link passes the moment it is free, so T_iter paces
// nothing. The deadline is round-robin's bound with a zero gap, max(window·push, min-window),
// from the books each rack's ring keeps (sched/window_rings.h: push is the mean of windows
// that ended in Done, here a partition's time, raised by a window cut while its writer made
// progress). Requests of equal priority are served first come first served, and a holder
// revoked at its deadline queues again from that deadline behind those already waiting, so
// none of them starves; a less urgent request does wait while more urgent ones keep coming:
// that is the policy.
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "sched/window_policy_type.h"
#include "sched/window_rings.h"

namespace gw::sched {
namespace {

// Whether anybody in rack r holds a window.
bool AnyHolding(const WindowView& view, const std::vector<uint32_t>& rack_of, uint32_t r) {
  for (uint32_t w = 0; w < view.workers.size(); ++w) {
    if (rack_of[w] == r && view.workers[w].holding) return true;
  }
  return false;
}

// The waiting worker of rack r that goes first, or nullopt if nobody there waits.
std::optional<uint32_t> MostUrgent(const WindowView& view, const std::vector<uint32_t>& rack_of,
                                   uint32_t r) {
  std::optional<uint32_t> best;
  for (uint32_t w = 0; w < view.workers.size(); ++w) {
    const WindowWorker& x = view.workers[w];
    if (rack_of[w] != r || !x.waiting()) continue;
    // Ascending w: a later rank wins only with a strictly smaller (priority, queued).
    if (!best || std::pair(x.priority, x.queued) <
                     std::pair(view.workers[*best].priority, view.workers[*best].queued)) {
      best = w;
    }
  }
  return best;
}

// One ring per rack keeps the bound's books; its turns are never used.
class GlobalPriority final : public RingPolicy {
 public:
  GlobalPriority(const WindowSpec& s, uint32_t n, Pacing pacing)
      : RingPolicy(WindowRings(s, s.RackOf(n), pacing)), rack_of_(s.RackOf(n)), racks_(rack_of_) {
    std::sort(racks_.begin(), racks_.end());
    racks_.erase(std::unique(racks_.begin(), racks_.end()), racks_.end());
  }

  std::unique_ptr<WindowPolicy> Clone() const override {
    return std::make_unique<GlobalPriority>(*this);
  }
  void Grant(const WindowView& view, TimePoint now, WindowOpener& opener) override {
    for (uint32_t r : racks_) {
      if (AnyHolding(view, rack_of_, r)) continue;
      if (const std::optional<uint32_t> w = MostUrgent(view, rack_of_, r)) {
        opener.Open(*w, now + rings_.window_bound(*w), /*ahead=*/false);
      }
    }
  }
  std::optional<TimePoint> NextGrant(const WindowView& view) const override {
    for (uint32_t r : racks_) {
      if (!AnyHolding(view, rack_of_, r) && MostUrgent(view, rack_of_, r)) return view.last_seen;
    }
    return std::nullopt;
  }
  // No gap: the link passes as soon as it is free, so T_iter neither paces nor bounds windows.
  void IterationTime(Duration t_iter) override {}

 private:
  std::vector<uint32_t> rack_of_;  // by worker
  std::vector<uint32_t> racks_;    // the distinct labels in rack_of_
};

class GlobalPriorityType final : public WindowPolicyType {
 public:
  WindowKind kind() const override { return WindowKind::kGlobalPriority; }
  std::string_view name() const override { return "global-priority"; }
  std::string_view forms() const override {
    return "global-priority[:window=K,min-window=MS,racks=R or rack-of=R+R+..]";
  }
  // The bound's keys and the racks: warmup and factor pace rings, and this policy has neither.
  void TakeKeys(SpecKeys& keys, WindowSpec* s) const override {
    if (keys.has("window")) s->window_gaps = keys.TakeDouble("window");
    if (keys.has("min-window")) s->min_window_ms = keys.TakeDouble("min-window");
    TakeRackKeys(keys, s);
  }
  std::string KeysToString(const WindowSpec& s) const override {
    const std::string racks = RackKeysToString(s);
    return "window=" + FormatNumber(s.window_gaps) +
           ",min-window=" + FormatNumber(s.min_window_ms) + (racks.empty() ? "" : "," + racks);
  }
  void CheckFields(const WindowSpec& s) const override { CheckRingFields(s); }
  void CheckWorkers(const WindowSpec& s, uint32_t n, const std::string& what) const override {
    CheckRackWorkers(s, n, what);
  }
  bool grants_parts() const override { return true; }
  std::unique_ptr<WindowPolicy> Make(const WindowSpec& s, uint32_t n,
                                     Pacing pacing) const override {
    return std::make_unique<GlobalPriority>(s, n, pacing);
  }
};

}  // namespace

const WindowPolicyType& GlobalPriorityPolicy() {
  static const GlobalPriorityType kType;
  return kType;
}

}  // namespace gw::sched
