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
           "min-window=MS]";
  }
  void TakeKeys(SpecKeys& keys, WindowSpec* s) const override {
    if (keys.has("racks") == keys.has("rack-of")) {
      keys.Bad("give exactly one of racks= and rack-of=");
    }
    if (keys.has("racks")) {
      s->racks = keys.TakeUint32("racks");
      if (s->racks == 0) keys.Bad("racks must be >= 1");
    } else {
      const std::string_view list = keys.Take("rack-of");
      size_t start = 0;
      while (true) {
        const size_t plus = list.find('+', start);
        s->rack_of.push_back(keys.ParseUint32("rack-of", list.substr(start, plus - start)));
        if (plus == std::string_view::npos) break;
        start = plus + 1;
      }
    }
    TakeRingKeys(keys, s);
  }
  std::string KeysToString(const WindowSpec& s) const override {
    std::string racks;
    if (s.racks > 0) {
      racks = "racks=" + std::to_string(s.racks);
    } else {
      racks = "rack-of=";
      for (size_t i = 0; i < s.rack_of.size(); ++i) {
        racks += (i ? "+" : "") + std::to_string(s.rack_of[i]);
      }
    }
    return racks + "," + RingKeysToString(s);
  }
  void CheckFields(const WindowSpec& s) const override {
    if ((s.racks == 0) == s.rack_of.empty()) {
      throw Error("topology needs exactly one of racks=R (R >= 1) and rack-of=R+R+..");
    }
    CheckRingFields(s);
  }
  void CheckWorkers(const WindowSpec& s, uint32_t n, const std::string& what) const override {
    if (s.racks > n) {
      throw Error(what + "racks=" + std::to_string(s.racks) +
                  " leaves some rack without a worker; use racks <= workers");
    }
    if (s.racks == 0 && s.rack_of.size() != n) {
      throw Error(what + "rack-of lists " + std::to_string(s.rack_of.size()) +
                  " workers; give one rack per worker");
    }
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
