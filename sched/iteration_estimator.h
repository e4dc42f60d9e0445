// T_iter for R2SP's gap: worker 0's iteration time minus the time it was blocked, as the
// authors' coordinator measures it. Iterations 1..4 are start-up and not counted; from the
// 5th to the end of warm-up the estimate is their plain mean (the authors' rule); after
// warm-up it is an exponentially weighted mean seeded with that value.
//
// Why exponentially weighted: a running mean over all iterations weighs iteration k by 1/k,
// so after a few hundred iterations it no longer follows a change (a slowed link, a removed
// worker, a new batch size) for about as many iterations again. With weight kWeight the
// estimate closes 1 − (1 − kWeight)^k of a step in k iterations (65 % in 10, 95 % in 29),
// while one outlier iteration (a GC pause, a straggler) moves it by only kWeight of its excess.
#pragma once

#include <cstdint>

#include "sched/time.h"

namespace gw::sched {

class IterationEstimator {
 public:
  static constexpr double kWeight = 0.1;
  static_assert(kWeight > 0 && kWeight < 1);

  // ready() once `warmup` iterations were observed (warmup > WindowSpec::kSkippedIterations).
  explicit IterationEstimator(uint32_t warmup);

  // One iteration of worker 0: its length and the part of it spent blocked (waiting for a
  // window or for parameters). A sample is max(iteration − blocked, 0).
  void Observe(Duration iteration, Duration blocked);

  bool ready() const { return count_ >= warmup_; }
  // The estimate of T_iter; zero until the first counted iteration.
  Duration value() const;
  uint64_t count() const { return count_; }

 private:
  uint32_t warmup_;
  uint64_t count_ = 0;    // iterations observed
  uint64_t counted_ = 0;  // of those, in the warm-up mean
  double mean_ns_ = 0;
};

}  // namespace gw::sched
