#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/error.h"
#include "ps/aggregate.h"

namespace gw {
namespace {

std::vector<std::span<const float>> Spans(const std::vector<std::vector<float>>& data) {
  return {data.begin(), data.end()};
}

TEST(SumSlots, ExactForSmallIntegers) {
  std::mt19937 rng(7);
  // Lengths straddle the vector width and the internal block size (odd, prime, > 2 blocks).
  for (size_t len : {0, 1, 3, 7, 17, 31, 1001, 2047, 2049, 4099, 10007}) {
    for (size_t k = 0; k <= 9; ++k) {
      std::vector<std::vector<float>> slots(k, std::vector<float>(len));
      std::vector<float> expected(len, 0.0f);
      for (auto& slot : slots) {
        for (size_t i = 0; i < len; ++i) {
          slot[i] = static_cast<float>(static_cast<int>(rng() % 2001) - 1000);
          expected[i] += slot[i];
        }
      }
      std::vector<float> out(len, 12345.0f);  // overwritten, not accumulated into
      SumSlots(out, Spans(slots));
      for (size_t i = 0; i < len; ++i) {
        ASSERT_EQ(out[i], expected[i]) << "len " << len << " slots " << k << " at " << i;
      }
    }
  }
}

TEST(SumSlots, MatchesDoubleReferenceForRandomFloats) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t len = 5003;
  for (size_t k = 1; k <= 9; ++k) {
    std::vector<std::vector<float>> slots(k, std::vector<float>(len));
    for (auto& slot : slots) {
      for (float& x : slot) x = normal(rng);
    }
    std::vector<float> out(len);
    SumSlots(out, Spans(slots));
    for (size_t i = 0; i < len; ++i) {
      double ref = 0, mag = 0;
      for (const auto& slot : slots) {
        ref += slot[i];
        mag += std::abs(slot[i]);
      }
      ASSERT_NEAR(out[i], ref, 1e-6 * k * mag + 1e-30) << "slots " << k << " at " << i;
    }
  }
}

TEST(SumSlots, SizeMismatchThrows) {
  std::vector<float> out(8);
  std::vector<std::vector<float>> slots(5, std::vector<float>(8, 1.0f));
  slots[4].resize(7);
  EXPECT_THROW(SumSlots(out, Spans(slots)), Error);
  slots[4].resize(9);
  EXPECT_THROW(SumSlots(out, Spans(slots)), Error);
  slots[4].assign(8, 1.0f);
  SumSlots(out, Spans(slots));
  EXPECT_EQ(out[7], 5.0f);
}

}  // namespace
}  // namespace gw
