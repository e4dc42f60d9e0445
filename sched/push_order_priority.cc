// priority: P3 (Jayarajan et al., MLSys 2019). The pending partition of the lowest priority
// value (the front layers, which the next forward pass needs first) goes next, ties in ready
// order; at most `inflight` partitions are in flight, so a more urgent tensor that becomes ready
// overtakes at the next partition boundary. P3 keeps one in flight; why more may be needed is
// at PushOrderSpec::kDefaultInflight.
#include "sched/push_order.h"

namespace gw::sched {
namespace {

class Priority final : public PushOrder {
 public:
  explicit Priority(uint32_t inflight) : inflight_(inflight) {}

  OrderKey KeyOf(uint32_t priority, uint64_t ready) const override {
    return PriorityFirst(priority, ready);
  }
  bool Admits(const Flight& flight, uint64_t bytes) const override {
    return flight.partitions < inflight_;
  }

 private:
  uint32_t inflight_;
};

class PriorityType final : public PushOrderType {
 public:
  std::string_view name() const override { return "priority"; }
  std::string_view forms() const override { return "priority[:inflight=N]"; }
  void TakeKeys(PushOrderKeys& keys, PushOrderSpec* s) const override {
    if (keys.has("inflight")) {
      s->inflight =
          static_cast<uint32_t>(keys.TakeUint("inflight", 1, PushOrderSpec::kMaxInflight));
    }
  }
  std::string KeysToString(const PushOrderSpec& s) const override {
    return "inflight=" + std::to_string(s.inflight);
  }
  std::unique_ptr<PushOrder> Make(const PushOrderSpec& s) const override {
    return std::make_unique<Priority>(s.inflight);
  }
};

}  // namespace

const PushOrderType& PriorityOrder() {
  static const PriorityType kType;
  return kType;
}

}  // namespace gw::sched
