#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "coding/gradient_code.h"
#include "coding/subsets.h"
#include "base/error.h"

namespace gw::coding {
namespace {

// Checks the structure and every (n−s)-subset of survivors.
void CheckCode(const GradientCode& code, bool exact_replication, std::mt19937_64& rng,
               double* max_dev, double* max_coef, double* max_err) {
  const int n = code.n(), s = code.s();
  std::vector<int> holders(n, 0);
  for (int i = 0; i < n; ++i) {
    const std::vector<int> parts = code.Partitions(i);
    ASSERT_EQ(static_cast<int>(parts.size()), s + 1) << "worker " << i;
    for (int j : parts) ++holders[j];
  }
  for (int j = 0; j < n; ++j) {
    if (exact_replication) {
      EXPECT_EQ(holders[j], s + 1);
    } else {
      EXPECT_GE(holders[j], s + 1);
    }
  }
  std::normal_distribution<float> d;
  std::vector<Eigen::VectorXf> partials(n, Eigen::VectorXf(8));
  Eigen::VectorXd truth = Eigen::VectorXd::Zero(8);
  for (auto& g : partials) {
    for (int t = 0; t < 8; ++t) g(t) = d(rng);
    truth += g.cast<double>();
  }
  std::vector<Eigen::VectorXf> messages;
  for (int i = 0; i < n; ++i) messages.push_back(code.Encode(i, partials));
  ForEachSubset(n, n - s, [&](const std::vector<int>& surv) {
    const Eigen::VectorXd a = code.DecodingVector(surv);
    for (int i = 0; i < n; ++i) {
      if (std::find(surv.begin(), surv.end(), i) == surv.end()) {
        ASSERT_EQ(a(i), 0.0);
      }
    }
    const double dev =
        (a.transpose() * code.B() - Eigen::RowVectorXd::Ones(n)).cwiseAbs().maxCoeff();
    *max_dev = std::max(*max_dev, dev);
    *max_coef = std::max(*max_coef, a.cwiseAbs().maxCoeff());
    ASSERT_LE(dev, 1e-5) << "n=" << n << " s=" << s;
    std::vector<Eigen::VectorXf> m;
    for (int w : surv) m.push_back(messages[w]);
    const Eigen::VectorXf sum = code.Decode(surv, m);
    // Float messages: error bounded by amplification × float rounding × partial size.
    const double err = (sum.cast<double>() - truth).cwiseAbs().maxCoeff();
    *max_err = std::max(*max_err, err);
    ASSERT_LE(err, 1e-5 * (1 + truth.cwiseAbs().maxCoeff()));
  });
}

TEST(GradientCode, CyclicRepetitionEverySubsetRecoversTheSum) {
  std::mt19937_64 rng(3);
  double max_dev = 0, max_coef = 0, max_err = 0, max_amp = 0;
  for (int n = 1; n <= 10; ++n) {
    for (int s = 0; s < n; ++s) {
      SCOPED_TRACE("n=" + std::to_string(n) + " s=" + std::to_string(s));
      const GradientCode code = GradientCode::CyclicRepetition(n, s, 7 * n + s);
      max_amp = std::max(max_amp, code.worst_amplification());
      CheckCode(code, true, rng, &max_dev, &max_coef, &max_err);
    }
  }
  std::printf(
      "cyclic n<=10: max |a^T B_S - 1| = %.3g, max |a_i| = %.3g, worst amplification "
      "%.3g, max abs error of the decoded sum %.3g\n",
      max_dev, max_coef, max_amp, max_err);
}

TEST(GradientCode, FractionalRepetitionEverySubsetRecoversTheSum) {
  std::mt19937_64 rng(4);
  double max_dev = 0, max_coef = 0, max_err = 0;
  int codes = 0;
  for (int n = 1; n <= 10; ++n) {
    for (int s = 0; s < n; ++s) {
      if (n % (s + 1) != 0) continue;
      SCOPED_TRACE("n=" + std::to_string(n) + " s=" + std::to_string(s));
      const GradientCode code = GradientCode::FractionalRepetition(n, s);
      EXPECT_TRUE((code.B().array() == 0 || code.B().array() == 1).all());
      CheckCode(code, true, rng, &max_dev, &max_coef, &max_err);
      ++codes;
    }
  }
  EXPECT_EQ(max_dev, 0.0);  // 0/1 weights: exact
  EXPECT_GT(codes, 10);
}

TEST(GradientCode, MoreSurvivorsThanNeeded) {
  const GradientCode code = GradientCode::CyclicRepetition(7, 2, 1);
  const std::vector<int> all = {6, 5, 4, 3, 2, 1, 0};
  const Eigen::VectorXd a = code.DecodingVector(all);
  EXPECT_LE((a.transpose() * code.B() - Eigen::RowVectorXd::Ones(7)).cwiseAbs().maxCoeff(), 1e-9);
  const GradientCode fr = GradientCode::FractionalRepetition(6, 1);
  const Eigen::VectorXd b = fr.DecodingVector({0, 1, 2, 3, 4, 5});
  EXPECT_TRUE((b.transpose() * fr.B()).isApprox(Eigen::RowVectorXd::Ones(6)));
}

TEST(GradientCode, SameSeedSameMatrix) {
  EXPECT_TRUE(GradientCode::CyclicRepetition(9, 3, 5).B() ==
              GradientCode::CyclicRepetition(9, 3, 5).B());
  EXPECT_FALSE(GradientCode::CyclicRepetition(9, 3, 5).B() ==
               GradientCode::CyclicRepetition(9, 3, 6).B());
}

TEST(GradientCode, RejectsBadParameters) {
  EXPECT_THROW(GradientCode::FractionalRepetition(5, 1), Error);  // 2 does not divide 5
  EXPECT_THROW(GradientCode::FractionalRepetition(4, 4), Error);  // s >= n
  EXPECT_THROW(GradientCode::FractionalRepetition(0, 0), Error);
  EXPECT_THROW(GradientCode::CyclicRepetition(4, 4, 1), Error);
  EXPECT_THROW(GradientCode::CyclicRepetition(4, -1, 1), Error);
  const GradientCode code = GradientCode::CyclicRepetition(6, 2, 1);
  EXPECT_THROW(code.DecodingVector({0, 1, 2}), Error);     // fewer than n−s
  EXPECT_THROW(code.DecodingVector({0, 1, 2, 2}), Error);  // repeated
  EXPECT_THROW(code.DecodingVector({0, 1, 2, 6}), Error);  // out of range
  EXPECT_THROW(code.Partitions(6), Error);
}

}  // namespace
}  // namespace gw::coding
