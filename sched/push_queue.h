// The worker's side of pushing a gradient tensor by tensor: which partition to write next.
// Backprop produces the tensors last layer first, and each becomes pushable the moment it
// exists (Ready); the queue slices it into partitions of at most partition_bytes (the last one
// may be shorter; 0: whole tensors) and hands them out one at a time (Next) in the order its
// PushOrder (sched/push_order.h) decides, as far as that order lets more go in flight; the
// caller reports each completed write (Done). Pure: no I/O, no clock; the caller posts what
// Next returns and calls Next again after every Ready and Done.
//
// Guarantees, whatever the order: every byte of every ready tensor is handed out exactly once,
// a tensor's partitions in offset order covering it; and the queue never stalls: with nothing
// in flight, Next returns a partition whenever one is pending.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "sched/push_order.h"

namespace gw::sched {

struct Tensor {
  uint32_t id;        // the caller's name for it, unique among tensors not wholly written
  uint32_t priority;  // its layer's index in forward order: lower = needed sooner
  uint64_t bytes;     // > 0
};

struct Partition {
  uint32_t tensor;  // Tensor::id
  uint32_t priority;
  uint64_t offset;  // into the tensor
  uint64_t bytes;

  bool operator==(const Partition&) const = default;
};

class PushQueue {
 public:
  // Throws gw::Error if PartitionBytesError(partition_bytes) says why not.
  PushQueue(std::unique_ptr<PushOrder> order, uint64_t partition_bytes);

  // Backprop produced t. Throws gw::Error for an empty tensor or one whose previous gradient is
  // not wholly written yet (its id still has bytes pending or in flight).
  void Ready(const Tensor& t);
  // The partition to post now, or nullopt: nothing pending, or the order holds it back until
  // something in flight is Done. The partition counts as in flight from here on. With
  // `unlimited` the order only ranks: its in-flight limit is not applied (a per-partition
  // window, sched/window_scheduler.h, bounds what is in flight instead).
  std::optional<Partition> Next(bool unlimited = false);
  // p's write completed. True if that was the last of its tensor: the tensor is wholly
  // written. Throws gw::Error if p is not a partition Next handed out of a tensor not yet
  // wholly written (a partition Done twice is caught at the latest by its tensor's last Done).
  bool Done(const Partition& p);

  // The priority of the partition Next would hand out if the order let it (for a window
  // request: sched/window_scheduler.h), or nullopt if nothing is pending.
  std::optional<uint32_t> next_priority() const;
  const Flight& in_flight() const { return flight_; }
  bool idle() const { return unwritten_.empty(); }

 private:
  // A tensor not wholly written. Partitions are handed out in offset order, so what was handed
  // out is a prefix, and the partition at each offset follows from the tensor's size alone.
  struct Unwritten {
    Tensor tensor;
    uint64_t handed_out = 0;  // Next handed out [0, handed_out)
    uint64_t done = 0;        // bytes Done
  };
  uint64_t PartitionBytesAt(const Tensor& t, uint64_t offset) const;

  std::unique_ptr<PushOrder> order_;
  uint64_t partition_bytes_;
  // By tensor id; an unordered_map's elements keep their address, which pending_ holds.
  std::unordered_map<uint32_t, Unwritten> unwritten_;
  std::map<OrderKey, Unwritten*> pending_;  // those with bytes not handed out, in order
  Flight flight_;
  uint64_t readied_ = 0;  // Ready calls so far: the next tensor's place in ready order
};

}  // namespace gw::sched
