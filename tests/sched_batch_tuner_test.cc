// BatchTuner (sched/batch_tuner.h): R2SP's per-worker batch sizes from measured speeds.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>

#include "base/error.h"
#include "sched/batch_tuner.h"

namespace gw::sched {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kNominal = 64;

// Every worker computes its current batch at `ms_per_nominal[w]` per nominal batch, n times.
void Iterate(BatchTuner& t, const std::vector<double>& ms_per_nominal, int n) {
  for (int i = 0; i < n; ++i) {
    for (uint32_t w = 0; w < ms_per_nominal.size(); ++w) {
      const uint32_t rows = t.BatchFor(w);
      const double ms = ms_per_nominal[w] * rows / kNominal;
      t.Observe(
          w, rows,
          std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms)));
    }
  }
}

uint32_t Sum(const BatchTuner& t, uint32_t n) {
  uint32_t s = 0;
  for (uint32_t w = 0; w < n; ++w) s += t.BatchFor(w);
  return s;
}

TEST(BatchTuner, NominalUntilEveryLiveWorkerIsMeasured) {
  BatchTuner t(3, kNominal);
  EXPECT_FALSE(t.tuned());
  t.Observe(0, kNominal, milliseconds(50));
  t.Observe(1, kNominal, milliseconds(200));
  EXPECT_FALSE(t.tuned());
  for (uint32_t w = 0; w < 3; ++w) EXPECT_EQ(t.BatchFor(w), kNominal) << w;
  t.Remove(2);  // the unmeasured one left: the others are tuned between themselves
  EXPECT_TRUE(t.tuned());
  EXPECT_GT(t.BatchFor(0), kNominal);
  EXPECT_LT(t.BatchFor(1), kNominal);
}

// The hetero-compute experiment's shape: 8 workers, 1 and 2 four times slower. Fast workers
// get 4x the slow ones' rows, the global batch stays 8 x 64, and every worker's compute time
// per iteration comes out the same (to rounding).
TEST(BatchTuner, SlowWorkersGetSmallerBatchesAndComputeTimesEqualise) {
  const std::vector<double> ms = {50, 200, 200, 50, 50, 50, 50, 50};
  BatchTuner t(8, kNominal);
  Iterate(t, ms, 3);
  ASSERT_TRUE(t.tuned());
  // v = 64/50 and 64/200 rows per ms: shares 8·64·v/Σv = 78.8 and 19.7.
  EXPECT_EQ(t.BatchFor(0), 79u);
  EXPECT_EQ(t.BatchFor(1), 20u);
  EXPECT_EQ(t.BatchFor(2), 20u);
  EXPECT_NEAR(Sum(t, 8), 8 * kNominal, 2);
  for (uint32_t w = 0; w < 8; ++w) {
    EXPECT_NEAR(ms[w] * t.BatchFor(w) / kNominal, 61.5, 1.5) << "worker " << w;
  }
}

TEST(BatchTuner, ALeavingWorkersShareGoesToTheOthers) {
  BatchTuner t(4, kNominal);
  Iterate(t, {100, 100, 100, 100}, 2);
  for (uint32_t w = 0; w < 4; ++w) EXPECT_EQ(t.BatchFor(w), kNominal);
  t.Remove(3);
  EXPECT_EQ(t.BatchFor(3), kNominal) << "a removed worker is not tuned";
  EXPECT_EQ(Sum(t, 3), 3 * kNominal) << "the global batch is live x nominal";
}

TEST(BatchTuner, BatchesStayWithinTheClamp) {
  BatchTuner t(4, kNominal);
  Iterate(t, {1, 1, 1, 100000}, 3);  // worker 3 all but stopped
  EXPECT_EQ(t.BatchFor(3), kNominal / BatchTuner::kMaxScale);
  EXPECT_LE(t.BatchFor(0), kNominal * BatchTuner::kMaxScale);
  BatchTuner one(2, 1);
  Iterate(one, {1, 100000}, 3);
  EXPECT_EQ(one.BatchFor(1), 1u) << "never below one row";
}

// A worker slowed down mid-run: its batch follows within ~10 iterations, not at once (one
// slow sample moves the speed by kWeight of its excess).
TEST(BatchTuner, FollowsASpeedChangeGradually) {
  BatchTuner t(2, kNominal);
  Iterate(t, {100, 100}, 5);
  ASSERT_EQ(t.BatchFor(1), kNominal);
  Iterate(t, {100, 300}, 1);
  const uint32_t after_one = t.BatchFor(1);
  EXPECT_LT(after_one, kNominal);
  EXPECT_GT(after_one, 40u) << "one sample moves it by a fifth";
  Iterate(t, {100, 300}, 30);
  // Shares 2·64·(1/100)/(1/100 + 1/300) = 96 and 32.
  EXPECT_NEAR(t.BatchFor(1), 32, 1);
  EXPECT_NEAR(t.BatchFor(0), 96, 1);
}

TEST(BatchTuner, IgnoresEmptySamplesAndRejectsAZeroNominal) {
  BatchTuner t(2, kNominal);
  t.Observe(0, 0, milliseconds(10));
  t.Observe(1, kNominal, Duration::zero());
  t.Observe(7, kNominal, milliseconds(10));  // no such worker
  EXPECT_FALSE(t.speed(0).has_value());
  EXPECT_FALSE(t.speed(1).has_value());
  EXPECT_THROW(BatchTuner(2, 0), Error);
}

}  // namespace
}  // namespace gw::sched
