#include "ps/workload/partition.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <string>

#include "base/error.h"

namespace gw {

std::vector<uint32_t> PartitionRows(size_t n, uint64_t seed, uint32_t rank, uint32_t num_workers) {
  if (rank >= num_workers) {
    throw Error("worker rank " + std::to_string(rank) + " out of range for " +
                std::to_string(num_workers) + " workers");
  }
  std::vector<uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  std::mt19937_64 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  const size_t begin = n * rank / num_workers;
  const size_t end = n * (rank + 1) / num_workers;
  return {all.begin() + begin, all.begin() + end};
}

BatchCycler::BatchCycler(std::vector<uint32_t> rows, size_t batch_size, uint64_t seed,
                         uint32_t rank)
    : original_(std::move(rows)), batch_size_(batch_size), seed_(seed), rank_(rank) {
  if (original_.empty()) throw Error("worker " + std::to_string(rank) + " has no training rows");
  if (batch_size_ == 0) throw Error("batch size must be positive");
}

void BatchCycler::Seek(uint64_t index) {
  epoch_ = index / batches_per_epoch();
  pos_ = static_cast<size_t>(index % batches_per_epoch()) * batch_size_;
}

void BatchCycler::SetBatchSize(size_t batch_size) {
  if (batch_size == 0) throw Error("batch size must be positive");
  batch_size_ = batch_size;
}

std::span<const uint32_t> BatchCycler::Next() {
  if (!shuffled_for_ || *shuffled_for_ != epoch_) {
    // Each epoch's order is a function of (seed, rank, epoch) alone, so Seek can jump to any
    // batch and replicas of a partition on different workers agree.
    rows_ = original_;
    std::seed_seq seq{static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32), rank_,
                      static_cast<uint32_t>(epoch_), static_cast<uint32_t>(epoch_ >> 32)};
    std::mt19937_64 rng(seq);
    std::shuffle(rows_.begin(), rows_.end(), rng);
    shuffled_for_ = epoch_;
  }
  const size_t size = std::min(batch_size_, rows_.size() - pos_);
  const std::span<const uint32_t> batch(rows_.data() + pos_, size);
  pos_ += size;
  if (pos_ == rows_.size()) {
    pos_ = 0;
    ++epoch_;
  }
  return batch;
}

}  // namespace gw
