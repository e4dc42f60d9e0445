// Coded jobs without the network: every worker's messages from CodedTask, decoded by
// CodedDecoder from every admissible survivor set the round tracker accepts, must equal the
// uncoded answer (the full-batch gradient, or A·x and the gradient for mds).
#include <gtest/gtest.h>

#include <random>

#include "base/error.h"
#include "coding/subsets.h"
#include "ps/coded_decoder.h"
#include "ps/coded_task.h"
#include "ps/server/coded_rounds.h"
#include "ps/workload/linreg.h"
#include "tests/mds_orders.h"

namespace gw {
namespace {

JobConfig LinregJob(int n, const std::string& coding) {
  JobConfig job;
  job.workload.kind = "linreg";
  job.workload.linreg_rows = 960;  // divisible by every block count used below
  job.workload.linreg_dims = 24;
  job.workload.batch_size = 960;  // a block's batch is the whole block: full-batch gradients
  job.workload.seed = 7;
  job.num_workers = static_cast<uint32_t>(n);
  job.coding = coding::CodingSpec::Parse(coding);
  return job;
}

// Full-batch gradient of the linreg loss at x: Aᵀ(A·x − y)/m.
Eigen::VectorXf TrueGradient(const JobConfig& job, const Eigen::VectorXf& x) {
  const LinregProblem p = MakeLinregProblem(job.workload);
  return p.a.transpose() * (p.a * x - p.y) / static_cast<float>(p.a.rows());
}

struct Messages {
  // [worker][j]
  std::vector<std::vector<std::vector<float>>> m;
};

Messages ComputeAll(const JobConfig& job, const CodedShape& shape, uint64_t round,
                    const std::vector<float>& input) {
  Messages out;
  for (int w = 0; w < shape.n; ++w) {
    CodedTask task(job, shape, static_cast<uint32_t>(w));
    out.m.emplace_back();
    for (int j = 0; j < shape.spec.Messages(); ++j) {
      std::vector<float> msg(shape.message_floats(shape.phase(round)));
      task.Compute(round, j, input, msg);
      out.m.back().push_back(std::move(msg));
    }
  }
  return out;
}

// Decodes from the arrival order `order` of (worker, j) as the server does (the tracker asks
// the decoder whether the set in hand decodes); returns nullopt if the tracker never
// completes. *used: how many messages the decode used.
std::optional<std::vector<float>> DecodeInOrder(const CodedShape& shape,
                                                const CodedDecoder& decoder, int phase,
                                                const Messages& msgs,
                                                const std::vector<std::pair<int, int>>& order,
                                                size_t out_floats, size_t* used = nullptr) {
  coding::RoundTracker tracker(shape.spec, shape.n, decoder.DecodableCheck());
  for (const auto& [w, j] : order) {
    tracker.Arrive(w, j);
    if (tracker.Complete()) break;
  }
  if (!tracker.Complete()) return std::nullopt;
  if (used != nullptr) *used = tracker.used().size();
  std::vector<float> out(out_floats);
  decoder.Decode(
      phase, tracker.used(), [&](int w, int j) { return std::span<const float>(msgs.m[w][j]); },
      out);
  return out;
}

void ExpectNear(const std::vector<float>& got, const Eigen::VectorXf& want, double rel) {
  ASSERT_EQ(got.size(), static_cast<size_t>(want.size()));
  const Eigen::Map<const Eigen::VectorXf> g(got.data(), static_cast<Eigen::Index>(got.size()));
  EXPECT_LE((g - want).norm(), rel * want.norm()) << "decoded differs from the uncoded answer";
}

class GradientSchemes : public ::testing::TestWithParam<std::string> {};

// Every survivor set of the size the code needs (and for mm/replication every arrival
// order the tracker completes on, sampled) decodes to the full-batch gradient.
TEST_P(GradientSchemes, EverySurvivorSetDecodesTheFullGradient) {
  const int n = 6;
  const JobConfig job = LinregJob(n, GetParam());
  const CodedShape shape = CodedShape::Make(job, job.workload.linreg_dims);
  const CodedDecoder decoder(job, shape);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> x(shape.d);
  for (float& v : x) v = normal(rng);
  const Eigen::VectorXf want =
      TrueGradient(job, Eigen::Map<const Eigen::VectorXf>(x.data(), shape.d));
  const Messages msgs = ComputeAll(job, shape, 0, x);

  int decoded = 0, refused = 0;
  // Survivor sets of every size: each survivor's messages arrive in a random order.
  for (int size = 1; size <= n; ++size) {
    coding::ForEachSubset(n, size, [&](const std::vector<int>& survivors) {
      std::vector<std::pair<int, int>> order;
      for (int w : survivors) {
        for (int j = 0; j < shape.spec.Messages(); ++j) order.emplace_back(w, j);
      }
      std::shuffle(order.begin(), order.end(), rng);
      const auto got = DecodeInOrder(shape, decoder, 0, msgs, order, shape.d);
      std::vector<bool> gone(n, true);
      for (int w : survivors) gone[w] = false;
      const bool possible = coding::RoundTracker(shape.spec, n).Possible(gone);
      EXPECT_EQ(got.has_value(), possible) << "survivor count " << size;
      if (!got) {
        ++refused;
        return;
      }
      ++decoded;
      ExpectNear(*got, want, 1e-4);
    });
  }
  EXPECT_GT(decoded, 0);
  EXPECT_GT(refused, 0);  // no scheme here decodes from a single survivor
  RecordProperty("decoded", decoded);
  RecordProperty("refused", refused);
}

INSTANTIATE_TEST_SUITE_P(Schemes, GradientSchemes,
                         ::testing::Values("uncoded", "replication:r=2", "replication:r=3",
                                           "gc-fr:s=1", "gc-fr:s=2", "gc-cr:s=1", "gc-cr:s=3",
                                           "mm:r=1", "mm:r=2", "mm:r=4"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return s;
                         });

// mds: both products of an iteration (A·x, then Aᵀ·r) decode from every k-subset, and the
// resulting gradient is the full-batch one.
TEST(CodedMds, EveryKSubsetDecodesBothProducts) {
  const int n = 6;
  for (int k : {2, 4, 5}) {
    SCOPED_TRACE("k=" + std::to_string(k));
    const JobConfig job = LinregJob(n, "mds:k=" + std::to_string(k));
    const CodedShape shape = CodedShape::Make(job, job.workload.linreg_dims);
    const CodedDecoder decoder(job, shape);
    const LinregProblem p = MakeLinregProblem(job.workload);
    std::vector<float> x(shape.d);
    std::mt19937_64 rng(k);
    std::normal_distribution<float> normal;
    for (float& v : x) v = normal(rng);
    const Eigen::Map<const Eigen::VectorXf> xv(x.data(), shape.d);
    const Eigen::VectorXf ax = p.a * xv;
    const Messages products = ComputeAll(job, shape, 0, x);
    std::vector<float> r(shape.m);
    coding::ForEachSubset(n, k, [&](const std::vector<int>& survivors) {
      std::vector<std::pair<int, int>> order;
      for (int w : survivors) order.emplace_back(w, 0);
      std::shuffle(order.begin(), order.end(), rng);
      const auto got = DecodeInOrder(shape, decoder, 0, products, order, shape.m);
      ASSERT_TRUE(got.has_value());
      ExpectNear(*got, ax, 1e-4);
    });
    // Round 1 from the exact residual.
    const auto got_ax = DecodeInOrder(shape, decoder, 0, products,
                                      {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}}, shape.m);
    ASSERT_TRUE(got_ax.has_value());
    const double loss = decoder.Residual(*got_ax, r);
    EXPECT_NEAR(loss, 0.5 * (ax - p.y).squaredNorm() / shape.m, 1e-3 * loss);
    const Messages second = ComputeAll(job, shape, 1, r);
    const Eigen::VectorXf want = TrueGradient(job, xv);
    coding::ForEachSubset(n, k, [&](const std::vector<int>& survivors) {
      std::vector<std::pair<int, int>> order;
      for (int w : survivors) order.emplace_back(w, 0);
      const auto got = DecodeInOrder(shape, decoder, 1, second, order, shape.d);
      ASSERT_TRUE(got.has_value());
      ExpectNear(*got, want, 1e-3);
    });
    // Fewer than k never completes.
    std::vector<std::pair<int, int>> few;
    for (int w = 0; w < k - 1; ++w) few.emplace_back(w, 0);
    EXPECT_FALSE(DecodeInOrder(shape, decoder, 0, products, few, shape.m).has_value());
  }
}

// mds at n = 50, k = 34 (the size the simulated study failed at): a round whose first 34
// results the code refuses is not decoded from them; with the next result it is, from all 35,
// and A·x comes out as the uncoded product.
TEST(CodedMds, IllConditionedFirstKWaitsForTheNextResult) {
  const int n = 50, k = 34;
  const JobConfig job = LinregJob(n, "mds:k=34");
  const CodedShape shape = CodedShape::Make(job, job.workload.linreg_dims);
  const CodedDecoder decoder(job, shape);
  const std::vector<int> workers =
      testing::IllConditionedOrder(*coding::SharedMdsCode(n, k, job.workload.seed), /*seed=*/3);
  ASSERT_EQ(static_cast<int>(workers.size()), n) << "no ill-conditioned k-set found";
  std::vector<std::pair<int, int>> order;
  for (int w : workers) order.emplace_back(w, 0);
  const LinregProblem p = MakeLinregProblem(job.workload);
  std::vector<float> x(shape.d);
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  const Eigen::VectorXf ax = p.a * Eigen::Map<const Eigen::VectorXf>(x.data(), shape.d);
  const Messages products = ComputeAll(job, shape, 0, x);

  const std::vector<std::pair<int, int>> first_k(order.begin(), order.begin() + k);
  EXPECT_FALSE(DecodeInOrder(shape, decoder, 0, products, first_k, shape.m).has_value());
  size_t used = 0;
  const auto got = DecodeInOrder(shape, decoder, 0, products, order, shape.m, &used);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(used, static_cast<size_t>(k + 1));
  ExpectNear(*got, ax, 1e-4);
}

// The server's rounds (what `gradwire sim` failed in at n = 50): the ill-conditioned first 34
// results land without closing the round, the 35th closes it, and the decode of all 35 gives
// the loss at x.
TEST(CodedMds, ServerRoundClosesAtTheFirstResultThatMakesItDecodable) {
  const int n = 50, k = 34;
  JobConfig job = LinregJob(n, "mds:k=34");
  job.iterations = 2;
  const CodedShape shape = CodedShape::Make(job, job.workload.linreg_dims);
  const std::vector<int> order =
      testing::IllConditionedOrder(*coding::SharedMdsCode(n, k, job.workload.seed), /*seed=*/3);
  ASSERT_EQ(static_cast<int>(order.size()), n) << "no ill-conditioned k-set found";
  std::vector<float> x(shape.d);
  std::mt19937_64 rng(13);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  const LinregProblem p = MakeLinregProblem(job.workload);
  const Eigen::VectorXf r = p.a * Eigen::Map<const Eigen::VectorXf>(x.data(), shape.d) - p.y;
  const double want_loss = 0.5 * r.squaredNorm() / static_cast<double>(shape.m);

  CodedRounds rounds(job, shape, x);
  std::vector<std::vector<float>> slots(n, std::vector<float>(rounds.slot_floats()));
  rounds.SetSlots({slots.begin(), slots.end()});
  for (const auto& a : rounds.Start(GetClock().Now())) ASSERT_TRUE(rounds.Feed(a.worker));
  const Messages products = ComputeAll(job, shape, 0, x);
  const uint32_t parts = shape.parts(shape.message_floats(0));
  auto land = [&](int w) {
    std::copy(products.m[w][0].begin(), products.m[w][0].end(), slots[w].begin());
    CodedRounds::Landing landing = CodedRounds::Landing::kDropped;
    uint64_t push = 0;
    for (uint32_t part = 0; part < parts; ++part) {
      landing = rounds.OnLanded(static_cast<uint32_t>(w), Imm{0, shape.PartId(0, part)}, &push);
    }
    return landing;
  };
  for (int i = 0; i < k; ++i) {
    ASSERT_EQ(land(order[i]), CodedRounds::Landing::kArrived) << "result " << i + 1;
  }
  ASSERT_EQ(land(order[k]), CodedRounds::Landing::kRoundComplete);
  const CodedRounds::Closed closed = rounds.CloseRound(GetClock().Now());
  EXPECT_FALSE(closed.failure.has_value());
  ASSERT_EQ(rounds.log().size(), 1u);
  EXPECT_EQ(rounds.log()[0].messages_used, static_cast<uint32_t>(k + 1));
  EXPECT_NEAR(rounds.log()[0].loss, want_loss, 1e-4 * want_loss);
}

TEST(CodedShape, RefusesWhatCannotRun) {
  JobConfig job = LinregJob(4, "mds:k=3");
  job.num_servers = 2;
  EXPECT_THROW(CodedShape::Make(job, 24), Error);
  job = LinregJob(4, "mds:k=3");
  job.workload.kind = "softmax";
  try {
    CodedShape::Make(job, 24);
    ADD_FAILURE() << "mds accepted a softmax workload";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linreg"), std::string::npos) << e.what();
  }
  job = LinregJob(4, "gc-fr:s=2");  // 3 does not divide 4
  EXPECT_THROW(CodedShape::Make(job, 24), Error);
  job = LinregJob(4, "mm:r=2");
  job.part_bytes = 4;  // one float per write: 2 messages x 24 writes fit
  EXPECT_NO_THROW(CodedShape::Make(job, 24));
  EXPECT_THROW(CodedShape::Make(job, 5000), Error);  // 2 x 5000 writes exceed 4096 parts
}

// Replicas of a block compute on the same minibatch, whatever rounds they skipped.
TEST(CodedTask, ReplicasAgreeAfterSkippedRounds) {
  JobConfig mm = LinregJob(4, "mm:r=2");
  mm.workload.batch_size = 16;  // real minibatches now
  const CodedShape shape = CodedShape::Make(mm, mm.workload.linreg_dims);
  const std::vector<float> x(shape.d, 0.25f);
  CodedTask w0(mm, shape, 0), w3(mm, shape, 3);  // w0: blocks 0, 1; w3: blocks 3, 0
  std::vector<float> a(shape.d), b(shape.d);
  for (uint64_t round : {0u, 5u, 6u, 40u}) {
    // Rounds in between are skipped (never computed): block 0 must agree anyway.
    w0.Compute(round, 0, x, a);
    w3.Compute(round, 1, x, b);
    EXPECT_EQ(a, b) << "round " << round;
  }
  w0.Compute(7, 0, x, a);
  w3.Compute(8, 1, x, b);
  EXPECT_NE(a, b) << "different rounds should use different minibatches";
}

}  // namespace
}  // namespace gw
