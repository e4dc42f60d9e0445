// The interface one coding scheme implements (coding/scheme.h lists the schemes and what
// they do). A scheme is stateless: every call takes its one integer parameter (replication
// R, gc S, mm R, mds K; 0 for uncoded) and the worker count n, already checked by Misfit.
// The registry (coding/scheme_registry.h) maps names and CodingKind to schemes; CodingSpec,
// RoundTracker, ps/coded_shape, ps/coded_decoder and ps/coded_task ask the scheme instead of
// switching on the kind, so a new scheme is one file and one registry line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gw::coding {

enum class CodingKind { kUncoded, kReplication, kGcFractional, kGcCyclic, kMultiMessage, kMds };

// One message the round's decoding uses: worker w's message j, and the block it stands for
// (coverage schemes) or the worker itself (first-workers schemes).
struct UsedMessage {
  int worker;
  int message;
  int block;
};

// When a round can finish (RoundTracker).
enum class RoundRule {
  kEveryBlock,    // every data block arrived once, whichever worker sent it
  kFirstWorkers,  // Needed(param, n) distinct workers arrived, one message each
};

// What the workers compute (ps/coded_shape.h).
enum class Computes {
  kGradients,  // one round per iteration; every message is linear in the blocks' gradients
  // Lee et al.'s coded matrix-vector products for linreg: two rounds per iteration, each on
  // the worker's coded row block (coding/mds.h). Its arithmetic lives in ps/coded_task and
  // ps/coded_decoder behind this capability: it is not a gradient combination.
  kMatrixVectorProducts,
};

// The linear algebra of a gradient scheme for one job, built once on both sides (from the
// same seed, so workers and server agree).
class GradientCombiner {
 public:
  virtual ~GradientCombiner() = default;
  // Message j of `worker` is Σ coef · (gradient of blocks[index]), blocks = BlocksOf(worker).
  struct Term {
    size_t index;
    float coef;
  };
  virtual std::vector<Term> Encoding(int worker, int j, const std::vector<int>& blocks) const = 0;
  // Weights, one per used message in order, whose weighted sum of the messages is the sum of
  // every data block's gradient. Throws gw::Error if the code refuses the survivor set.
  virtual std::vector<float> Decoding(const std::vector<UsedMessage>& used) const = 0;
};

// Messages that are each one block's gradient; decoding sums one copy of every block
// (uncoded, replication, mm).
class BlockPerMessage final : public GradientCombiner {
 public:
  std::vector<Term> Encoding(int worker, int j, const std::vector<int>& blocks) const override;
  std::vector<float> Decoding(const std::vector<UsedMessage>& used) const override;
};

class CodingScheme {
 public:
  virtual ~CodingScheme() = default;

  virtual CodingKind kind() const = 0;
  virtual std::string_view name() const = 0;  // as on the command line: "gc-cr"
  virtual std::string_view key() const = 0;   // its one parameter ("s"), "" for none
  // Why the scheme does not fit n >= 1 workers, or nullopt if it does.
  virtual std::optional<std::string> Misfit(int param, int n) const = 0;

  // Number of data blocks the job's data is split into.
  virtual int Blocks(int param, int n) const { return n; }
  // Blocks worker w computes, in order (gc: the blocks it combines; mds: its coded block id).
  virtual std::vector<int> BlocksOf(int param, int worker, int n) const { return {worker}; }
  // Messages a worker sends per round.
  virtual int Messages(int param) const { return 1; }
  // Work (in units of 1/n of the job) done before message j (0-based) is ready.
  virtual double UnitsBefore(int param, int j, int n) const = 0;

  virtual RoundRule round_rule() const { return RoundRule::kEveryBlock; }
  // Distinct blocks (kEveryBlock) or workers (kFirstWorkers) that finish a round.
  virtual int Needed(int param, int n) const { return Blocks(param, n); }

  virtual Computes computes() const { return Computes::kGradients; }
  // Whether the messages are gradient-code combinations (coding/gradient_code.h).
  virtual bool is_gradient_code() const { return false; }
  // The job's combiner (computes() == kGradients only).
  virtual std::unique_ptr<GradientCombiner> MakeCombiner(int param, int n, uint64_t seed) const {
    return std::make_unique<BlockPerMessage>();
  }
};

}  // namespace gw::coding
