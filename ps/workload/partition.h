// Splitting a data set's rows across workers and cycling minibatches through a partition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gw {

// Rows of an n-row data set owned by worker rank of num_workers: a shuffle seeded with seed
// alone (the same on every process), of which rank takes the rank-th contiguous share. The
// shares are disjoint, cover all rows and differ in size by at most one.
std::vector<uint32_t> PartitionRows(size_t n, uint64_t seed, uint32_t rank, uint32_t num_workers);

// Minibatches of batch_size rows walking through a partition; each epoch visits the partition
// in an order drawn from (seed, rank, epoch) alone. The last batch of an
// epoch is short when batch_size does not divide the partition.
class BatchCycler {
 public:
  // Throws gw::Error on an empty partition or batch_size == 0.
  BatchCycler(std::vector<uint32_t> rows, size_t batch_size, uint64_t seed, uint32_t rank);

  // Row indices of the next minibatch, valid until the next call.
  std::span<const uint32_t> Next();
  // Makes the next Next() return batch number `index` (counting from 0 across epochs).
  void Seek(uint64_t index);
  // Later batches have batch_size rows, starting where the walk is (Seek then counts in them).
  // Throws gw::Error on 0.
  void SetBatchSize(size_t batch_size);
  size_t batches_per_epoch() const { return (original_.size() + batch_size_ - 1) / batch_size_; }

 private:
  std::vector<uint32_t> original_;  // the partition as given
  std::vector<uint32_t> rows_;      // in the order of epoch *shuffled_for_
  std::optional<uint64_t> shuffled_for_;
  size_t batch_size_;
  uint64_t seed_;
  uint32_t rank_;
  uint64_t epoch_ = 0;
  size_t pos_ = 0;  // next row of the current epoch; 0: the epoch has not been shuffled yet
};

}  // namespace gw
