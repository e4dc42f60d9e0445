#include "ps/worker/tensor_parts.h"

#include <string>

#include "ps/worker/model_ranges.h"
#include "ps/worker/range_records.h"

namespace gw {

TensorParts::TensorParts(std::span<const TensorRange> tensors, const ModelLayout& layout)
    : tensor_parts_(tensors.size()),
      part_tensor_(layout.num_servers()),
      part_holders_(layout.num_servers()),
      ready_(tensors.size(), false) {
  CheckRangesTileModel(tensors, layout, "tensors", [](const TensorRange& t) {
    return "tensor at float " + std::to_string(t.begin);
  });
  for (uint32_t s = 0; s < layout.num_servers(); ++s) {
    const auto& parts = layout.parts(s);
    for (uint32_t p = 0; p < parts.size(); ++p) {
      const size_t begin = parts[p].begin, end = parts[p].begin + parts[p].size;
      std::vector<uint32_t> holders;
      for (uint32_t t = 0; t < tensors.size(); ++t) {
        if (tensors[t].begin < end && begin < tensors[t].begin + tensors[t].size) {
          holders.push_back(t);
          tensor_parts_[t].emplace_back(s, p);
        }
      }
      part_tensor_[s].push_back(holders.empty() ? 0 : holders.front());
      part_holders_[s].push_back(static_cast<uint32_t>(holders.size()));
    }
  }
  Reset();
}

void TensorParts::Reset() {
  missing_ = part_holders_;
  ready_.assign(ready_.size(), false);
}

bool TensorParts::Ready(size_t t, std::vector<std::pair<uint32_t, uint32_t>>* ready) {
  if (t >= ready_.size() || ready_[t]) return false;
  ready_[t] = true;
  for (const auto& [s, p] : tensor_parts_[t]) {
    if (--missing_[s][p] == 0) ready->emplace_back(s, p);
  }
  return true;
}

void TensorParts::RestReady(std::vector<std::pair<uint32_t, uint32_t>>* ready) {
  for (size_t t = 0; t < ready_.size(); ++t) Ready(t, ready);
}

void TensorParts::Finish(std::span<const WriteRecord> writes, TimePoint push_start, TimePoint start,
                         const LandedParts& landed, std::vector<LayerRecord>* records) const {
  RecordPushesAndLanding(writes, push_start, start, landed, {part_tensor_, tensor_parts_}, records);
}

}  // namespace gw
