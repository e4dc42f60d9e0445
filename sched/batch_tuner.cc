#include "sched/batch_tuner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "base/error.h"

namespace gw::sched {

BatchTuner::BatchTuner(uint32_t num_workers, uint32_t nominal)
    : nominal_(nominal), speed_(num_workers), live_(num_workers, true) {
  if (nominal == 0) throw Error("batch tuning: the nominal batch must be at least 1 row");
}

void BatchTuner::Observe(uint32_t worker, uint32_t rows, Duration compute) {
  if (worker >= speed_.size() || rows == 0 || compute <= Duration::zero()) return;
  const double sample = rows / std::chrono::duration<double>(compute).count();
  auto& v = speed_[worker];
  v = v ? *v + kWeight * (sample - *v) : sample;
}

void BatchTuner::Remove(uint32_t worker) {
  if (worker < live_.size()) live_[worker] = false;
}

bool BatchTuner::tuned() const {
  bool any = false;
  for (size_t w = 0; w < speed_.size(); ++w) {
    if (!live_[w]) continue;
    if (!speed_[w]) return false;
    any = true;
  }
  return any;
}

uint32_t BatchTuner::min_batch() const { return std::max<uint32_t>(1, nominal_ / kMaxScale); }

uint32_t BatchTuner::BatchFor(uint32_t worker) const {
  if (worker >= speed_.size() || !live_[worker] || !tuned()) return nominal_;
  double total = 0;
  uint32_t live = 0;
  for (size_t w = 0; w < speed_.size(); ++w) {
    if (!live_[w]) continue;
    total += *speed_[w];
    ++live;
  }
  const double share = static_cast<double>(live) * nominal_ * *speed_[worker] / total;
  return static_cast<uint32_t>(std::clamp<double>(std::round(share), min_batch(), max_batch()));
}

std::optional<double> BatchTuner::speed(uint32_t worker) const {
  return worker < speed_.size() ? speed_[worker] : std::nullopt;
}

}  // namespace gw::sched
