// round-robin: R2SP (Chen, Wang, Li, INFOCOM 2019). Burst until warm-up is over (worker 0's
// iterations, or under Pacing::kRounds the rounds the server closed); then one ring of every
// worker (sched/window_rings.h). Windows still open from warm-up get a deadline at the first
// Poll after it (re-granted with start = now and one window bound): the ring waits for them,
// but not forever.
#include <algorithm>

#include "sched/window_policy_type.h"
#include "sched/window_rings.h"

namespace gw::sched {
namespace {

class RoundRobin final : public RingPolicy {
 public:
  RoundRobin(const WindowSpec& s, uint32_t n, Pacing pacing)
      : RingPolicy(WindowRings(s, std::vector<uint32_t>(n, 0), pacing)) {}

  std::unique_ptr<WindowPolicy> Clone() const override {
    return std::make_unique<RoundRobin>(*this);
  }
  void Grant(const WindowView& view, TimePoint now, WindowOpener& opener) override {
    if (!rings_started_ && view.warmed_up) {
      rings_started_ = true;
      for (uint32_t w = 0; w < view.workers.size(); ++w) {
        if (view.workers[w].holding) opener.Rebound(w, now + rings_.window_bound(w));
      }
    }
    if (rings_started_) {
      rings_.Grant(view, now, opener);
    } else {
      GrantEveryWaiting(view, opener);
    }
  }
  std::optional<TimePoint> NextGrant(const WindowView& view) const override {
    if (rings_started_) return rings_.NextTurn(view);
    // Burst during warm-up; after it, the next Poll starts the rings (and bounds windows).
    const bool any_holding = std::any_of(view.workers.begin(), view.workers.end(),
                                         [](const WindowWorker& x) { return x.holding; });
    if (AnyWaiting(view) || (view.warmed_up && any_holding)) return view.last_seen;
    return std::nullopt;
  }

 private:
  bool rings_started_ = false;  // warm-up windows bounded, the ring in charge
};

class RoundRobinType final : public WindowPolicyType {
 public:
  WindowKind kind() const override { return WindowKind::kRoundRobin; }
  std::string_view name() const override { return "round-robin"; }
  std::string_view forms() const override {
    return "round-robin[:warmup=W,factor=F,window=K,min-window=MS,lead=auto|MS,ask=ready|ahead]";
  }
  void TakeKeys(SpecKeys& keys, WindowSpec* s) const override { TakeRingKeys(keys, s); }
  std::string KeysToString(const WindowSpec& s) const override { return RingKeysToString(s); }
  void CheckFields(const WindowSpec& s) const override { CheckRingFields(s); }
  std::unique_ptr<WindowPolicy> Make(const WindowSpec& s, uint32_t n,
                                     Pacing pacing) const override {
    return std::make_unique<RoundRobin>(s, n, pacing);
  }
};

}  // namespace

const WindowPolicyType& RoundRobinPolicy() {
  static const RoundRobinType kType;
  return kType;
}

}  // namespace gw::sched
