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

uint64_t PushQueue::PartitionBytesAt(const Tensor& t, uint64_t offset) const {
  const uint64_t left = t.bytes - offset;
  return partition_bytes_ == 0 ? left : std::min(partition_bytes_, left);
}

void PushQueue::Ready(const Tensor& t) {
  if (t.bytes == 0) throw Error("push queue: tensor " + std::to_string(t.id) + " has 0 bytes");
  const auto [it, fresh] = unwritten_.try_emplace(t.id, Unwritten{t});
  if (!fresh) {
    throw Error("push queue: tensor " + std::to_string(t.id) +
                " is ready again before its previous gradient was wholly written");
  }
  pending_.emplace(order_->KeyOf(t.priority, readied_++), &it->second);
}

std::optional<Partition> PushQueue::Next(bool unlimited) {
  if (pending_.empty()) return std::nullopt;
  const auto first = pending_.begin();
  Unwritten& u = *first->second;
  const uint64_t bytes = PartitionBytesAt(u.tensor, u.handed_out);
  if (!unlimited && flight_.partitions > 0 && !order_->Admits(flight_, bytes)) return std::nullopt;
  const Partition out{u.tensor.id, u.tensor.priority, u.handed_out, bytes};
  u.handed_out += bytes;
  if (u.handed_out == u.tensor.bytes) pending_.erase(first);
  ++flight_.partitions;
  flight_.bytes += bytes;
  return out;
}

bool PushQueue::Done(const Partition& p) {
  const auto it = unwritten_.find(p.tensor);
  // Handed out: inside the prefix, on a partition boundary, with that partition's length.
  const bool handed_out =
      it != unwritten_.end() && p.offset < it->second.handed_out &&
      (partition_bytes_ == 0 ? p.offset == 0 : p.offset % partition_bytes_ == 0) &&
      p.bytes == PartitionBytesAt(it->second.tensor, p.offset) &&
      it->second.done + p.bytes <= it->second.handed_out;
  if (!handed_out) {
    throw Error("push queue: Done for partition [" + std::to_string(p.offset) + ", +" +
                std::to_string(p.bytes) + ") of tensor " + std::to_string(p.tensor) +
                ", which is not in flight");
  }
  --flight_.partitions;
  flight_.bytes -= p.bytes;
  Unwritten& u = it->second;
  u.done += p.bytes;
  if (u.done < u.tensor.bytes) return false;
  unwritten_.erase(it);
  return true;
}

std::optional<uint32_t> PushQueue::next_priority() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->second->tensor.priority;
}

}  // namespace gw::sched
