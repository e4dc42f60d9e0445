#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "coding/expected_time.h"
#include "coding/lambert_w.h"
#include "coding/straggler.h"
#include "base/error.h"

namespace gw::coding {
namespace {

TEST(StragglerModel, SameSeedSameSamplesInAnyOrder) {
  const StragglerModel a = StragglerModel::Parse("non-persistent:mu=1,alpha=0.5", 7);
  const StragglerModel b = StragglerModel::Parse("non-persistent:mu=1,alpha=0.5,seed=7");
  const StragglerModel c = StragglerModel::Parse("non-persistent:mu=1,alpha=0.5", 8);
  const std::vector<double> late = a.Sample(3, 99, 4);  // asked first, must not matter
  for (int it = 0; it < 100; ++it) {
    for (int w = 0; w < 5; ++w) {
      EXPECT_EQ(a.Sample(w, it, 3), b.Sample(w, it, 3));
      EXPECT_NE(a.Sample(w, it, 3), c.Sample(w, it, 3));
      EXPECT_EQ(a.Sample(w, it, 3)[0], a.Sample(w, it, 1)[0]);
    }
  }
  EXPECT_EQ(late, a.Sample(3, 99, 4));
  const std::vector<double> t = a.Sample(1, 2, 4);
  for (int j = 1; j < 4; ++j) EXPECT_DOUBLE_EQ(t[j], t[0] * (j + 1));  // j-th at (j/r)·T
}

// Mean and one CDF point of T over many iterations, against the documented distribution.
void CheckMoments(const StragglerModel& m, int r, double shift, double rate_per_unit) {
  const int iters = 40000;
  double sum = 0;
  int below = 0;
  const double b = m.base_time();
  const double median = r * b * (shift + std::log(2.0) / rate_per_unit);
  for (int it = 0; it < iters; ++it) {
    const double t = m.Sample(2, it, r).back();
    ASSERT_GE(t, r * b * shift);
    sum += t;
    if (t <= median) ++below;
  }
  const double mean = sum / iters;
  const double sd = r * b / rate_per_unit;  // std of an exponential
  EXPECT_NEAR(mean, m.MeanTotal(2, 0, r), 5 * sd / std::sqrt(iters)) << m.ToString();
  EXPECT_NEAR(mean, r * b * (shift + 1 / rate_per_unit), 5 * sd / std::sqrt(iters));
  EXPECT_NEAR(static_cast<double>(below) / iters, 0.5, 0.015) << m.ToString();
}

TEST(StragglerModel, ParsedModelsSampleTheDocumentedDistribution) {
  CheckMoments(StragglerModel::Parse("shifted-exp:mu=2,base=0.5", 1), 3, 1.0, 2.0);
  CheckMoments(StragglerModel::Parse("shifted-exp:mu=0.1", 1), 1, 1.0, 0.1);
  CheckMoments(StragglerModel::Parse("non-persistent:mu=1,alpha=0.5,base=0.01", 2), 4, 0.5, 1.0);
  CheckMoments(StragglerModel::Parse("non-persistent:mu=3,alpha=0", 2), 1, 0.0, 3.0);
}

TEST(StragglerModel, DeterministicModels) {
  const StragglerModel none = StragglerModel::Parse("none");
  EXPECT_EQ(none.Sample(0, 0, 3), (std::vector<double>{1, 2, 3}));
  const StragglerModel p = StragglerModel::Parse("persistent:workers=0+3,factor=4,base=0.5");
  EXPECT_EQ(p.Sample(0, 5, 2), (std::vector<double>{2, 4}));
  EXPECT_EQ(p.Sample(3, 9, 1), (std::vector<double>{2}));
  EXPECT_EQ(p.Sample(1, 5, 2), (std::vector<double>{0.5, 1}));
  EXPECT_EQ(p.slow_workers(), (std::vector<int>{0, 3}));
  const StragglerModel f = StragglerModel::Parse("fail-stop:worker=2,at=100");
  EXPECT_EQ(f.Sample(2, 99, 1), (std::vector<double>{1}));
  EXPECT_TRUE(std::isinf(f.Sample(2, 100, 2)[0]));
  EXPECT_TRUE(std::isinf(f.Sample(2, 500, 1)[0]));
  EXPECT_EQ(f.Sample(1, 500, 1), (std::vector<double>{1}));
  EXPECT_TRUE(std::isinf(f.MeanTotal(2, 100, 1)));
}

TEST(StragglerModel, ToStringRoundTrips) {
  for (const char* text : {"none", "shifted-exp:mu=1", "non-persistent:mu=1,alpha=0.5",
                           "persistent:workers=3+0+3,factor=4", "fail-stop:worker=2,at=100",
                           "shifted-exp:mu=0.25,seed=5,base=0.002"}) {
    const StragglerModel m = StragglerModel::Parse(text, 17);
    const StragglerModel again = StragglerModel::Parse(m.ToString());
    EXPECT_EQ(again.ToString(), m.ToString()) << text;
    for (int w = 0; w < 4; ++w) EXPECT_EQ(again.Sample(w, 123, 2), m.Sample(w, 123, 2)) << text;
  }
}

TEST(StragglerModel, BadTextIsRefusedClearly) {
  for (const char* text : {"",
                           "fast",
                           "none:mu=1",
                           "shifted-exp",
                           "shifted-exp:",
                           "shifted-exp:mu=",
                           "shifted-exp:mu=x",
                           "shifted-exp:mu=0",
                           "shifted-exp:mu=-1",
                           "shifted-exp:mu=1,mu=2",
                           "shifted-exp:mu=1,alpha=1",
                           "shifted-exp:mu",
                           "non-persistent:mu=1",
                           "non-persistent:mu=1,alpha=-1",
                           "persistent:factor=4",
                           "persistent:workers=0+x,factor=4",
                           "persistent:workers=0+,factor=4",
                           "persistent:workers=0,factor=0.5",
                           "fail-stop:worker=2",
                           "fail-stop:worker=-2,at=1",
                           "fail-stop:worker=2,at=1.5",
                           "none:seed=-1",
                           "none:base=0",
                           "shifted-exp:mu=1,base=abc",
                           "shifted-exp:mu=1e999"}) {
    try {
      StragglerModel::Parse(text);
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::string("\"") + text + "\""), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(StragglerModel().Sample(0, 0, 0), Error);
  EXPECT_THROW(StragglerModel().Sample(-1, 0, 1), Error);
}

TEST(ExpectedTime, LambertWLowerBranch) {
  EXPECT_NEAR(LambertWm1(-0.1), -3.577152063957297, 1e-12);
  EXPECT_NEAR(LambertWm1(-1 / std::numbers::e), -1.0, 1e-6);
  for (double z = -0.3678; z < 0; z += 0.0131) {
    const double w = LambertWm1(z);
    EXPECT_LE(w, -1.0);
    EXPECT_NEAR(w * std::exp(w), z, 1e-14) << z;
  }
  for (double z : {-1e-300, -1e-100, -1e-10}) {
    const double w = LambertWm1(z);
    EXPECT_NEAR(w * std::exp(w) / z, 1.0, 1e-12) << z;
  }
  EXPECT_THROW(LambertWm1(0.0), Error);
  EXPECT_THROW(LambertWm1(-0.5), Error);
}

TEST(ExpectedTime, OptimalRateMinimisesTheApproximation) {
  for (double mu : {0.1, 1.0, 10.0}) {
    const double a = OptimalMdsRate(mu);
    ASSERT_GT(a, 0);
    ASSERT_LT(a, 1);
    auto f = [&](double alpha) { return (1 + std::log(1 / (1 - alpha)) / mu) / alpha; };
    for (double x = 0.005; x < 1; x += 0.005) EXPECT_LE(f(a), f(x) + 1e-12) << mu << " " << x;
    // The exact optimum k for n = 100 sits near α*·n.
    EXPECT_NEAR(OptimalMdsK(100, mu) / 100.0, a, 0.03) << mu;
    std::printf("mu=%g: k*/n = %.4f, exact-optimal k for n=100: %d\n", mu, a, OptimalMdsK(100, mu));
  }
}

TEST(ExpectedTime, MonteCarloMatchesClosedForms) {
  struct Case {
    int n, k;
    double mu;
  };
  for (const Case& c : {Case{10, 5, 1.0}, Case{20, 10, 0.1}, Case{12, 4, 10.0}, Case{30, 6, 1.0}}) {
    for (Scheme s : {Scheme::kUncoded, Scheme::kReplication, Scheme::kMds}) {
      const MonteCarloEstimate e = MonteCarloTime(s, c.n, c.k, c.mu, 20000, 1);
      const double exact = ExpectedTime(s, c.n, c.k, c.mu);
      EXPECT_NEAR(e.mean, exact, 5 * e.std_error + 1e-12)
          << "scheme " << static_cast<int>(s) << " n=" << c.n << " k=" << c.k << " mu=" << c.mu;
    }
    // The notes' log forms are close to the exact ones.
    EXPECT_NEAR(ApproxTimeMds(c.n, c.k, c.mu) / ExpectedTimeMds(c.n, c.k, c.mu), 1, 0.15);
    EXPECT_NEAR(ApproxTimeUncoded(c.n, c.mu) / ExpectedTimeUncoded(c.n, c.mu), 1, 0.25);
    EXPECT_NEAR(ApproxTimeReplication(c.n, c.k, c.mu) / ExpectedTimeReplication(c.n, c.k, c.mu), 1,
                0.25);
  }
  // MDS beats uncoded when stragglers are heavy (μ = 0.1, n = 20, k = 10).
  EXPECT_LT(ExpectedTimeMds(20, 10, 0.1), ExpectedTimeUncoded(20, 0.1));
  EXPECT_THROW(ExpectedTimeReplication(10, 3, 1), Error);
  EXPECT_THROW(ExpectedTimeMds(10, 11, 1), Error);
  EXPECT_THROW(ExpectedTimeUncoded(10, 0), Error);
  EXPECT_THROW(ApproxTimeMds(10, 10, 1), Error);
}

}  // namespace
}  // namespace gw::coding
