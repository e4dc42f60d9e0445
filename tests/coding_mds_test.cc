#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "coding/mds.h"
#include "coding/subsets.h"
#include "tests/mds_orders.h"

namespace gw::coding {
namespace {

Eigen::MatrixXf RandomMatrix(int rows, int cols, std::mt19937_64& rng) {
  std::normal_distribution<float> d;
  Eigen::MatrixXf m(rows, cols);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) m(i, j) = d(rng);
  }
  return m;
}

// A worker encodes only its own block: the same floats as its block of the whole encoding.
TEST(MdsCode, EncodeBlockIsThatBlockOfTheWholeEncoding) {
  std::mt19937_64 rng(3);
  const MdsCode code(7, 4, /*seed=*/5);
  const Eigen::MatrixXf a = RandomMatrix(4 * 3 + 2, 5, rng);  // padded: not a multiple of k
  const std::vector<Eigen::MatrixXf> all = code.Encode(a);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(code.EncodeBlock(a, i), all[i]) << "block " << i;
  EXPECT_THROW(code.EncodeBlock(a, 7), Error);
  EXPECT_THROW(code.EncodeBlock(a, -1), Error);
}

// One code per (n, k, seed) per process, whoever asks; another seed is another code.
TEST(MdsCode, SharedCodesAreBuiltOncePerKey) {
  const auto a = SharedMdsCode(9, 5, 11);
  EXPECT_EQ(a, SharedMdsCode(9, 5, 11));
  const auto b = SharedMdsCode(9, 5, 12);
  EXPECT_NE(a, b);
  EXPECT_NE(a->generator(), b->generator());
  EXPECT_EQ(a->generator(), MdsCode(9, 5, 11).generator());
}

TEST(MdsCode, EverySubsetDecodesAx) {
  std::mt19937_64 rng(1);
  double max_err = 0, max_cond = 0;
  int decodes = 0;
  for (int n = 1; n <= 12; ++n) {
    for (int k = 1; k <= n; ++k) {
      const MdsCode code(n, k, /*seed=*/100 + n);
      ASSERT_TRUE(code.worst_condition_exhaustive());
      EXPECT_TRUE(code.generator().topRows(k).isIdentity());
      const int rows = 3 * k + (k > 1 ? 1 : 0);  // not a multiple of k: exercises padding
      const Eigen::MatrixXf a = RandomMatrix(rows, 6, rng);
      const Eigen::MatrixXf x = RandomMatrix(6, 2, rng);
      const Eigen::MatrixXf ax = a * x;
      const std::vector<Eigen::MatrixXf> coded = code.Encode(a);
      ASSERT_EQ(static_cast<int>(coded.size()), n);
      std::vector<Eigen::MatrixXf> results;
      for (const auto& c : coded) results.push_back(c * x);
      ForEachSubset(n, k, [&](std::vector<int> s) {
        std::shuffle(s.begin(), s.end(), rng);  // arrival order must not matter
        std::vector<Eigen::MatrixXf> r;
        for (int id : s) r.push_back(results[id]);
        const Eigen::MatrixXf got = code.Decode(s, r, rows);
        ASSERT_EQ(got.rows(), rows);
        const double err = (got - ax).norm() / ax.norm();
        max_err = std::max(max_err, err);
        max_cond = std::max(max_cond, code.ConditionNumber(s));
        ASSERT_LE(err, 1e-3) << "n=" << n << " k=" << k;
        ++decodes;
      });
    }
  }
  std::printf("MDS n<=12: %d decodes, max relative error %.3g, max condition number %.3g\n",
              decodes, max_err, max_cond);
}

TEST(MdsCode, SystematicSurvivorsCopyExactly) {
  std::mt19937_64 rng(2);
  const MdsCode code(7, 4, 9);
  const Eigen::MatrixXf a = RandomMatrix(10, 3, rng);
  const auto coded = code.Encode(a);
  EXPECT_EQ(coded[0].rows(), 3);               // ceil(10/4)
  const std::vector<int> s = {2, 0, 3, 1, 5};  // extra survivor ignored
  std::vector<Eigen::MatrixXf> r;
  for (int id : s) r.push_back(coded[id]);
  const Eigen::MatrixXf full = code.Decode(s, r);
  EXPECT_EQ(full.rows(), 12);
  EXPECT_TRUE(full.topRows(10) == a);
  EXPECT_TRUE(full.bottomRows(2).isZero());
}

TEST(MdsCode, SameSeedSameGenerator) {
  EXPECT_TRUE(MdsCode(10, 5, 3).generator() == MdsCode(10, 5, 3).generator());
  EXPECT_FALSE(MdsCode(10, 5, 3).generator() == MdsCode(10, 5, 4).generator());
}

// The measurement behind the default generator (see mds.h).
TEST(MdsCode, GaussianHasTheBestWorstCaseConditioning) {
  const int n = 12;
  double worst[3] = {0, 0, 0};
  const MdsGenerator gens[3] = {MdsGenerator::kGaussian, MdsGenerator::kChebyshev,
                                MdsGenerator::kEquispaced};
  std::printf("worst condition over all k-subsets, n=%d\n   k  gaussian chebyshev equispaced\n", n);
  for (int k = 2; k < n; ++k) {
    std::printf("  %2d", k);
    for (int g = 0; g < 3; ++g) {
      MdsOptions o;
      o.generator = gens[g];
      o.max_condition = 1e300;
      const MdsCode code(n, k, 42, o);
      EXPECT_TRUE(code.worst_condition_exhaustive());
      worst[g] = std::max(worst[g], code.worst_condition());
      std::printf(" %9.3g", code.worst_condition());
    }
    std::printf("\n");
  }
  EXPECT_LT(worst[0], worst[1]);
  EXPECT_LT(worst[0], worst[2]);
  EXPECT_LT(worst[0], 1e4);
}

TEST(MdsCode, RefusesIllConditionedGenerator) {
  MdsOptions o;
  o.generator = MdsGenerator::kEquispaced;
  try {
    MdsCode(30, 15, 1, o);
    FAIL() << "expected gw::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    std::printf("%s\n", msg.c_str());
    EXPECT_NE(msg.find("condition number"), std::string::npos) << msg;
    EXPECT_NE(msg.find("exceeds the limit 1e+05"), std::string::npos) << msg;
  }
}

TEST(MdsCode, DecodeRefusesIllConditionedSurvivors) {
  MdsOptions o;
  o.generator = MdsGenerator::kEquispaced;
  o.verify = false;
  const MdsCode code(30, 15, 1, o);
  std::vector<int> parity;
  for (int i = 15; i < 30; ++i) parity.push_back(i);
  const double cond = code.ConditionNumber(parity);
  EXPECT_GT(cond, o.max_condition);
  std::vector<Eigen::MatrixXf> r(15, Eigen::MatrixXf::Ones(2, 2));
  EXPECT_FALSE(code.Decodable(parity));
  try {
    code.Decode(parity, r);
    FAIL() << "expected gw::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    char num[32];
    std::snprintf(num, sizeof num, "%.3g", cond);
    EXPECT_NE(msg.find("15 survivors {15,16,"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::string("condition number ") + num), std::string::npos) << msg;
    EXPECT_NE(msg.find("above the limit 1e+05"), std::string::npos) << msg;
  }
  // Systematic survivors of the same code still decode (no solve).
  std::vector<int> sys;
  for (int i = 0; i < 15; ++i) sys.push_back(i);
  EXPECT_TRUE(code.Decodable(sys));
  EXPECT_NO_THROW(code.Decode(sys, r));
}

// The n = 50 study's case (results/scale/mds): k = 34, a round whose first 34 results form a
// system above the condition limit. Those alone are refused; the round goes on taking results
// in arrival order until the set in hand is accepted (measured: one more result almost always
// does it, see coding/mds.h), and the least-squares decode of all of them is A·x.
TEST(MdsCode, IllConditionedKSetDecodesFromTheNextResultsToo) {
  const auto code = SharedMdsCode(50, 34, 1);
  const int n = code->n(), k = code->k();
  const std::vector<int> order = testing::IllConditionedOrder(*code, /*seed=*/1);
  ASSERT_EQ(static_cast<int>(order.size()), n) << "no ill-conditioned k-set found";
  std::mt19937_64 rng(5);
  const int rows = 3 * k + 2;
  const Eigen::MatrixXf a = RandomMatrix(rows, 8, rng);
  const Eigen::MatrixXf x = RandomMatrix(8, 2, rng);
  const Eigen::MatrixXf ax = a * x;
  const std::vector<Eigen::MatrixXf> coded = code->Encode(a);
  auto first = [&](int count) { return std::vector<int>(order.begin(), order.begin() + count); };
  auto results_of = [&](const std::vector<int>& s) {
    std::vector<Eigen::MatrixXf> r;
    for (int id : s) r.push_back(coded[id] * x);
    return r;
  };

  const std::vector<int> ill = first(k);
  EXPECT_GT(code->ConditionNumber(ill), code->options().max_condition);
  EXPECT_FALSE(code->Decodable(ill));
  EXPECT_THROW(code->Decode(ill, results_of(ill), rows), Error);

  int count = k + 1;
  while (count < n && !code->Decodable(first(count))) ++count;
  const std::vector<int> s = first(count);
  ASSERT_TRUE(code->Decodable(s));
  EXPECT_EQ(count, k + 1) << "this set needed " << count - k << " more results";
  const Eigen::MatrixXf got = code->Decode(s, results_of(s), rows);
  ASSERT_EQ(got.rows(), rows);
  const double err = (got - ax).norm() / ax.norm();
  std::printf("k-set condition %.3g; with %d more: %.3g, relative error %.3g\n",
              code->ConditionNumber(ill), count - k, code->ConditionNumber(s), err);
  EXPECT_LE(err, 1e-3);
}

}  // namespace
}  // namespace gw::coding
