// The interface one push order implements (the orders are described in
// sched/push_order_spec.h). PushQueue (sched/push_queue.h) owns the tensors, their partitions
// and what is in flight; the order decides two things: where a tensor that became ready stands
// (a key fixed from then on: the partitions of one tensor always go in offset order), and
// whether one more partition may be posted given what is in flight. Stateless parts (name,
// keys) live in PushOrderType; an order is one file holding both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "sched/push_order_spec.h"

namespace gw::sched {

// A ready tensor's place in the order: the pending tensor with the smallest key goes next.
using OrderKey = std::pair<uint64_t, uint64_t>;

// What a worker has posted and not yet seen completed.
struct Flight {
  uint64_t partitions = 0;
  uint64_t bytes = 0;
};

class PushOrder {
 public:
  virtual ~PushOrder() = default;

  // The key of a tensor of this priority (lower: needed sooner by the next forward pass) that
  // became ready `ready`-th (0, 1, … over the queue's life). Keys must be unique; `ready` is.
  virtual OrderKey KeyOf(uint32_t priority, uint64_t ready) const = 0;
  // Whether a partition of `bytes` may be posted now with `flight` in flight. Only asked while
  // something is in flight: with nothing in flight the queue always posts, so no order stalls.
  virtual bool Admits(const Flight& flight, uint64_t bytes) const = 0;
};

// The order of the priority-driven policies: lowest priority value first, ties in ready order.
inline OrderKey PriorityFirst(uint32_t priority, uint64_t ready) { return {priority, ready}; }

class PushOrderType {
 public:
  virtual ~PushOrderType() = default;

  virtual std::string_view name() const = 0;   // as in the text: "priority"
  virtual std::string_view forms() const = 0;  // for errors: "priority[:inflight=N]"
  // Takes the order's keys into *s (name set, other fields at their defaults); errors go to
  // keys.Bad.
  virtual void TakeKeys(PushOrderKeys& keys, PushOrderSpec* s) const = 0;
  // The keys after "name:", every one written; "" for an order without keys.
  virtual std::string KeysToString(const PushOrderSpec& s) const = 0;
  virtual std::unique_ptr<PushOrder> Make(const PushOrderSpec& s) const = 0;
};

}  // namespace gw::sched
