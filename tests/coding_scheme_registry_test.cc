// The coding-scheme registry (coding/scheme_registry.h): every registered scheme parses by
// its name, prints back to a text that parses to the same spec, and is listed when a name is
// unknown; kinds and names map one to one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <random>
#include <set>
#include <string>

#include "base/error.h"
#include "coding/scheme.h"
#include "coding/scheme_registry.h"

namespace gw::coding {
namespace {

using ::testing::HasSubstr;

// A text for the scheme with parameter 1 (or none): every scheme fits some n with it.
std::string TextOf(const CodingScheme& s) {
  if (s.key().empty()) return std::string(s.name());
  return std::string(s.name()) + ":" + std::string(s.key()) + "=1";
}

TEST(SchemeRegistry, EveryRegisteredSchemeParsesAndRoundTrips) {
  ASSERT_FALSE(CodingSchemes().empty());
  for (const CodingScheme* s : CodingSchemes()) {
    SCOPED_TRACE(std::string(s->name()));
    const CodingSpec spec = CodingSpec::Parse(TextOf(*s));
    EXPECT_EQ(spec.kind, s->kind());
    EXPECT_EQ(&spec.scheme(), s);
    const CodingSpec again = CodingSpec::Parse(spec.ToString());
    EXPECT_EQ(again.kind, spec.kind);
    EXPECT_EQ(again.param, spec.param);
    EXPECT_EQ(again.ToString(), spec.ToString());
    EXPECT_EQ(CodingSpec::KindNamed(s->name()), s->kind());
    EXPECT_EQ(SchemeNamed(s->name()), s);
    EXPECT_EQ(&SchemeOf(s->kind()), s);
  }
}

TEST(SchemeRegistry, NamesAndKindsAreUnique) {
  std::set<std::string_view> names;
  std::set<CodingKind> kinds;
  for (const CodingScheme* s : CodingSchemes()) {
    EXPECT_TRUE(names.insert(s->name()).second) << s->name();
    EXPECT_TRUE(kinds.insert(s->kind()).second) << s->name();
  }
}

TEST(SchemeRegistry, UnknownNameListsEveryRegisteredScheme) {
  try {
    CodingSpec::Parse("no-such-scheme");
    ADD_FAILURE() << "accepted an unknown scheme";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown scheme"));
    for (const CodingScheme* s : CodingSchemes()) EXPECT_THAT(e.what(), HasSubstr(s->name()));
  }
  EXPECT_EQ(SchemeNamed("no-such-scheme"), nullptr);
  EXPECT_EQ(CodingSpec::KindNamed("no-such-scheme"), std::nullopt);
}

TEST(SchemeRegistry, FormsNameEachParameter) {
  EXPECT_EQ(SchemeForms(), "uncoded | replication:r=R | gc-fr:s=S | gc-cr:s=S | mm:r=R | mds:k=K");
}

// Whatever the scheme, its combiner's messages are combinations of the worker's own blocks.
TEST(SchemeRegistry, GradientCombinersNameOnlyTheWorkersBlocks) {
  constexpr int kWorkers = 4;
  for (const CodingScheme* s : CodingSchemes()) {
    if (s->computes() != Computes::kGradients) continue;
    SCOPED_TRACE(std::string(s->name()));
    const int param = s->key().empty() ? 0 : 1;
    ASSERT_EQ(s->Misfit(param, kWorkers), std::nullopt);
    const auto combiner = s->MakeCombiner(param, kWorkers, /*seed=*/7);
    for (int w = 0; w < kWorkers; ++w) {
      const std::vector<int> blocks = s->BlocksOf(param, w, kWorkers);
      for (int j = 0; j < s->Messages(param); ++j) {
        const auto terms = combiner->Encoding(w, j, blocks);
        EXPECT_FALSE(terms.empty());
        for (const auto& t : terms) EXPECT_LT(t.index, blocks.size());
      }
    }
  }
}

// The algebra of every gradient scheme, whatever it is: encode random block gradients with
// the combiner, let the round tracker pick the messages in a random arrival order, and the
// decoding weights must give back the sum of every block's gradient.
TEST(SchemeRegistry, EveryGradientSchemeDecodesTheSumOfItsBlocks) {
  constexpr int kWorkers = 6;
  constexpr int kLength = 5;
  std::mt19937_64 rng(2026);
  std::normal_distribution<float> normal;
  for (const CodingScheme* s : CodingSchemes()) {
    if (s->computes() != Computes::kGradients) continue;
    for (int param = 0; param <= kWorkers; ++param) {
      if (s->Misfit(param, kWorkers)) continue;
      SCOPED_TRACE(std::string(s->name()) + " param=" + std::to_string(param));
      const int blocks = s->Blocks(param, kWorkers);
      std::vector<Eigen::VectorXf> g(blocks, Eigen::VectorXf(kLength));
      Eigen::VectorXf want = Eigen::VectorXf::Zero(kLength);
      for (auto& v : g) {
        for (int i = 0; i < kLength; ++i) v(i) = normal(rng);
        want += v;
      }
      const auto combiner = s->MakeCombiner(param, kWorkers, /*seed=*/7);
      std::vector<std::vector<Eigen::VectorXf>> messages(kWorkers);
      std::vector<std::pair<int, int>> order;
      for (int w = 0; w < kWorkers; ++w) {
        const std::vector<int> held = s->BlocksOf(param, w, kWorkers);
        for (int j = 0; j < s->Messages(param); ++j) {
          Eigen::VectorXf m = Eigen::VectorXf::Zero(kLength);
          for (const auto& t : combiner->Encoding(w, j, held)) m += t.coef * g[held.at(t.index)];
          messages[w].push_back(m);
          order.emplace_back(w, j);
        }
      }
      std::shuffle(order.begin(), order.end(), rng);
      RoundTracker tracker(CodingSpec{s->kind(), param}, kWorkers);
      for (const auto& [w, j] : order) {
        if (tracker.Complete()) break;
        tracker.Arrive(w, j);
      }
      ASSERT_TRUE(tracker.Complete());
      const std::vector<float> weights = combiner->Decoding(tracker.used());
      ASSERT_EQ(weights.size(), tracker.used().size());
      Eigen::VectorXf got = Eigen::VectorXf::Zero(kLength);
      for (size_t i = 0; i < weights.size(); ++i) {
        const auto& u = tracker.used()[i];
        got += weights[i] * messages[u.worker][u.message];
      }
      EXPECT_LT((got - want).norm(), 1e-3f * want.norm());
    }
  }
}

}  // namespace
}  // namespace gw::coding
