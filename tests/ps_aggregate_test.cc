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

// The sum says whether it is finite, for NaN or Inf in any slot anywhere (first block, last,
// past the block size) and for finite values whose sum overflows; PoisonsSum names the slot.
TEST(SumSlots, SaysWhetherEverySumIsFiniteAndPoisonsSumNamesTheSlot) {
  constexpr size_t kLen = 5003;  // more than two internal blocks and a tail past the last vector
  for (size_t k : {1, 2, 5, 8}) {
    for (size_t at : {size_t{0}, size_t{2047}, size_t{2048}, kLen - 1}) {
      for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
        std::vector<std::vector<float>> slots(k, std::vector<float>(kLen, 1.5f));
        std::vector<float> out(kLen);
        EXPECT_TRUE(SumSlots(out, Spans(slots)));
        slots[k - 1][at] = bad;
        EXPECT_FALSE(SumSlots(out, Spans(slots))) << k << " slots, " << bad << " at " << at;
        EXPECT_TRUE(PoisonsSum(slots[k - 1], k));
        if (k > 1) {
          EXPECT_FALSE(PoisonsSum(slots[0], k));
        }
      }
    }
  }
  std::vector<std::vector<float>> huge(2, std::vector<float>(10, 1.0f));
  huge[0][3] = huge[1][3] = 3e38f;  // finite, but their sum is not
  std::vector<float> out(10);
  EXPECT_FALSE(SumSlots(out, Spans(huge)));
  EXPECT_TRUE(PoisonsSum(huge[0], 2));
  EXPECT_FALSE(PoisonsSum(std::vector<float>(10, 1e30f), 2));
  // 1e38 from one of four: finite, and so is the sum, but a mean of it wrecks the model; it
  // reaches the sum's bound, and PoisonsSum names its slot alone.
  std::vector<std::vector<float>> four(4, std::vector<float>(10, 0.25f));
  four[2][7] = 1e38f;
  EXPECT_TRUE(SumSlots(out, Spans(four))) << "finite";
  EXPECT_FALSE(SumSlots(out, Spans(four), SumBound(4)));
  EXPECT_TRUE(PoisonsSum(four[2], 4));
  EXPECT_FALSE(PoisonsSum(four[0], 4));
  four[2][7] = -1e38f;
  EXPECT_FALSE(SumSlots(out, Spans(four), SumBound(4))) << "the sign does not matter";
  four[2][7] = 1e30f;
  EXPECT_TRUE(SumSlots(out, Spans(four), SumBound(4)));
  EXPECT_FALSE(PoisonsSum(four[2], 4));
  EXPECT_TRUE(SumSlots(out, {}));
  std::vector<float> v(37, -2.5f);
  EXPECT_TRUE(AllFinite(v));
  for (float bad : {std::nanf(""), -std::nanf(""), INFINITY, -INFINITY}) {
    v[36] = bad;
    EXPECT_FALSE(AllFinite(v)) << bad;
  }
  v[36] = 3.4e38f;
  EXPECT_TRUE(AllFinite(v)) << "huge is still finite";
}

// The benchmark's reference sum is the same sum, for every count of slots (each pass takes
// up to four; the check rides only on a block's last one).
TEST(SumSlots, TheUncheckedSumIsTheSameSum) {
  for (size_t k = 1; k <= 9; ++k) {
    std::vector<std::vector<float>> slots(k, std::vector<float>(5003));
    for (size_t w = 0; w < k; ++w) {
      for (size_t i = 0; i < slots[w].size(); ++i) {
        slots[w][i] = static_cast<float>((w + 1) * (i % 97)) * 0.25f;
      }
    }
    std::vector<float> checked(5003), unchecked(5003, -1.0f);
    EXPECT_TRUE(SumSlots(checked, Spans(slots)));
    SumSlotsUnchecked(unchecked, Spans(slots));
    EXPECT_EQ(checked, unchecked) << k << " slots";
  }
}

}  // namespace
}  // namespace gw
