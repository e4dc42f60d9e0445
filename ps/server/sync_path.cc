#include "ps/server/sync_path.h"

#include <algorithm>
#include <utility>

#include "base/huge_pages.h"
#include "ps/aggregate.h"

namespace gw {

SyncPath::SyncPath(const JobConfig& job, std::vector<float> params, uint32_t parts)
    : job_(job),
      params_(std::move(params)),
      agg_(HugeZeroedFloats(params_.size())),
      parts_(parts),
      parts_landed_(job.num_workers, 0),
      part_seen_(job.num_workers, std::vector<uint8_t>(parts, 0)),
      optimizer_(std::make_unique<SgdMomentum>(job.optimizer, params_.size())) {
  // One copy per worker, made up front: the memory limit is checked at start.
  if (SendsFromSnapshots(job))
    snapshots_.assign(job.num_workers, std::vector<float>(params_.size()));
}

SyncPath::Landing SyncPath::OnLanded(uint32_t w, const Imm& imm, uint64_t expected) {
  if (!Imm::Matches(imm.iteration_tag, expected) || imm.part >= parts_) return Landing::kDropped;
  uint8_t& seen = part_seen_[w][imm.part];
  if (seen) return Landing::kDropped;
  seen = 1;
  if (++parts_landed_[w] < parts_) return Landing::kPartial;
  parts_landed_[w] = 0;
  std::fill(part_seen_[w].begin(), part_seen_[w].end(), 0);
  return Landing::kWhole;
}

void SyncPath::Apply(const SyncRule::Decision& d, const std::vector<uint64_t>& rows) {
  gradients_applied_ += d.apply.size();
  for (uint32_t w : d.apply) rows_applied_ += rows[w];
  if (d.apply.empty()) return;
  if (d.aggregate) {
    std::vector<std::span<const float>> slots;
    for (uint32_t w : d.apply) slots.push_back(slots_[w]);
    SumSlots(agg_, slots);
    optimizer_->Step(params_, agg_, 1.0f / static_cast<float>(d.apply.size()));
    return;
  }
  // Each worker's gradient is its 1/N share of the global batch; with batch tuning, its
  // rows' share: weighted by rows / --batch (the weights still sum to N per round).
  const float scale = 1.0f / static_cast<float>(job_.num_workers);
  for (uint32_t w : d.apply) {
    const float weight = static_cast<float>(rows[w]) / static_cast<float>(job_.workload.batch_size);
    optimizer_->Step(params_, slots_[w], scale * weight);
  }
}

void SyncPath::ApplyPart(std::span<const uint32_t> from, size_t begin, size_t size) {
  if (from.empty()) return;
  part_slots_.clear();  // reused: no allocation per part once it has grown
  for (uint32_t w : from) part_slots_.push_back(slots_[w].subspan(begin, size));
  const std::span<float> sum = std::span(agg_).subspan(begin, size);
  SumSlots(sum, part_slots_);
  optimizer_->StepRange(std::span(params_).subspan(begin, size), sum,
                        1.0f / static_cast<float>(from.size()), begin);
}

void SyncPath::EndBarrier(const SyncRule::Decision& d, const std::vector<uint64_t>& rows) {
  gradients_applied_ += d.apply.size();
  for (uint32_t w : d.apply) rows_applied_ += rows[w];
  optimizer_->EndStep();
}

std::span<const float> SyncPath::ReleaseSource(uint32_t w) {
  if (snapshots_.empty()) return params_;
  std::copy(params_.begin(), params_.end(), snapshots_[w].begin());
  return snapshots_[w];
}

void SyncPath::Restore(const Checkpoint& c) {
  params_ = c.params;
  optimizer_->Restore(c.velocity, c.optimizer_steps);
}

}  // namespace gw
