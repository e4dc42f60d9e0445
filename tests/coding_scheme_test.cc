#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "coding/expected_time.h"
#include "coding/gradient_code.h"
#include "coding/mds.h"
#include "coding/multi_message.h"
#include "coding/scheme.h"
#include "coding/straggler.h"

namespace gw::coding {
namespace {

using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The message of the gw::Error that Parse throws, or "" if it accepts the text.
std::string ParseError(const std::string& text) {
  try {
    CodingSpec::Parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A random valid spec for n workers (every kind equally likely).
CodingSpec RandomSpec(int n, std::mt19937_64& rng) {
  std::vector<int> divisors;
  for (int d = 1; d <= n; ++d) {
    if (n % d == 0) divisors.push_back(d);
  }
  auto pick = [&](const std::vector<int>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  CodingSpec spec;
  spec.kind = static_cast<CodingKind>(uniform(0, 5));
  switch (spec.kind) {
    case CodingKind::kUncoded:
      spec.param = 0;
      break;
    case CodingKind::kReplication:
      spec.param = pick(divisors);
      break;
    case CodingKind::kGcFractional:
      spec.param = pick(divisors) - 1;
      break;
    case CodingKind::kGcCyclic:
      spec.param = uniform(0, n - 1);
      break;
    case CodingKind::kMultiMessage:
    case CodingKind::kMds:
      spec.param = uniform(1, n);
      break;
  }
  spec.Validate(n);
  return spec;
}

bool CountsWorkers(const CodingSpec& spec) {
  return spec.is_gradient_code() || spec.kind == CodingKind::kMds;
}

// Distinct workers needed by gc / mds.
int WorkersNeeded(const CodingSpec& spec, int n) {
  return spec.is_gradient_code() ? n - spec.param : spec.param;
}

// Block of worker w's message j under the coverage schemes, written out independently of
// BlocksOf.
int CoverageBlock(const CodingSpec& spec, int n, int w, int j) {
  switch (spec.kind) {
    case CodingKind::kUncoded:
      return w;
    case CodingKind::kReplication:
      return w % (n / spec.param);
    case CodingKind::kMultiMessage:
      return (w + j) % n;
    default:
      ADD_FAILURE() << "not a coverage scheme";
      return -1;
  }
}

std::vector<std::pair<int, int>> AllMessages(const CodingSpec& spec, int n) {
  std::vector<std::pair<int, int>> msgs;
  for (int w = 0; w < n; ++w) {
    for (int j = 0; j < spec.Messages(); ++j) msgs.emplace_back(w, j);
  }
  return msgs;
}

Eigen::VectorXf RandomVector(int len, std::mt19937_64& rng) {
  std::normal_distribution<float> d;
  Eigen::VectorXf v(len);
  for (int i = 0; i < len; ++i) v(i) = d(rng);
  return v;
}

TEST(CodingSpec, ParseToStringRoundTrip) {
  const std::vector<std::pair<std::string, CodingSpec>> cases = {
      {"uncoded", {CodingKind::kUncoded, 0}},
      {"replication:r=2", {CodingKind::kReplication, 2}},
      {"gc-fr:s=1", {CodingKind::kGcFractional, 1}},
      {"gc-cr:s=2", {CodingKind::kGcCyclic, 2}},
      {"mm:r=3", {CodingKind::kMultiMessage, 3}},
      {"mds:k=8", {CodingKind::kMds, 8}},
      {"mds:k=12", {CodingKind::kMds, 12}},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    const CodingSpec got = CodingSpec::Parse(text);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.param, want.param);
    EXPECT_EQ(got.ToString(), text);
    const CodingSpec again = CodingSpec::Parse(want.ToString());
    EXPECT_EQ(again.kind, want.kind);
    EXPECT_EQ(again.param, want.param);
  }
}

TEST(CodingSpec, ParseRejectsMalformedTextNamingTheProblem) {
  EXPECT_THAT(ParseError("foo"), HasSubstr("unknown scheme"));
  EXPECT_THAT(ParseError(""), HasSubstr("unknown scheme"));
  EXPECT_THAT(ParseError("mds8"), HasSubstr("unknown scheme"));
  EXPECT_THAT(ParseError("gc:s=1"), HasSubstr("unknown scheme"));
  EXPECT_THAT(ParseError("replication"), HasSubstr("missing r="));
  EXPECT_THAT(ParseError("mds"), HasSubstr("missing k="));
  EXPECT_THAT(ParseError("gc-fr"), HasSubstr("missing s="));
  EXPECT_THAT(ParseError("replication:k=2"), HasSubstr("r=N"));
  EXPECT_THAT(ParseError("mds:r=2"), HasSubstr("k=N"));
  EXPECT_THAT(ParseError("gc-cr:k=2"), HasSubstr("s=N"));
  EXPECT_THAT(ParseError("mds:k=x"), HasSubstr("not a non-negative integer"));
  EXPECT_THAT(ParseError("mds:k="), HasSubstr("not a non-negative integer"));
  EXPECT_THAT(ParseError("mds:k=-1"), HasSubstr("not a non-negative integer"));
  EXPECT_THAT(ParseError("mds:k=2.5"), HasSubstr("not a non-negative integer"));
  EXPECT_THAT(ParseError("mds:k=99999999999"), HasSubstr("not a non-negative integer"));
  EXPECT_THAT(ParseError("uncoded:r=1"), HasSubstr("takes no parameter"));
  EXPECT_THAT(ParseError("uncoded:"), HasSubstr("takes no parameter"));
  // Every message quotes the text and lists the valid forms.
  EXPECT_THAT(ParseError("mds:k=x"), HasSubstr("\"mds:k=x\""));
  EXPECT_THAT(ParseError("foo"), HasSubstr("gc-fr:s=S"));
}

TEST(CodingSpec, ValidateRefusesSchemesThatDoNotFit) {
  auto ok = [](const std::string& text, int n) {
    SCOPED_TRACE(text + " n=" + std::to_string(n));
    EXPECT_NO_THROW(CodingSpec::Parse(text).Validate(n));
  };
  auto refused = [](const std::string& text, int n) {
    SCOPED_TRACE(text + " n=" + std::to_string(n));
    try {
      CodingSpec::Parse(text).Validate(n);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(text));  // names the scheme it refuses
    }
  };
  ok("uncoded", 1);
  ok("uncoded", 7);
  refused("uncoded", 0);
  ok("replication:r=1", 6);
  ok("replication:r=2", 6);
  ok("replication:r=3", 6);
  ok("replication:r=6", 6);
  refused("replication:r=4", 6);
  refused("replication:r=5", 6);
  refused("replication:r=7", 6);
  refused("replication:r=0", 6);
  ok("gc-fr:s=0", 6);
  ok("gc-fr:s=1", 6);
  ok("gc-fr:s=2", 6);
  ok("gc-fr:s=5", 6);
  refused("gc-fr:s=3", 6);  // 4 does not divide 6
  refused("gc-fr:s=4", 6);
  refused("gc-fr:s=6", 6);  // s >= n
  refused("gc-fr:s=11", 6);
  ok("gc-cr:s=0", 6);
  ok("gc-cr:s=3", 6);
  ok("gc-cr:s=5", 6);
  refused("gc-cr:s=6", 6);
  refused("gc-cr:s=7", 6);
  ok("mm:r=1", 5);
  ok("mm:r=5", 5);
  refused("mm:r=6", 5);
  refused("mm:r=0", 5);
  ok("mds:k=1", 8);
  ok("mds:k=6", 8);
  ok("mds:k=8", 8);
  refused("mds:k=9", 8);
  refused("mds:k=0", 8);
  // RoundTracker validates too.
  EXPECT_THROW(RoundTracker(CodingSpec::Parse("mds:k=9"), 8), Error);
  EXPECT_THROW(RoundTracker(CodingSpec::Parse("gc-fr:s=2"), 4), Error);
}

TEST(CodingSpec, MessagesAndUnits) {
  const int n = 12;
  EXPECT_EQ(CodingSpec::Parse("uncoded").Messages(), 1);
  EXPECT_EQ(CodingSpec::Parse("replication:r=3").Messages(), 1);
  EXPECT_EQ(CodingSpec::Parse("gc-cr:s=3").Messages(), 1);
  EXPECT_EQ(CodingSpec::Parse("mds:k=4").Messages(), 1);
  EXPECT_EQ(CodingSpec::Parse("mm:r=4").Messages(), 4);
  EXPECT_DOUBLE_EQ(CodingSpec::Parse("uncoded").UnitsBefore(0, n), 1);
  EXPECT_DOUBLE_EQ(CodingSpec::Parse("replication:r=3").UnitsBefore(0, n), 3);
  EXPECT_DOUBLE_EQ(CodingSpec::Parse("gc-fr:s=2").UnitsBefore(0, n), 3);
  EXPECT_DOUBLE_EQ(CodingSpec::Parse("gc-cr:s=4").UnitsBefore(0, n), 5);
  EXPECT_DOUBLE_EQ(CodingSpec::Parse("mds:k=8").UnitsBefore(0, n), 1.5);
  for (int j = 0; j < 4; ++j) {
    EXPECT_DOUBLE_EQ(CodingSpec::Parse("mm:r=4").UnitsBefore(j, n), j + 1);
  }
  EXPECT_EQ(CodingSpec::Parse("uncoded").Blocks(n), 12);
  EXPECT_EQ(CodingSpec::Parse("replication:r=3").Blocks(n), 4);
  EXPECT_EQ(CodingSpec::Parse("gc-fr:s=2").Blocks(n), 12);
  EXPECT_EQ(CodingSpec::Parse("mm:r=4").Blocks(n), 12);
  EXPECT_EQ(CodingSpec::Parse("mds:k=8").Blocks(n), 8);
}

TEST(CodingSpec, GradientCodeBlocksMatchTheCodes) {
  for (int n = 1; n <= 12; ++n) {
    for (int s = 0; s < n; ++s) {
      SCOPED_TRACE("n=" + std::to_string(n) + " s=" + std::to_string(s));
      if (n % (s + 1) == 0) {
        const GradientCode fr = GradientCode::FractionalRepetition(n, s);
        const CodingSpec spec{CodingKind::kGcFractional, s};
        for (int w = 0; w < n; ++w) EXPECT_EQ(spec.BlocksOf(w, n), fr.Partitions(w)) << w;
      }
      if (n <= 10) {  // the cyclic code's constructor search grows with C(n, s)
        const CodingSpec spec{CodingKind::kGcCyclic, s};
        for (uint64_t seed : {1, 2}) {
          const GradientCode cr = GradientCode::CyclicRepetition(n, s, seed);
          for (int w = 0; w < n; ++w) EXPECT_EQ(spec.BlocksOf(w, n), cr.Partitions(w)) << w;
        }
      }
    }
  }
}

TEST(CodingSpec, MultiMessageBlocksMatchThePlan) {
  for (int n = 1; n <= 12; ++n) {
    for (int r = 1; r <= n; ++r) {
      const auto plan = Plan(n, r);
      const CodingSpec spec{CodingKind::kMultiMessage, r};
      for (int w = 0; w < n; ++w) EXPECT_EQ(spec.BlocksOf(w, n), plan[w]) << n << " " << r;
    }
  }
}

TEST(CodingSpec, EveryBlockIsComputedAndReplicationPlacesEachRTimes) {
  std::mt19937_64 rng(1);
  for (int n = 1; n <= 16; ++n) {
    for (int rep = 0; rep < 30; ++rep) {
      const CodingSpec spec = RandomSpec(n, rng);
      SCOPED_TRACE(spec.ToString() + " n=" + std::to_string(n));
      std::vector<int> copies(spec.Blocks(n), 0);
      for (int w = 0; w < n; ++w) {
        const std::vector<int> blocks = spec.BlocksOf(w, n);
        const int per_worker = spec.kind == CodingKind::kMultiMessage ? spec.param
                               : spec.is_gradient_code()              ? spec.param + 1
                                                                      : 1;
        ASSERT_EQ(static_cast<int>(blocks.size()), per_worker);
        EXPECT_EQ(std::set<int>(blocks.begin(), blocks.end()).size(), blocks.size());
        for (int b : blocks) {
          ASSERT_GE(b, 0);
          if (spec.kind == CodingKind::kMds) {
            ASSERT_EQ(b, w);  // its coded block
            if (b >= spec.Blocks(n)) continue;
          }
          ASSERT_LT(b, spec.Blocks(n));
          ++copies[b];
        }
      }
      for (int b = 0; b < spec.Blocks(n); ++b) {
        EXPECT_GE(copies[b], 1) << "block " << b;
        if (spec.kind == CodingKind::kReplication) {
          EXPECT_EQ(copies[b], spec.param);
        }
      }
    }
  }
}

// Coverage schemes (uncoded, replication, mm): the tracker completes exactly when every block
// has arrived once, and uses the first copy of each block.
TEST(RoundTracker, CoverageSchemesCompleteWhenEveryBlockArrived) {
  std::mt19937_64 rng(2);
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int n = std::uniform_int_distribution<int>(2, 12)(rng);
    const CodingSpec spec = RandomSpec(n, rng);
    if (CountsWorkers(spec)) continue;
    SCOPED_TRACE(spec.ToString() + " n=" + std::to_string(n));
    std::vector<std::pair<int, int>> msgs = AllMessages(spec, n);
    std::shuffle(msgs.begin(), msgs.end(), rng);
    RoundTracker tracker(spec, n);
    std::optional<Coverage> coverage;
    if (spec.kind == CodingKind::kMultiMessage) coverage.emplace(n, spec.param);
    std::set<int> seen;
    for (size_t i = 0; i < msgs.size(); ++i) {
      const auto [w, j] = msgs[i];
      const bool was_complete = tracker.Complete();
      const int block = CoverageBlock(spec, n, w, j);
      const bool fresh = seen.insert(block).second;
      const bool used = tracker.Arrive(w, j);
      EXPECT_EQ(used, fresh && !was_complete);
      const bool all = static_cast<int>(seen.size()) == spec.Blocks(n);
      EXPECT_EQ(tracker.Complete(), all);
      if (coverage) {
        EXPECT_EQ(coverage->Arrive(w, j), block);
        EXPECT_EQ(tracker.Complete(), coverage->Complete());
      }
      if (used) {
        ASSERT_FALSE(tracker.used().empty());
        EXPECT_EQ(tracker.used().back().worker, w);
        EXPECT_EQ(tracker.used().back().message, j);
        EXPECT_EQ(tracker.used().back().block, block);
        EXPECT_EQ(spec.BlocksOf(w, n)[j], block);
      }
      // A repeat of something already arrived is never used.
      const auto [dw, dj] = msgs[std::uniform_int_distribution<size_t>(0, i)(rng)];
      EXPECT_FALSE(tracker.Arrive(dw, dj));
    }
    EXPECT_TRUE(tracker.Complete());
    std::set<int> used_blocks;
    for (const auto& u : tracker.used()) used_blocks.insert(u.block);
    EXPECT_EQ(static_cast<int>(used_blocks.size()), spec.Blocks(n));
    EXPECT_EQ(static_cast<int>(tracker.used().size()), spec.Blocks(n));
    ++checked;
  }
  EXPECT_GT(checked, 1000);
}

// Gradient codes: done at exactly n−s distinct workers, and those workers decode the sum.
TEST(RoundTracker, GradientCodesCompleteAtNMinusSWorkersThatDecode) {
  std::mt19937_64 rng(3);
  std::map<std::pair<int, int>, GradientCode> fr, cr;
  auto code_for = [&](const CodingSpec& spec, int n) -> const GradientCode& {
    const std::pair<int, int> key{n, spec.param};
    if (spec.kind == CodingKind::kGcFractional) {
      auto it = fr.find(key);
      if (it == fr.end()) {
        it = fr.emplace(key, GradientCode::FractionalRepetition(n, spec.param)).first;
      }
      return it->second;
    }
    auto it = cr.find(key);
    if (it == cr.end()) {
      it = cr.emplace(key, GradientCode::CyclicRepetition(n, spec.param, 7)).first;
    }
    return it->second;
  };
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int n = std::uniform_int_distribution<int>(2, 12)(rng);
    const CodingSpec spec = RandomSpec(n, rng);
    if (!spec.is_gradient_code()) continue;
    const int s = spec.param;
    SCOPED_TRACE(spec.ToString() + " n=" + std::to_string(n));
    std::vector<int> order(n);
    for (int w = 0; w < n; ++w) order[w] = w;
    std::shuffle(order.begin(), order.end(), rng);
    RoundTracker tracker(spec, n);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(tracker.Arrive(order[i], 0), i < n - s);
      EXPECT_EQ(tracker.Complete(), i + 1 >= n - s) << "after " << i + 1 << " workers";
      EXPECT_FALSE(tracker.Arrive(order[i], 0));  // duplicate
    }
    ASSERT_EQ(static_cast<int>(tracker.used().size()), n - s);
    std::vector<int> survivors;
    for (int i = 0; i < n - s; ++i) {
      const auto& u = tracker.used()[i];
      EXPECT_EQ(u.worker, order[i]);
      EXPECT_EQ(u.message, 0);
      survivors.push_back(u.worker);
    }
    const GradientCode& code = code_for(spec, n);
    const int len = 16;
    std::vector<Eigen::VectorXf> partials;
    Eigen::VectorXd truth = Eigen::VectorXd::Zero(len);
    for (int p = 0; p < n; ++p) {
      partials.push_back(RandomVector(len, rng));
      truth += partials.back().cast<double>();
    }
    std::vector<Eigen::VectorXf> messages;
    for (int w : survivors) messages.push_back(code.Encode(w, partials));
    ASSERT_NO_THROW(code.DecodingVector(survivors));
    const Eigen::VectorXf sum = code.Decode(survivors, messages);
    const double err = (sum.cast<double>() - truth).cwiseAbs().maxCoeff();
    EXPECT_LE(err, 1e-4 * (1 + truth.cwiseAbs().maxCoeff()));
    ++checked;
  }
  EXPECT_GT(checked, 500);
}

// MDS: done at exactly k distinct workers, whose coded results give back A·x.
TEST(RoundTracker, MdsCompletesAtKWorkersThatDecode) {
  std::mt19937_64 rng(4);
  std::map<std::pair<int, int>, MdsCode> codes;
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int n = std::uniform_int_distribution<int>(2, 12)(rng);
    const CodingSpec spec = RandomSpec(n, rng);
    if (spec.kind != CodingKind::kMds) continue;
    const int k = spec.param;
    SCOPED_TRACE(spec.ToString() + " n=" + std::to_string(n));
    std::vector<int> order(n);
    for (int w = 0; w < n; ++w) order[w] = w;
    std::shuffle(order.begin(), order.end(), rng);
    RoundTracker tracker(spec, n);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(tracker.Arrive(order[i], 0), i < k);
      EXPECT_EQ(tracker.Complete(), i + 1 >= k) << "after " << i + 1 << " workers";
      EXPECT_FALSE(tracker.Arrive(order[i], 0));
    }
    ASSERT_EQ(static_cast<int>(tracker.used().size()), k);
    std::vector<int> survivors;
    for (const auto& u : tracker.used()) survivors.push_back(u.block);
    const std::pair<int, int> key{n, k};
    auto it = codes.find(key);
    if (it == codes.end()) it = codes.emplace(key, MdsCode(n, k, 100 + n)).first;
    const MdsCode& code = it->second;
    const int rows = 2 * k + 1;
    Eigen::MatrixXf a(rows, 5);
    for (int c = 0; c < 5; ++c) a.col(c) = RandomVector(rows, rng);
    const Eigen::MatrixXf x = RandomVector(5, rng);
    const std::vector<Eigen::MatrixXf> coded = code.Encode(a);
    std::vector<Eigen::MatrixXf> results;
    for (int b : survivors) results.push_back(coded[b] * x);
    const Eigen::MatrixXf got = code.Decode(survivors, results, rows);
    const Eigen::MatrixXf ax = a * x;
    EXPECT_LE((got - ax).norm(), 1e-3 * ax.norm());
    ++checked;
  }
  EXPECT_GT(checked, 300);
}

TEST(RoundTracker, OutOfRangeIdsThrowAndResetStartsOver) {
  RoundTracker mm(CodingSpec::Parse("mm:r=2"), 4);
  EXPECT_THROW(mm.Arrive(4, 0), Error);
  EXPECT_THROW(mm.Arrive(-1, 0), Error);
  EXPECT_THROW(mm.Arrive(0, 2), Error);
  EXPECT_THROW(mm.Arrive(0, -1), Error);
  RoundTracker mds(CodingSpec::Parse("mds:k=2"), 3);
  EXPECT_THROW(mds.Arrive(0, 1), Error);
  EXPECT_THROW(mds.Arrive(3, 0), Error);
  EXPECT_TRUE(mds.Arrive(2, 0));
  EXPECT_TRUE(mds.Arrive(0, 0));
  EXPECT_TRUE(mds.Complete());
  EXPECT_FALSE(mds.Arrive(1, 0));  // after completion nothing more is used
  mds.Reset();
  EXPECT_FALSE(mds.Complete());
  EXPECT_TRUE(mds.used().empty());
  EXPECT_TRUE(mds.Arrive(1, 0));  // arrivals forgotten
  EXPECT_FALSE(mds.Complete());
}

TEST(RoundTracker, PossibleExamples) {
  auto gone_set = [](int n, std::vector<int> ws) {
    std::vector<bool> g(n, false);
    for (int w : ws) g[w] = true;
    return g;
  };
  const int n = 6;
  RoundTracker uncoded(CodingSpec::Parse("uncoded"), n);
  EXPECT_TRUE(uncoded.Possible(gone_set(n, {})));
  EXPECT_FALSE(uncoded.Possible(gone_set(n, {3})));
  uncoded.Arrive(3, 0);
  EXPECT_TRUE(uncoded.Possible(gone_set(n, {3})));  // it already delivered
  EXPECT_FALSE(uncoded.Possible(gone_set(n, {3, 4})));

  RoundTracker gc(CodingSpec::Parse("gc-cr:s=2"), n);
  EXPECT_TRUE(gc.Possible(gone_set(n, {0, 5})));
  EXPECT_FALSE(gc.Possible(gone_set(n, {0, 1, 5})));
  gc.Arrive(1, 0);
  EXPECT_TRUE(gc.Possible(gone_set(n, {0, 1, 5})));
  EXPECT_FALSE(gc.Possible(gone_set(n, {0, 1, 2, 5})));

  RoundTracker fr(CodingSpec::Parse("gc-fr:s=1"), n);
  EXPECT_TRUE(fr.Possible(gone_set(n, {4})));
  EXPECT_FALSE(fr.Possible(gone_set(n, {0, 3})));

  RoundTracker mds(CodingSpec::Parse("mds:k=4"), n);
  EXPECT_TRUE(mds.Possible(gone_set(n, {1, 2})));
  EXPECT_FALSE(mds.Possible(gone_set(n, {1, 2, 3})));

  RoundTracker rep(CodingSpec::Parse("replication:r=2"), n);  // block b on workers b, b+3
  EXPECT_TRUE(rep.Possible(gone_set(n, {0, 1, 2})));
  EXPECT_FALSE(rep.Possible(gone_set(n, {1, 4})));

  RoundTracker mm(CodingSpec::Parse("mm:r=2"), n);  // block b on workers b−1, b
  EXPECT_TRUE(mm.Possible(gone_set(n, {0, 2, 4})));
  EXPECT_FALSE(mm.Possible(gone_set(n, {2, 3})));
  mm.Arrive(2, 1);  // block 3
  EXPECT_TRUE(mm.Possible(gone_set(n, {2, 3})));
  // A shorter vector means the rest are not gone.
  EXPECT_TRUE(mds.Possible({true}));
}

// An erased message (the server refused its values) is never used, and Possible() counts
// without it, message by message: a worker's other messages still count.
TEST(RoundTracker, ErasedMessagesAreNeitherUsedNorCountedOn) {
  const int n = 6;
  const std::vector<bool> none(n, false);
  RoundTracker rep(CodingSpec::Parse("replication:r=2"), n);  // block b on workers b, b+3
  rep.Erase(1, 0);
  EXPECT_TRUE(rep.Possible(none)) << "worker 4 holds block 1 too";
  EXPECT_FALSE(rep.Arrive(1, 0)) << "an erased message was used";
  rep.Erase(4, 0);
  EXPECT_FALSE(rep.Possible(none)) << "both copies of block 1 were erased";

  RoundTracker mm(CodingSpec::Parse("mm:r=2"), n);  // worker w: block w (j = 0), w + 1 (j = 1)
  mm.Erase(2, 1);                                   // block 3: worker 3's message 0 still holds it
  mm.Erase(3, 1);                                   // block 4: worker 4's message 0 still holds it
  EXPECT_TRUE(mm.Possible(none)) << "erasing a message lost its worker's other one";
  mm.Erase(3, 0);
  EXPECT_FALSE(mm.Possible(none)) << "both copies of block 3 were erased";

  RoundTracker uncoded(CodingSpec::Parse("uncoded"), n);
  for (int w = 0; w < n - 1; ++w) uncoded.Arrive(w, 0);
  uncoded.Erase(n - 1, 0);
  EXPECT_FALSE(uncoded.Complete());
  EXPECT_FALSE(uncoded.Possible(none));
  EXPECT_THROW(uncoded.Erase(n, 0), Error);
  EXPECT_THROW(uncoded.Erase(0, 1), Error);
}

// Possible against an independent count: what arrived plus everything the remaining workers
// could still send.
TEST(RoundTracker, PossibleMatchesAnIndependentCount) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 3000; ++trial) {
    const int n = std::uniform_int_distribution<int>(2, 12)(rng);
    const CodingSpec spec = RandomSpec(n, rng);
    SCOPED_TRACE(spec.ToString() + " n=" + std::to_string(n));
    std::vector<std::pair<int, int>> msgs = AllMessages(spec, n);
    std::shuffle(msgs.begin(), msgs.end(), rng);
    const size_t arrived = std::uniform_int_distribution<size_t>(0, msgs.size())(rng);
    RoundTracker tracker(spec, n);
    for (size_t i = 0; i < arrived; ++i) tracker.Arrive(msgs[i].first, msgs[i].second);
    std::vector<bool> gone(n);
    const double p = std::uniform_real_distribution<double>(0, 1)(rng);
    for (int w = 0; w < n; ++w) gone[w] = std::bernoulli_distribution(p)(rng);
    // Messages that have arrived or still can.
    std::vector<std::pair<int, int>> reachable(msgs.begin(), msgs.begin() + arrived);
    for (int w = 0; w < n; ++w) {
      if (gone[w]) continue;
      for (int j = 0; j < spec.Messages(); ++j) reachable.emplace_back(w, j);
    }
    bool expect;
    if (CountsWorkers(spec)) {
      std::set<int> workers;
      for (const auto& m : reachable) workers.insert(m.first);
      expect = static_cast<int>(workers.size()) >= WorkersNeeded(spec, n);
    } else {
      std::set<int> blocks;
      for (const auto& [w, j] : reachable) blocks.insert(CoverageBlock(spec, n, w, j));
      expect = static_cast<int>(blocks.size()) == spec.Blocks(n);
    }
    const size_t used = tracker.used().size();
    const bool complete = tracker.Complete();
    EXPECT_EQ(tracker.Possible(gone), expect) << "arrived " << arrived << " p " << p;
    // Possible is a question, not an arrival.
    EXPECT_EQ(tracker.used().size(), used);
    EXPECT_EQ(tracker.Complete(), complete);
  }
}

TEST(RoundCompletionTime, HandBuiltTables) {
  using Times = std::vector<std::vector<double>>;
  const CodingSpec uncoded = CodingSpec::Parse("uncoded");
  EXPECT_EQ(RoundCompletionTime(uncoded, 4, Times{{3}, {1}, {7}, {2}}), 7);
  // Replication r=2, n=4: block 0 on workers 0 and 2, block 1 on workers 1 and 3.
  const CodingSpec rep = CodingSpec::Parse("replication:r=2");
  EXPECT_EQ(RoundCompletionTime(rep, 4, Times{{5}, {1}, {2}, {7}}), 2);
  EXPECT_EQ(RoundCompletionTime(rep, 4, Times{{5}, {8}, {6}, {7}}), 7);
  // Gradient codes: the (n−s)-th fastest worker.
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("gc-fr:s=1"), 4, Times{{4}, {1}, {3}, {2}}), 3);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("gc-cr:s=2"), 5, Times{{9}, {4}, {1}, {8}, {2}}),
            4);
  // MDS: the k-th fastest.
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("mds:k=3"), 5, Times{{5}, {4}, {3}, {2}, {1}}),
            3);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("mds:k=1"), 3, Times{{5}, {4}, {6}}), 4);
  // mm r=2, n=3: worker w computes w then w+1. Block 0 at min(1, 8), block 1 at min(10, 5),
  // block 2 at min(6, 7).
  const Times mm_times{{1, 10}, {5, 6}, {7, 8}};
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("mm:r=2"), 3, mm_times), 6);
  EXPECT_EQ(CoverageTime(mm_times), 6);
}

TEST(RoundCompletionTime, FailStopWorker) {
  using Times = std::vector<std::vector<double>>;
  const Times one_dead{{1}, {kInf}, {2}, {3}};
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("uncoded"), 4, one_dead), kInf);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("mds:k=4"), 4, one_dead), kInf);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("mds:k=3"), 4, one_dead), 3);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("gc-fr:s=1"), 4, one_dead), 3);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("gc-cr:s=0"), 4, one_dead), kInf);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("replication:r=2"), 4, one_dead), 3);
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("mm:r=2"), 4,
                                Times{{1, 2}, {kInf, kInf}, {2, 4}, {3, 6}}),
            3);  // block 3 from worker 3 at 3 (worker 2 has it at 4)
  EXPECT_EQ(RoundCompletionTime(CodingSpec::Parse("mm:r=2"), 4,
                                Times{{1, 2}, {kInf, kInf}, {kInf, kInf}, {3, 6}}),
            kInf);
}

// Random tables against the definition of each scheme.
TEST(RoundCompletionTime, MatchesEachSchemesDefinition) {
  std::mt19937_64 rng(6);
  std::exponential_distribution<double> exp1(1.0);
  for (int trial = 0; trial < 2000; ++trial) {
    const int n = std::uniform_int_distribution<int>(1, 12)(rng);
    const CodingSpec spec = RandomSpec(n, rng);
    SCOPED_TRACE(spec.ToString() + " n=" + std::to_string(n));
    std::vector<std::vector<double>> times(n);
    std::vector<double> first(n);
    for (int w = 0; w < n; ++w) {
      double t = 0;
      for (int j = 0; j < spec.Messages(); ++j) times[w].push_back(t += exp1(rng));
      first[w] = times[w][0];
    }
    std::sort(first.begin(), first.end());
    double expect = 0;
    switch (spec.kind) {
      case CodingKind::kUncoded:
        expect = first.back();
        break;
      case CodingKind::kReplication: {
        const int blocks = n / spec.param;
        std::vector<double> best(blocks, kInf);
        for (int w = 0; w < n; ++w) best[w % blocks] = std::min(best[w % blocks], times[w][0]);
        expect = *std::max_element(best.begin(), best.end());
        break;
      }
      case CodingKind::kGcFractional:
      case CodingKind::kGcCyclic:
        expect = first[n - spec.param - 1];
        break;
      case CodingKind::kMultiMessage:
        expect = CoverageTime(times);
        break;
      case CodingKind::kMds:
        expect = first[spec.param - 1];
        break;
    }
    EXPECT_EQ(RoundCompletionTime(spec, n, times), expect);
  }
}

TEST(MessageTimes, UseOneDrawPerWorkerAndRound) {
  const StragglerModel model = StragglerModel::ShiftedExp(1.0).set_seed(3).set_base_time(0.25);
  const int n = 8;
  for (const char* text : {"uncoded", "replication:r=2", "gc-cr:s=3", "mm:r=3", "mds:k=6"}) {
    const CodingSpec spec = CodingSpec::Parse(text);
    for (int w = 0; w < n; ++w) {
      for (uint64_t round : {0, 1, 77}) {
        const std::vector<double> t = MessageTimes(spec, n, model, w, round);
        const double unit = model.Sample(w, round, 1)[0];
        ASSERT_EQ(static_cast<int>(t.size()), spec.Messages());
        for (int j = 0; j < spec.Messages(); ++j) {
          EXPECT_DOUBLE_EQ(t[j], unit * spec.UnitsBefore(j, n)) << text;
        }
        if (spec.kind == CodingKind::kMultiMessage) {
          EXPECT_EQ(t, model.Sample(w, round, spec.param));
        }
      }
    }
  }
}

// Order statistic of gradient coding: the (n−s)-th fastest of n workers with share (s+1)/n.
double ExpectedTimeGc(int n, int s, double mu) {
  return (s + 1.0) / n * (1 + (HarmonicNumber(n) - HarmonicNumber(s)) / mu);
}

// Standard deviation of share·(1 + E_(m)), E_(m) the m-th smallest of `count` i.i.d.
// Exp(rate): Var E_(m) = Σ_{i=count−m+1}^{count} 1/(i·rate)² (Rényi's representation).
double OrderStatisticSd(double share, int count, int m, double rate) {
  double var = 0;
  for (int i = count - m + 1; i <= count; ++i) var += 1.0 / (i * rate * i * rate);
  return share * std::sqrt(var);
}

// The Monte Carlo over the straggler model's own draws agrees with the exact expectations.
// Every draw seeds its own mt19937_64 (~0.6 µs), so 5000 trials per case keep the whole test
// near 1.5 s; the standard error is then 1.4% of the standard deviation, far below the gap a
// wrong load or an off-by-one order statistic would make.
TEST(MonteCarloRoundTime, AgreesWithClosedForms) {
  const int trials = 5000;
  int checks = 0;
  double worst_z = 0, worst_sd = 0;
  for (int n : {4, 8, 16}) {
    for (double mu : {0.5, 1.0, 10.0}) {
      const StragglerModel model =
          StragglerModel::ShiftedExp(mu).set_seed(1000 + n).set_base_time(1.0 / n);
      const int k = n / 2;
      struct Case {
        CodingSpec spec;
        double mean;
        double sd;
      };
      const std::vector<Case> cases = {
          {{CodingKind::kUncoded, 0},
           ExpectedTimeUncoded(n, mu),
           OrderStatisticSd(1.0 / n, n, n, mu)},
          {{CodingKind::kMds, k}, ExpectedTimeMds(n, k, mu), OrderStatisticSd(1.0 / k, n, k, mu)},
          {{CodingKind::kMds, n - 1},
           ExpectedTimeMds(n, n - 1, mu),
           OrderStatisticSd(1.0 / (n - 1), n, n - 1, mu)},
          // n/2 blocks, each first arriving at the minimum of two Exp(μ): Exp(2μ).
          {{CodingKind::kReplication, 2},
           ExpectedTimeReplication(n, k, mu),
           OrderStatisticSd(2.0 / n, k, k, 2 * mu)},
          {{CodingKind::kGcFractional, 1},
           ExpectedTimeGc(n, 1, mu),
           OrderStatisticSd(2.0 / n, n, n - 1, mu)},
          {{CodingKind::kGcCyclic, 2},
           ExpectedTimeGc(n, 2, mu),
           OrderStatisticSd(3.0 / n, n, n - 2, mu)},
      };
      for (const Case& c : cases) {
        SCOPED_TRACE(c.spec.ToString() + " n=" + std::to_string(n) + " mu=" + std::to_string(mu));
        const RoundTimeEstimate e = MonteCarloRoundTime(c.spec, n, model, trials, 5);
        ASSERT_GT(e.std_error, 0);
        EXPECT_NEAR(e.mean, c.mean, 4 * e.std_error + 1e-9);
        worst_z = std::max(worst_z, std::abs(e.mean - c.mean) / e.std_error);
        // The reported standard error is the sample sd over √trials.
        const double sd = e.std_error * std::sqrt(trials);
        EXPECT_NEAR(sd / c.sd, 1.0, 0.1);
        worst_sd = std::max(worst_sd, std::abs(sd / c.sd - 1));
        ++checks;
      }
    }
  }
  std::printf(
      "%d Monte Carlo estimates: worst |mean - exact| = %.2f standard errors, worst relative "
      "error of the sample sd %.3f\n",
      checks, worst_z, worst_sd);
}

TEST(MonteCarloRoundTime, DeterministicModels) {
  const int n = 6;
  // No stragglers: every worker takes exactly its load.
  const StragglerModel none = StragglerModel::None().set_base_time(1.0 / n);
  EXPECT_DOUBLE_EQ(MonteCarloRoundTime(CodingSpec::Parse("uncoded"), n, none, 10).mean, 1.0 / n);
  EXPECT_DOUBLE_EQ(MonteCarloRoundTime(CodingSpec::Parse("mds:k=4"), n, none, 10).mean, 0.25);
  EXPECT_DOUBLE_EQ(MonteCarloRoundTime(CodingSpec::Parse("gc-fr:s=2"), n, none, 10).mean, 0.5);
  EXPECT_DOUBLE_EQ(MonteCarloRoundTime(CodingSpec::Parse("mm:r=3"), n, none, 10).mean, 1.0 / n);
  EXPECT_EQ(MonteCarloRoundTime(CodingSpec::Parse("mds:k=4"), n, none, 10).std_error, 0);
  // Worker 2 dies from round 3 on: uncoded never finishes, MDS with k < n does not notice.
  const StragglerModel dead = StragglerModel::FailStop(2, 3).set_base_time(1.0 / n);
  EXPECT_DOUBLE_EQ(MonteCarloRoundTime(CodingSpec::Parse("uncoded"), n, dead, 3).mean, 1.0 / n);
  EXPECT_EQ(MonteCarloRoundTime(CodingSpec::Parse("uncoded"), n, dead, 10).mean, kInf);
  EXPECT_EQ(MonteCarloRoundTime(CodingSpec::Parse("uncoded"), n, dead, 10).std_error, kInf);
  EXPECT_EQ(MonteCarloRoundTime(CodingSpec::Parse("uncoded"), n, dead, 1, 3).mean, kInf);
  EXPECT_DOUBLE_EQ(MonteCarloRoundTime(CodingSpec::Parse("mds:k=5"), n, dead, 10).mean, 0.2);
  EXPECT_DOUBLE_EQ(MonteCarloRoundTime(CodingSpec::Parse("gc-cr:s=1"), n, dead, 10).mean, 1.0 / 3);
  EXPECT_THROW(MonteCarloRoundTime(CodingSpec::Parse("uncoded"), n, none, 0), Error);
}

TEST(RoundCompletionTime, RefusesATableOfTheWrongSize) {
  EXPECT_THROW(RoundCompletionTime(CodingSpec::Parse("uncoded"), 3, {{1.0}, {2.0}}), Error);
}

TEST(CodingSpec, ExtraParameterIsNamedAsSuch) {
  try {
    CodingSpec::Parse("mds:k=8,s=1");
    ADD_FAILURE() << "accepted two parameters";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("exactly one parameter"));
  }
  EXPECT_EQ(CodingSpec::KindNamed("gc-cr"), CodingKind::kGcCyclic);
  EXPECT_EQ(CodingSpec::KindNamed("gc"), std::nullopt);
}

}  // namespace
}  // namespace gw::coding
