#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "coding/mds.h"
#include "coding/multi_message.h"
#include "coding/straggler.h"
#include "base/error.h"

namespace gw::coding {
namespace {

TEST(MultiMessage, PlanIsCyclic) {
  const auto plan = Plan(5, 3);
  ASSERT_EQ(plan.size(), 5u);
  EXPECT_EQ(plan[0], (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(plan[3], (std::vector<int>{3, 4, 0}));
  EXPECT_EQ(plan[4], (std::vector<int>{4, 0, 1}));
  EXPECT_THROW(Plan(4, 0), Error);
  EXPECT_THROW(Plan(4, 5), Error);
  EXPECT_THROW(Plan(0, 1), Error);
}

TEST(MultiMessage, CoverageCompletesExactlyWhenEveryPartitionArrived) {
  std::mt19937_64 rng(5);
  for (int n = 1; n <= 9; ++n) {
    for (int r = 1; r <= n; ++r) {
      const auto plan = Plan(n, r);
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<std::pair<int, int>> msgs;
        for (int i = 0; i < n; ++i) {
          for (int j = 0; j < r; ++j) msgs.emplace_back(i, j);
        }
        std::shuffle(msgs.begin(), msgs.end(), rng);
        Coverage cov(n, r);
        std::set<int> seen;
        bool was_complete = false;
        for (auto [w, j] : msgs) {
          const int p = cov.Arrive(w, j);
          EXPECT_EQ(p, plan[w][j]);
          seen.insert(p);
          EXPECT_EQ(cov.Complete(), static_cast<int>(seen.size()) == n);
          EXPECT_EQ(cov.covered(), static_cast<int>(seen.size()));
          if (was_complete) {
            EXPECT_TRUE(cov.Complete());
          }
          was_complete = cov.Complete();
        }
        EXPECT_TRUE(cov.Complete());
        for (int p = 0; p < n; ++p) EXPECT_EQ(cov.arrivals(p), r);
        cov.Reset();
        EXPECT_EQ(cov.covered(), 0);
        EXPECT_EQ(cov.Complete(), false);
      }
    }
  }
  Coverage cov(4, 2);
  EXPECT_THROW(cov.Arrive(4, 0), Error);
  EXPECT_THROW(cov.Arrive(0, 2), Error);
  EXPECT_THROW(cov.Arrive(-1, 0), Error);
}

// Same sampled times: worker i's first result (its own partition) arrives exactly when the
// uncoded worker i would finish, so covering every partition can never take longer.
TEST(MultiMessage, NeverLaterThanWaitForAllUnderNonPersistentStragglers) {
  const StragglerModel model = StragglerModel::Parse("non-persistent:mu=1,alpha=0.5,base=0.01", 9);
  for (int n : {2, 4, 8, 12}) {
    for (int r = 1; r <= n; ++r) {
      double sum_mm = 0, sum_coded = 0, sum_base = 0;
      const int iters = 200;
      for (int it = 0; it < iters; ++it) {
        std::vector<std::vector<double>> times(n);
        std::vector<double> finish(n);
        for (int i = 0; i < n; ++i) {
          times[i] = model.Sample(i, it, r);
          finish[i] = model.Sample(i, it, 1)[0];
        }
        const double base = WaitForAllTime(finish);
        const double mm = CoverageTime(times);
        const double coded = CodedCompletionTime(times, n);
        ASSERT_LE(mm, base) << "n=" << n << " r=" << r << " it=" << it;
        ASSERT_LE(coded, base) << "n=" << n << " r=" << r << " it=" << it;
        // Cross-check CoverageTime with the tracker, messages fed in time order.
        std::vector<std::pair<double, std::pair<int, int>>> order;
        for (int i = 0; i < n; ++i) {
          for (int j = 0; j < r; ++j) order.push_back({times[i][j], {i, j}});
        }
        std::sort(order.begin(), order.end());
        Coverage cov(n, r);
        double done = -1;
        for (const auto& [t, m] : order) {
          cov.Arrive(m.first, m.second);
          if (cov.Complete()) {
            done = t;
            break;
          }
        }
        ASSERT_EQ(done, mm);
        sum_mm += mm;
        sum_coded += coded;
        sum_base += base;
      }
      if (r == n / 2 || (n == 2 && r == 2)) {
        std::printf("n=%2d r=%2d: mean wait-for-all %.4f s, multi-message %.4f s, coded %.4f s\n",
                    n, r, sum_base / iters, sum_mm / iters, sum_coded / iters);
      }
    }
  }
}

TEST(MultiMessage, CodedVariantDecodesFromTheFirstKMessages) {
  const int n = 4, r = 2, k = 4;
  const MdsCode code(n * r, k, 11);
  std::mt19937_64 rng(6);
  std::normal_distribution<float> d;
  Eigen::MatrixXf a(9, 3), x(3, 1);
  for (int i = 0; i < a.size(); ++i) a.data()[i] = d(rng);
  for (int i = 0; i < x.size(); ++i) x.data()[i] = d(rng);
  const auto coded = code.Encode(a);
  const StragglerModel model = StragglerModel::NonPersistent(1.0, 0.2).set_seed(3);
  for (int it = 0; it < 50; ++it) {
    std::vector<std::pair<double, std::pair<int, int>>> order;
    std::vector<std::vector<double>> times(n);
    for (int i = 0; i < n; ++i) {
      times[i] = model.Sample(i, it, r);
      for (int j = 0; j < r; ++j) order.push_back({times[i][j], {i, j}});
    }
    std::sort(order.begin(), order.end());
    CodedCoverage cov(n, r, k);
    std::vector<Eigen::MatrixXf> results;
    double done = -1;
    for (const auto& [t, m] : order) {
      const int b = cov.Arrive(m.first, m.second);
      EXPECT_EQ(b, m.first * r + m.second);
      results.push_back(coded[b] * x);
      if (cov.Complete()) {
        done = t;
        break;
      }
    }
    ASSERT_EQ(done, CodedCompletionTime(times, k));
    const Eigen::MatrixXf ax = a * x;
    const Eigen::MatrixXf got = code.Decode(cov.survivors(), results, a.rows());
    EXPECT_LE((got - ax).norm() / ax.norm(), 1e-3);
  }
  EXPECT_THROW(CodedCoverage(2, 2, 5), Error);
  EXPECT_THROW(CodedCoverage(2, 0, 1), Error);
  CodedCoverage cov(2, 2, 2);
  cov.Arrive(1, 1);
  cov.Arrive(1, 1);  // repeat ignored
  EXPECT_FALSE(cov.Complete());
  EXPECT_EQ(cov.survivors(), std::vector<int>{3});
}

}  // namespace
}  // namespace gw::coding
