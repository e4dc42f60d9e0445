// credit: ByteScheduler (Peng et al., SOSP 2019). Priority order as P3, but what is in flight
// is bounded in bytes, not partitions: a partition is posted while the bytes in flight plus
// its own stay within the credit, so small partitions pipeline and a large one goes alone. One
// partition is always allowed in flight (PushQueue posts whenever nothing is), so a partition
// larger than the credit still goes.
#include "sched/push_order.h"

namespace gw::sched {
namespace {

class Credit final : public PushOrder {
 public:
  explicit Credit(uint64_t credit) : credit_(credit) {}

  OrderKey KeyOf(uint32_t priority, uint64_t ready) const override {
    return PriorityFirst(priority, ready);
  }
  // flight.bytes + bytes <= credit, written without the sum (it could wrap).
  bool Admits(const Flight& flight, uint64_t bytes) const override {
    return bytes <= credit_ && flight.bytes <= credit_ - bytes;
  }

 private:
  uint64_t credit_;
};

class CreditType final : public PushOrderType {
 public:
  std::string_view name() const override { return "credit"; }
  std::string_view forms() const override { return "credit:credit=BYTES"; }
  // A credit below one smallest partition admits one partition at a time, which is
  // priority:inflight=1; refusing it says so instead of running that under another name.
  void TakeKeys(PushOrderKeys& keys, PushOrderSpec* s) const override {
    s->credit_bytes = keys.TakeUint("credit", kMinPartitionBytes, UINT64_MAX);
  }
  std::string KeysToString(const PushOrderSpec& s) const override {
    return "credit=" + std::to_string(s.credit_bytes);
  }
  std::unique_ptr<PushOrder> Make(const PushOrderSpec& s) const override {
    return std::make_unique<Credit>(s.credit_bytes);
  }
};

}  // namespace

const PushOrderType& CreditOrder() {
  static const CreditType kType;
  return kType;
}

}  // namespace gw::sched
