// topology: one ring per rack (sched/window_rings.h), racks in parallel: at most one writer
// per (oversubscribed) rack uplink at a time. No warm-up: that is a capacity limit that holds
// from the first push; until T_iter is measured the gap is 0 (turns pass as soon as a window
// ends) and the bound is min-window. Racks: racks=R (consecutive ranks, sizes differing by at
// most one) or rack-of=0+0+1+1 (the rack of each worker), plus the round-robin keys.
#include "base/error.h"
#include "sched/window_policy_type.h"
#include "sched/window_rings.h"

namespace gw::sched {
namespace {

class Topology final : public RingPolicy {
 public:
  Topology(const WindowSpec& s, uint32_t n, Pacing pacing)
      : RingPolicy(WindowRings(s, s.RackOf(n), pacing)) {}

  std::unique_ptr<WindowPolicy> Clone() const override { return std::make_unique<Topology>(*this); }
  void Grant(const WindowView& view, TimePoint now, WindowOpener& opener) override {
    rings_.Grant(view, now, opener);
  }
  std::optional<TimePoint> NextGrant(const WindowView& view) const override {
    return rings_.NextTurn(view);
  }
};

class TopologyType final : public WindowPolicyType {
 public:
  WindowKind kind() const override { return WindowKind::kTopology; }
  std::string_view name() const override { return "topology"; }
  std::string_view forms() const override {
    return "topology:racks=R or topology:rack-of=R+R+..[,warmup=W,factor=F,window=K,"
           "min-window=MS,lead=auto|MS,ask=ready|ahead]";
  }
  void TakeKeys(SpecKeys& keys, WindowSpec* s) const override {
    if (keys.has("racks") == keys.has("rack-of")) {
      keys.Bad("give exactly one of racks= and rack-of=");
    }
    TakeRackKeys(keys, s);
    TakeRingKeys(keys, s);
  }
  std::string KeysToString(const WindowSpec& s) const override {
    return RackKeysToString(s) + "," + RingKeysToString(s);
  }
  void CheckFields(const WindowSpec& s) const override {
    if ((s.racks == 0) == s.rack_of.empty()) {
      throw Error("topology needs exactly one of racks=R (R >= 1) and rack-of=R+R+..");
    }
    CheckRingFields(s);
  }
  void CheckWorkers(const WindowSpec& s, uint32_t n, const std::string& what) const override {
    CheckRackWorkers(s, n, what);
  }
  std::unique_ptr<WindowPolicy> Make(const WindowSpec& s, uint32_t n,
                                     Pacing pacing) const override {
    return std::make_unique<Topology>(s, n, pacing);
  }
};

}  // namespace

const WindowPolicyType& TopologyPolicy() {
  static const TopologyType kType;
  return kType;
}

}  // namespace gw::sched
