// burst: no gating: every request is granted at once, open-ended (BSP's incast).
#include "sched/window_policy_type.h"

namespace gw::sched {
namespace {

class Burst final : public WindowPolicy {
 public:
  std::unique_ptr<WindowPolicy> Clone() const override { return std::make_unique<Burst>(*this); }
  void Grant(const WindowView& view, TimePoint now, WindowOpener& opener) override {
    GrantEveryWaiting(view, opener);
  }
  std::optional<TimePoint> NextGrant(const WindowView& view) const override {
    if (AnyWaiting(view)) return view.last_seen;
    return std::nullopt;
  }
  Duration window_bound(uint32_t w) const override { return Duration::max(); }
};

class BurstType final : public WindowPolicyType {
 public:
  WindowKind kind() const override { return WindowKind::kBurst; }
  std::string_view name() const override { return "burst"; }
  std::string_view forms() const override { return "burst"; }
  void TakeKeys(SpecKeys& keys, WindowSpec* s) const override {}
  std::string KeysToString(const WindowSpec& s) const override { return ""; }
  void CheckFields(const WindowSpec& s) const override {}
  std::unique_ptr<WindowPolicy> Make(const WindowSpec& s, uint32_t n,
                                     Pacing pacing) const override {
    return std::make_unique<Burst>();
  }
};

}  // namespace

const WindowPolicyType& BurstPolicy() {
  static const BurstType kType;
  return kType;
}

}  // namespace gw::sched
