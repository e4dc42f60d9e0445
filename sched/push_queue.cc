#include "sched/push_queue.h"

#include <algorithm>
#include <string>

#include "base/error.h"

namespace gw::sched {

PushQueue::PushQueue(std::unique_ptr<PushOrder> order, uint64_t partition_bytes)
    : order_(std::move(order)), partition_bytes_(partition_bytes) {
  if (const std::string why = PartitionBytesError(partition_bytes); !why.empty()) {
    throw Error("push queue: " + why);
  }
}

void PushQueue::Ready(const Tensor& t) {
  if (t.bytes == 0) throw Error("push queue: tensor " + std::to_string(t.id) + " has 0 bytes");
  if (!unwritten_.emplace(t.id, t.bytes).second) {
    throw Error("push queue: tensor " + std::to_string(t.id) +
                " is ready again before its previous gradient was wholly written");
  }
  pending_.emplace(order_->KeyOf(t.priority, readied_++), Pending{t});
  pending_bytes_ += t.bytes;
}

std::optional<Partition> PushQueue::Next() {
  if (pending_.empty()) return std::nullopt;
  const auto it = pending_.begin();
  Pending& p = it->second;
  const uint64_t left = p.tensor.bytes - p.offset;
  const uint64_t bytes = partition_bytes_ == 0 ? left : std::min(partition_bytes_, left);
  if (flight_.partitions > 0 && !order_->Admits(flight_, bytes)) return std::nullopt;
  const Partition out{p.tensor.id, p.tensor.priority, p.offset, bytes};
  p.offset += bytes;
  if (p.offset == p.tensor.bytes) pending_.erase(it);
  posted_.emplace(std::pair(out.tensor, out.offset), bytes);
  ++flight_.partitions;
  flight_.bytes += bytes;
  pending_bytes_ -= bytes;
  return out;
}

bool PushQueue::Done(const Partition& p) {
  const auto it = posted_.find({p.tensor, p.offset});
  if (it == posted_.end() || it->second != p.bytes) {
    throw Error("push queue: Done for partition [" + std::to_string(p.offset) + ", +" +
                std::to_string(p.bytes) + ") of tensor " + std::to_string(p.tensor) +
                ", which is not in flight");
  }
  posted_.erase(it);
  --flight_.partitions;
  flight_.bytes -= p.bytes;
  const auto unwritten = unwritten_.find(p.tensor);
  unwritten->second -= p.bytes;
  if (unwritten->second > 0) return false;
  unwritten_.erase(unwritten);
  return true;
}

std::optional<uint32_t> PushQueue::next_priority() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->second.tensor.priority;
}

}  // namespace gw::sched
