#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <span>
#include <vector>

#include "base/error.h"
#include "ps/optimizer.h"

namespace gw {
namespace {

OptimizerSpec Spec(double momentum, double weight_decay, const std::string& lr, double base) {
  return {momentum, weight_decay, LrSchedule::Parse(lr, base)};
}

TEST(SgdMomentum, OneStepByHand) {
  SgdMomentum opt(Spec(0.9, 0.1, "const", 0.1), 2);
  std::vector<float> p = {1.0f, 2.0f};
  const std::vector<float> g = {0.5f, -1.0f};
  opt.Step(p, g, 0.5f);
  // v = 0.5 * g + 0.1 * p = {0.35, -0.3};  p -= 0.1 * v
  EXPECT_FLOAT_EQ(p[0], 0.965f);
  EXPECT_FLOAT_EQ(p[1], 2.03f);
  EXPECT_EQ(opt.steps(), 1u);
}

TEST(SgdMomentum, MomentumAccumulatesOverThreeSteps) {
  // Odd length so Eigen's vector body and scalar tail both run; lr halves every step, so
  // using the wrong step's lr shows. v = 1, 1.9, 2.71; lr = 0.1, 0.05, 0.025.
  const size_t n = 37;
  SgdMomentum opt(Spec(0.9, 0.0, "step:every=1,gamma=0.5", 0.1), n);
  std::vector<float> p(n, 0.0f);
  const std::vector<float> g(n, 2.0f);
  const float expected[] = {-0.1f, -0.195f, -0.26275f};
  for (int step = 0; step < 3; ++step) {
    opt.Step(p, g, 0.5f);
    for (size_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(p[i], expected[step]) << step << " " << i;
  }
  EXPECT_EQ(opt.steps(), 3u);
}

TEST(SgdMomentum, SizeMismatchThrows) {
  SgdMomentum opt(Spec(0.9, 0.0, "const", 0.1), 4);
  std::vector<float> p(4), g(4), short_vec(3);
  EXPECT_THROW(opt.Step(short_vec, g, 1.0f), Error);
  EXPECT_THROW(opt.Step(p, short_vec, 1.0f), Error);
  EXPECT_EQ(opt.steps(), 0u);
}

// Property: a step applied as pieces (a BSP barrier updated part by part) is the whole step,
// at the step's learning rate, for any cut into pieces and over several steps.
TEST(SgdMomentum, PiecesCoveringTheShardAreOneStep) {
  const size_t n = 1013;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_int_distribution<size_t> cut(0, n);
    SgdMomentum whole(Spec(0.9, 0.01, "step:every=1,gamma=0.5", 0.1), n);
    SgdMomentum pieces(Spec(0.9, 0.01, "step:every=1,gamma=0.5", 0.1), n);
    std::vector<float> p(n), q, g(n);
    for (float& x : p) x = value(rng);
    q = p;
    for (int step = 0; step < 3; ++step) {
      for (float& x : g) x = value(rng);
      whole.Step(p, g, 0.25f);
      std::vector<size_t> cuts = {0, n, cut(rng), cut(rng), cut(rng)};
      std::sort(cuts.begin(), cuts.end());
      // Pieces in any order: the last first.
      for (size_t i = cuts.size() - 1; i-- > 0;) {
        const size_t at = cuts[i], len = cuts[i + 1] - cuts[i];
        pieces.StepRange(std::span(q).subspan(at, len), std::span(g).subspan(at, len), 0.25f, at);
      }
      EXPECT_EQ(pieces.steps(), whole.steps() - 1) << "a piece counted as a step";
      pieces.EndStep();
      for (size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(q[i], p[i], 1e-6f * (1.0f + std::abs(p[i]))) << seed << " " << step << " " << i;
      }
    }
  }
}

TEST(SgdMomentum, APieceOutsideTheShardThrows) {
  SgdMomentum opt(Spec(0.9, 0.0, "const", 0.1), 8);
  std::vector<float> p(4), g(4), short_vec(3);
  EXPECT_THROW(opt.StepRange(p, g, 1.0f, 5), Error);
  EXPECT_THROW(opt.StepRange(p, short_vec, 1.0f, 0), Error);
  EXPECT_THROW(opt.StepRange(p, g, 1.0f, SIZE_MAX - 1), Error);
  EXPECT_NO_THROW(opt.StepRange(p, g, 1.0f, 4));
}

TEST(LrSchedule, Const) {
  const auto s = LrSchedule::Parse("const", 0.1);
  EXPECT_DOUBLE_EQ(s.At(0), 0.1);
  EXPECT_DOUBLE_EQ(s.At(1000000), 0.1);
}

TEST(LrSchedule, Step) {
  const auto s = LrSchedule::Parse("step:every=10,gamma=0.5", 1.0);
  EXPECT_DOUBLE_EQ(s.At(0), 1.0);
  EXPECT_DOUBLE_EQ(s.At(9), 1.0);
  EXPECT_DOUBLE_EQ(s.At(10), 0.5);
  EXPECT_DOUBLE_EQ(s.At(25), 0.25);
  EXPECT_DOUBLE_EQ(LrSchedule::Parse("step:gamma=0.1,every=3", 2.0).At(6), 0.02);  // any order
}

TEST(LrSchedule, Cosine) {
  const auto s = LrSchedule::Parse("cosine:total=100", 1.0);
  EXPECT_DOUBLE_EQ(s.At(0), 1.0);
  EXPECT_DOUBLE_EQ(s.At(25), 0.5 * (1 + std::cos(std::numbers::pi / 4)));
  EXPECT_NEAR(s.At(50), 0.5, 1e-12);
  EXPECT_NEAR(s.At(100), 0.0, 1e-12);
  EXPECT_NEAR(s.At(1000), 0.0, 1e-12);
}

TEST(LrSchedule, WarmupThenSchedule) {
  const auto s = LrSchedule::Parse("warmup:steps=4+cosine:total=100", 1.0);
  EXPECT_DOUBLE_EQ(s.At(0), 0.25);
  EXPECT_DOUBLE_EQ(s.At(1), 0.5);
  EXPECT_DOUBLE_EQ(s.At(3), 1.0);
  EXPECT_DOUBLE_EQ(s.At(4), 1.0);  // cosine's step 0
  EXPECT_NEAR(s.At(54), 0.5, 1e-12);
  EXPECT_NEAR(s.At(104), 0.0, 1e-12);
  const auto w = LrSchedule::Parse("warmup:steps=2+step:every=3,gamma=0.1", 1.0);
  EXPECT_DOUBLE_EQ(w.At(0), 0.5);
  EXPECT_DOUBLE_EQ(w.At(4), 1.0);
  EXPECT_DOUBLE_EQ(w.At(5), 0.1);
}

TEST(LrSchedule, ToStringRoundTrips) {
  for (const char* text : {"const", "step:every=10,gamma=0.5", "step:every=3,gamma=0.1",
                           "cosine:total=1000", "warmup:steps=50+cosine:total=1000",
                           "warmup:steps=1+const", "warmup:steps=7+step:every=2,gamma=0.95"}) {
    const auto s = LrSchedule::Parse(text, 0.3);
    EXPECT_EQ(s.ToString(), text);
    const auto again = LrSchedule::Parse(s.ToString(), 0.3);
    for (uint64_t t : {0, 1, 6, 7, 60, 999, 5000}) EXPECT_EQ(again.At(t), s.At(t)) << text;
  }
}

// Found by config_fuzz: ToString writes a large gamma as "1.1111111111111112e+67", whose '+'
// Parse took for the one after a warmup term, refusing the text.
TEST(LrSchedule, ExponentSignIsNotTheWarmupPlus) {
  LrSchedule s;
  s.kind = "step";
  s.every = 100;
  s.gamma = 1.1111111111111112e+67;
  EXPECT_EQ(LrSchedule::Parse(s.ToString(), 0.1).gamma, s.gamma);
  EXPECT_EQ(LrSchedule::Parse("step:every=1,gamma=1e+2", 0.1).gamma, 100);
  const LrSchedule w = LrSchedule::Parse("warmup:steps=5+step:every=1,gamma=1E+2", 0.1);
  EXPECT_EQ(w.warmup, 5u);
  EXPECT_EQ(w.gamma, 100);
  EXPECT_THROW(LrSchedule::Parse("step:every=1,gamma=2+cosine:total=5", 0.1), Error);
}

TEST(LrSchedule, RejectsBadText) {
  for (const char* text : {"",
                           "linear",
                           "Const",
                           "const:x=1",
                           "step",
                           "step:every=10",
                           "step:gamma=0.5",
                           "step:every=0,gamma=0.5",
                           "step:every=10,gamma=0",
                           "step:every=10,gamma=-1",
                           "step:every=10,gamma=abc",
                           "step:every=10,gamma=inf",
                           "step:every=1.5,gamma=0.5",
                           "step:every=10,gamma=0.5,total=3",
                           "step:every=1,every=2,gamma=0.5",
                           "step:every",
                           "cosine",
                           "cosine:",
                           "cosine:total=",
                           "cosine:total=-5",
                           "cosine:total=0",
                           "cosine:total=10x",
                           "warmup:steps=5",
                           "warmup:steps=0+const",
                           "warmup:steps=5+",
                           "warmup+const",
                           "cosine:total=10+const",
                           "warmup:steps=5+warmup:steps=5+const",
                           "warmup:steps=5+const+const"}) {
    try {
      LrSchedule::Parse(text, 0.1);
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("step:every=N,gamma=G")) << text;
    }
  }
}

// The first parameter a step leaves NaN or Inf is remembered with its step, whatever comes
// after (the server ends the job on it); finite steps leave it unset.
TEST(SgdMomentum, RemembersTheFirstParameterAStepLeftNonFinite) {
  SgdMomentum opt(Spec(0.0, 0.0, "const", 1.0), 8);
  std::vector<float> p(8, 1.0f), g(8, 0.5f);
  opt.Step(p, g, 1.0f);
  EXPECT_FALSE(opt.non_finite().has_value());
  g[6] = 3e38f;  // finite, but scale x g overflows
  opt.StepRange(std::span(p).subspan(4, 4), std::span(g).subspan(4, 4), 4.0f, 4);
  opt.EndStep();
  ASSERT_TRUE(opt.non_finite().has_value());
  EXPECT_EQ(opt.non_finite()->index, 6u);
  EXPECT_EQ(opt.non_finite()->step, 1u);
  g[6] = 0.5f;
  g[1] = std::nanf("");
  opt.Step(p, g, 1.0f);
  EXPECT_EQ(opt.non_finite()->index, 6u) << "the first one stays";
}

}  // namespace
}  // namespace gw
