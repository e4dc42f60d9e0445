// fifo: today's order. Partitions go in the order their tensors became ready, and posting is
// never held back: every ready partition is posted at once (the link and the send queue are
// the only limits), so a tensor that becomes ready later waits behind everything before it.
#include "sched/push_order.h"

namespace gw::sched {
namespace {

class Fifo final : public PushOrder {
 public:
  OrderKey KeyOf(uint32_t priority, uint64_t ready) const override { return {ready, 0}; }
  bool Admits(const Flight& flight, uint64_t bytes) const override { return true; }
};

class FifoType final : public PushOrderType {
 public:
  std::string_view name() const override { return "fifo"; }
  std::string_view forms() const override { return "fifo"; }
  void TakeKeys(PushOrderKeys& keys, PushOrderSpec* s) const override {}
  std::string KeysToString(const PushOrderSpec& s) const override { return ""; }
  std::unique_ptr<PushOrder> Make(const PushOrderSpec& s) const override {
    return std::make_unique<Fifo>();
  }
};

}  // namespace

const PushOrderType& FifoOrder() {
  static const FifoType kType;
  return kType;
}

}  // namespace gw::sched
