// R2SP's per-worker batch tuning for heterogeneous workers (Chen, Wang, Li, INFOCOM 2019, §V):
// each worker's minibatch is sized by its processing speed so that all workers compute an
// iteration in about the same time, while the global batch (the sum over live workers) stays
// what it was untuned, live · nominal.
//
// Speed is measured, not configured: each worker reports the rows and the compute time of its
// previous iteration (gradient computation plus any emulated straggler delay: the part of an
// iteration that grows with the batch; pushes and waits do not). A sample is rows / time;
// a worker's speed is an exponentially weighted mean of its samples (weight kWeight), seeded
// with its first. Speed does not depend on the batch it was measured at (up to per-iteration
// overhead), so re-sizing does not feed back into the measurement.
//
// Batches: b_w = live · nominal · v_w / Σ v (live workers with a speed), rounded to nearest and
// clamped to [max(1, nominal / kMaxScale), nominal · kMaxScale]: a worker measured as nearly
// stopped (a pause, a swapped-out process) is not handed a batch of 1 row forever, nor a fast
// one all the data. Until every live worker has a speed, everyone keeps the nominal batch.
// Pure state machine: no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sched/time.h"

namespace gw::sched {

class BatchTuner {
 public:
  static constexpr double kWeight = 0.2;  // follows a changed speed within ~10 iterations
  static constexpr uint32_t kMaxScale = 8;
  static_assert(kWeight > 0 && kWeight <= 1);

  // nominal >= 1 (throws gw::Error otherwise).
  BatchTuner(uint32_t num_workers, uint32_t nominal);

  // Worker w computed `rows` rows in `compute`. Ignored when rows == 0 or compute <= 0.
  void Observe(uint32_t worker, uint32_t rows, Duration compute);
  // Worker w left the job (done, lost): it no longer counts in the global batch.
  void Remove(uint32_t worker);

  // Rows worker w is to use in its next iteration.
  uint32_t BatchFor(uint32_t worker) const;
  // Every live worker has a speed (batches are tuned; before that, all are nominal).
  bool tuned() const;
  // Worker w's speed in rows per second, if measured.
  std::optional<double> speed(uint32_t worker) const;
  uint32_t nominal() const { return nominal_; }
  uint32_t min_batch() const;
  uint32_t max_batch() const { return nominal_ * kMaxScale; }

 private:
  uint32_t nominal_;
  std::vector<std::optional<double>> speed_;  // rows per second
  std::vector<bool> live_;
};

}  // namespace gw::sched
