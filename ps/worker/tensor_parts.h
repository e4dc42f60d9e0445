// Which parts of the model layout each tensor of a workload that runs its own passes
// (Workload::own_tensors) touches: a forward pass reading tensor t waits for the parts holding
// its floats; a part is pushed once every tensor holding some of its floats has its gradient,
// in whatever order the framework's backward pass finishes them.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "ps/layout.h"
#include "ps/results.h"
#include "ps/worker/landed_parts.h"
#include "ps/workload/workload.h"

namespace gw {

class TensorParts {
 public:
  // tensors cover layout's model in order (gw::Error otherwise).
  TensorParts(std::span<const TensorRange> tensors, const ModelLayout& layout);

  size_t num_tensors() const { return tensor_parts_.size(); }
  // The (server, part) pairs holding some of tensor t's floats.
  const std::vector<std::pair<uint32_t, uint32_t>>& Parts(size_t t) const {
    return tensor_parts_[t];
  }
  // The first tensor holding some of server s's part p: its push priority (forward order).
  uint32_t PartTensor(uint32_t s, uint32_t p) const { return part_tensor_[s][p]; }

  // A new iteration: no tensor has its gradient.
  void Reset();
  // Tensor t has its gradient: appends the parts that are now complete to *ready. A tensor
  // reported twice in one iteration, or out of range, is ignored (false).
  bool Ready(size_t t, std::vector<std::pair<uint32_t, uint32_t>>* ready);
  // Appends every part not complete yet (tensors that got no gradient: unused in the pass).
  void RestReady(std::vector<std::pair<uint32_t, uint32_t>>* ready);

  // Each tensor's push start and end (a part's writes count for its first tensor, as its
  // priority does) and parameter landing in *records (one per tensor), as Backprop::Finish.
  void Finish(std::span<const WriteRecord> writes, TimePoint push_start, TimePoint start,
              const LandedParts& landed, std::vector<LayerRecord>* records) const;

 private:
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> tensor_parts_;
  std::vector<std::vector<uint32_t>> part_tensor_;   // [server][part]
  std::vector<std::vector<uint32_t>> part_holders_;  // [server][part]: tensors holding it
  std::vector<std::vector<uint32_t>> missing_;       // [server][part]: tensors still to come
  std::vector<bool> ready_;                          // [tensor]
};

}  // namespace gw
