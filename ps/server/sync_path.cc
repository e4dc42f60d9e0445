#include "ps/server/sync_path.h"

#include <algorithm>
#include <utility>

#include "base/clock.h"
#include "base/huge_pages.h"
#include "ps/aggregate.h"

namespace gw {

std::vector<SyncPath::SlotPart> SyncPath::SlotParts(const ModelLayout& layout, uint32_t rank) {
  std::vector<SlotPart> parts;
  for (const Part& p : layout.parts(rank)) {
    parts.push_back({(p.begin - layout.shard_begin(rank)) * sizeof(float), p.size * sizeof(float)});
  }
  return parts;
}

SyncPath::SyncPath(const JobConfig& job, std::vector<float> params, std::vector<SlotPart> parts)
    : job_(job),
      phantom_(job.workload.phantom),
      params_(std::move(params)),
      agg_(HugeZeroedFloats(params_.size())),
      parts_(std::move(parts)),
      parts_landed_(job.num_workers, 0),
      part_seen_(job.num_workers, std::vector<uint8_t>(parts_.size(), 0)),
      optimizer_(std::make_unique<SgdMomentum>(job.optimizer, params_.size())),
      rejected_(job.num_workers, 0),
      holding_(job.num_workers, 0),
      tainted_(job.num_workers, 0),
      in_a_row_(job.num_workers, 0) {
  // One copy per worker, made up front: the memory limit is checked at start.
  if (SendsFromSnapshots(job) && !phantom_)
    snapshots_.assign(job.num_workers, std::vector<float>(params_.size()));
}

SyncPath::Landing SyncPath::OnLanded(uint32_t w, const Imm& imm, uint64_t offset, uint64_t length,
                                     uint64_t expected) {
  const bool counts = Imm::Matches(imm.iteration_tag, expected) && imm.part < parts_.size() &&
                      !part_seen_[w][imm.part] && offset == parts_[imm.part].offset &&
                      length == parts_[imm.part].length;
  // Its bytes landed in a push that waits for its update, or over a part that already landed.
  if (holding_[w]) {
    Reject(w, Why::kTainted);
    holding_[w] = 0;
  } else if (!counts && OverlapsLanded(w, offset, length)) {
    tainted_[w] = 1;
  }
  if (!counts) return Landing::kDropped;
  part_seen_[w][imm.part] = 1;
  if (++parts_landed_[w] < parts_.size()) return Landing::kPartial;
  parts_landed_[w] = 0;
  std::fill(part_seen_[w].begin(), part_seen_[w].end(), 0);
  holding_[w] = 1;
  if (std::exchange(tainted_[w], 0)) Reject(w, Why::kTainted);
  return Landing::kWhole;
}

bool SyncPath::OverlapsLanded(uint32_t w, uint64_t offset, uint64_t length) const {
  if (length == 0) return false;
  for (size_t p = 0; p < parts_.size(); ++p) {
    if (part_seen_[w][p] && offset < parts_[p].offset + parts_[p].length &&
        parts_[p].offset < offset + length) {
      return true;
    }
  }
  return false;
}

void SyncPath::Forget(uint32_t w) {
  holding_[w] = 0;
  tainted_[w] = 0;
  parts_landed_[w] = 0;
  std::fill(part_seen_[w].begin(), part_seen_[w].end(), 0);
}

void SyncPath::Apply(const SyncRule::Decision& d, const std::vector<uint64_t>& rows) {
  if (d.apply.empty()) return;
  if (d.aggregate) {
    const std::vector<uint32_t>& summed = SumAccepted(d.apply, 0, params_.size());
    if (!summed.empty()) {
      SpendArithmetic(params_.size());
      if (phantom_) {
        optimizer_->EndStep();  // a step all the same: updates.csv counts it
      } else {
        optimizer_->Step(params_, agg_, 1.0f / static_cast<float>(summed.size()));
      }
    }
    return Settle(d.apply, rows);
  }
  // Each worker's gradient is its 1/N share of the global batch; with batch tuning, its
  // rows' share: weighted by rows / --batch (the weights still sum to N per round). Stepped
  // one by one, each is checked on its own (one more pass over its slot).
  const float scale = 1.0f / static_cast<float>(job_.num_workers);
  for (uint32_t w : d.apply) {
    if (rejected_[w]) continue;
    SpendArithmetic(2 * params_.size());  // the slot's check, then its step
    if (phantom_) {
      optimizer_->EndStep();
      continue;
    }
    if (PoisonsSum(slots_[w], job_.num_workers)) {
      Reject(w, Why::kNonFinite);
      continue;
    }
    const float weight = static_cast<float>(rows[w]) / static_cast<float>(job_.workload.batch_size);
    optimizer_->Step(params_, slots_[w], scale * weight);
  }
  Settle(d.apply, rows);
}

void SyncPath::ApplyPart(std::span<const uint32_t> from, size_t begin, size_t size) {
  if (from.empty()) return;
  const std::vector<uint32_t>& summed = SumAccepted(from, begin, size);
  if (summed.empty()) return;
  SpendArithmetic(size);
  if (phantom_) return;
  optimizer_->StepRange(std::span(params_).subspan(begin, size),
                        std::span<const float>(agg_).subspan(begin, size),
                        1.0f / static_cast<float>(summed.size()), begin);
}

void SyncPath::EndBarrier(const SyncRule::Decision& d, const std::vector<uint64_t>& rows) {
  Settle(d.apply, rows);
  optimizer_->EndStep();
}

const std::vector<uint32_t>& SyncPath::SumAccepted(std::span<const uint32_t> from, size_t begin,
                                                   size_t size) {
  summed_.clear();
  for (uint32_t w : from) {
    if (!rejected_[w]) summed_.push_back(w);
  }
  SpendArithmetic(summed_.size() * size);
  if (phantom_) return summed_;
  const std::span<float> sum = std::span(agg_).subspan(begin, size);
  while (true) {
    part_slots_.clear();  // reused: no allocation per part once it has grown
    for (uint32_t w : summed_) part_slots_.push_back(slots_[w].subspan(begin, size));
    if (SumSlots(sum, part_slots_, SumBound(summed_.size()))) return summed_;
    // Whose values made it non-finite or too large: a NaN or Inf, or a value so large that
    // its slot alone could bring the sum to the bound (aggregate.h).
    const size_t before = summed_.size();
    std::erase_if(summed_, [&](uint32_t w) {
      if (!PoisonsSum(slots_[w].subspan(begin, size), before)) return false;
      Reject(w, Why::kNonFinite);
      return true;
    });
    if (summed_.size() == before) {
      // Not reachable (some slot always holds a value over PoisonsSum's bound); should a slot
      // change under the sum (a worker writing into it now), none of this sum is applied.
      for (uint32_t w : summed_) Reject(w, Why::kNonFinite);
      summed_.clear();
    }
  }
}

void SyncPath::SpendArithmetic(size_t floats) const {
  if (job_.aggregate_bytes_per_s <= 0) return;
  const double seconds = static_cast<double>(floats * sizeof(float)) / job_.aggregate_bytes_per_s;
  GetClock().SleepFor(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

void SyncPath::Reject(uint32_t w, Why why) {
  if (rejected_[w]) return;
  rejected_[w] = 1;
  ++(why == Why::kNonFinite ? rejected_nonfinite_ : rejected_tainted_);
  newly_rejected_.push_back({w, ++in_a_row_[w], why});
}

void SyncPath::Settle(std::span<const uint32_t> apply, const std::vector<uint64_t>& rows) {
  for (uint32_t w : apply) {
    holding_[w] = 0;
    if (rejected_[w]) {
      rejected_[w] = 0;
      continue;
    }
    in_a_row_[w] = 0;
    ++gradients_applied_;
    rows_applied_ += rows[w];
  }
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
