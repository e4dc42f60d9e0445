#include "sched/iteration_estimator.h"

#include <algorithm>
#include <cmath>

#include "sched/window_spec.h"

namespace gw::sched {

IterationEstimator::IterationEstimator(uint32_t warmup) : warmup_(warmup) {}

void IterationEstimator::Observe(Duration iteration, Duration blocked) {
  const double sample =
      static_cast<double>(std::max(iteration - blocked, Duration::zero()).count());
  const uint64_t index = count_++;  // 0-based
  if (index < WindowSpec::kSkippedIterations) return;
  if (index < warmup_) {
    ++counted_;
    mean_ns_ += (sample - mean_ns_) / static_cast<double>(counted_);
  } else {
    mean_ns_ += kWeight * (sample - mean_ns_);
  }
}

Duration IterationEstimator::value() const { return Duration(std::llround(mean_ns_)); }

}  // namespace gw::sched
