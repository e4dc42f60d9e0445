// slots: TDMA. Worker i may write in [k·P + i·L, k·P + (i+1)·L) for every k, k counted from
// the clock's epoch (TimePoint{}), so slots do not depend on when the scheduler was made. A
// pending request is granted at the start of its slot, or at once if inside it; deadline =
// slot end. A removed worker's slot stays idle.
#include "base/error.h"
#include "sched/window_policy_type.h"

namespace gw::sched {
namespace {

class Slots final : public WindowPolicy {
 public:
  explicit Slots(const WindowSpec& s) : period_(s.period()), slot_(s.slot()) {}

  std::unique_ptr<WindowPolicy> Clone() const override { return std::make_unique<Slots>(*this); }
  void Grant(const WindowView& view, TimePoint now, WindowOpener& opener) override {
    for (uint32_t w = 0; w < view.workers.size(); ++w) {
      if (!view.workers[w].waiting()) continue;
      const auto [start, end] = SlotAt(w, now);
      if (start == now) opener.Open(w, end, /*ahead=*/false);
    }
  }
  std::optional<TimePoint> NextGrant(const WindowView& view) const override {
    std::optional<TimePoint> next;
    for (uint32_t w = 0; w < view.workers.size(); ++w) {
      if (!view.workers[w].waiting()) continue;
      const TimePoint start = SlotAt(w, view.last_seen).first;
      if (!next || start < *next) next = start;
    }
    return next;
  }
  Duration window_bound(uint32_t w) const override { return slot_; }

 private:
  // Start of w's next slot at or after t (t itself if inside it) and that slot's end.
  std::pair<TimePoint, TimePoint> SlotAt(uint32_t w, TimePoint t) const {
    Duration phase = t.time_since_epoch() % period_;
    if (phase < Duration::zero()) phase += period_;
    const TimePoint start = t - phase + slot_ * w;
    if (t < start) return {start, start + slot_};
    if (t < start + slot_) return {t, start + slot_};
    return {start + period_, start + period_ + slot_};
  }

  Duration period_;
  Duration slot_;
};

class SlotsType final : public WindowPolicyType {
 public:
  WindowKind kind() const override { return WindowKind::kSlots; }
  std::string_view name() const override { return "slots"; }
  std::string_view forms() const override { return "slots:period=MS,slot=MS"; }
  void TakeKeys(SpecKeys& keys, WindowSpec* s) const override {
    s->period_ms = keys.TakeDouble("period");
    s->slot_ms = keys.TakeDouble("slot");
  }
  std::string KeysToString(const WindowSpec& s) const override {
    return "period=" + FormatNumber(s.period_ms) + ",slot=" + FormatNumber(s.slot_ms);
  }
  void CheckFields(const WindowSpec& s) const override {
    CheckPositiveMs("period", s.period_ms);
    CheckPositiveMs("slot", s.slot_ms);
    if (s.slot() <= Duration::zero()) {
      throw Error("slot=" + FormatNumber(s.slot_ms) + " ms rounds to 0 ns; use a longer slot");
    }
  }
  void CheckWorkers(const WindowSpec& s, uint32_t n, const std::string& what) const override {
    // N·slot <= period, written without the product (it could overflow for huge N).
    if (s.slot() > s.period() / n) {
      throw Error(what + "the " + std::to_string(n) + " slots of " + FormatNumber(s.slot_ms) +
                  " ms do not fit in the period of " + FormatNumber(s.period_ms) +
                  " ms; use slot <= period / workers");
    }
  }
  std::unique_ptr<WindowPolicy> Make(const WindowSpec& s, uint32_t n,
                                     Pacing pacing) const override {
    return std::make_unique<Slots>(s);
  }
};

}  // namespace

const WindowPolicyType& SlotsPolicy() {
  static const SlotsType kType;
  return kType;
}

}  // namespace gw::sched
