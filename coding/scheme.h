// Coded-computation schemes as the parameter server runs them: which data blocks each of n
// workers computes in a round, how many messages it sends, and when the server has enough to
// finish the round. Pure bookkeeping; each scheme is one file implementing
// coding/coding_scheme.h, listed in coding/scheme_registry.cc; the decoding arithmetic lives
// in mds.h and gradient_code.h. The schemes registered today (their files say more):
//
//   uncoded          n blocks; worker w computes block w; wait for every block.
//   replication:r=R  R | n; n/R blocks, each on R workers (worker w: block w mod n/R); wait
//                    until every block arrived once (Lee et al.'s repetition baseline).
//   gc-fr:s=S        gradient coding, fractional repetition ((S+1) | n); n blocks, worker w
//   gc-cr:s=S        holds S+1 of them and sends one combination; done at n−S workers.
//   mm:r=R           multi-message: n blocks, worker w computes w, w+1, …, w+R−1 (mod n) in
//                    order, one message each; done when every block arrived once.
//   mds:k=K          (n, K) MDS-coded matrix-vector products: K data blocks encoded into n;
//                    worker w computes coded block w; done at the fastest K workers, or the
//                    few more it takes when those K form an ill-conditioned system (mds.h).
//
// Work is counted in units of one n-th of the whole computation (one uncoded block), so the
// straggler model's base time is the time of 1/n of the job. A worker's load in units:
// uncoded 1, replication R, gc S+1, mm R (its j-th message after j+1 units), mds n/K.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coding/coding_scheme.h"
#include "coding/straggler.h"

namespace gw::coding {

struct CodingSpec {
  CodingKind kind = CodingKind::kUncoded;
  int param = 0;  // replication R, gc S, mm R, mds K; 0 for uncoded

  // "uncoded", "replication:r=2", "gc-fr:s=1", "gc-cr:s=1", "mm:r=2", "mds:k=8"; throws
  // gw::Error naming the problem and the valid forms (every registered scheme).
  static CodingSpec Parse(std::string_view text);
  // The kind a bare name ("mds", "gc-cr", …) stands for, or nullopt.
  static std::optional<CodingKind> KindNamed(std::string_view name);
  std::string ToString() const;
  // Throws gw::Error when the scheme does not fit n workers (e.g. R not dividing n, K > n).
  void Validate(int n) const;

  // The registered scheme of `kind` (coding/scheme_registry.h).
  const CodingScheme& scheme() const;
  bool is_gradient_code() const { return scheme().is_gradient_code(); }
  // Number of data blocks the job's data is split into.
  int Blocks(int n) const;
  // Blocks worker w computes, in order (gc: the blocks it combines; mds: its coded block id).
  std::vector<int> BlocksOf(int worker, int n) const;
  // Messages worker w sends per round (mm: R; otherwise 1).
  int Messages() const { return scheme().Messages(param); }
  // Work (in units of 1/n of the job) done before message j (0-based) is ready.
  double UnitsBefore(int j, int n) const;
};

// When worker w's messages of round `round` are ready under a straggler model, in seconds from
// the round's start: message j at Sample(w, round, 1)[0] · UnitsBefore(j). The worker sleeps
// until these times; the Monte Carlo below uses the very same draws.
std::vector<double> MessageTimes(const CodingSpec& spec, int n, const StragglerModel& model,
                                 int worker, uint64_t round);

// The server's view of one round: which (worker, message) arrived, which of them decoding
// uses, and whether the round can finish.
class RoundTracker {
 public:
  // Whether decoding accepts the messages in hand (used(), in arrival order), for codes that
  // can refuse a set of the size they need: mds refuses an ill-conditioned system
  // (MdsCode::Decodable). Asked when the count first reaches the needed one and again on each
  // later message the round then uses: at most n − K + 1 times a round, once when the set
  // decodes at K.
  using DecodableCheck = std::function<bool(const std::vector<UsedMessage>&)>;

  // Validate(n) first. With a check, a round that has the needed count but fails it goes on
  // using every further worker until the set passes, or until every message is in (or
  // erased): it is then complete all the same, and decoding refuses it with its reason.
  RoundTracker(const CodingSpec& spec, int n, DecodableCheck decodable = nullptr);

  // Worker w's message j arrived. Returns true if decoding will use it (the first copy of
  // its block, or one of the first n−S / K workers, or a later one while the set in hand
  // fails the check). Throws gw::Error on ids out of range.
  bool Arrive(int worker, int j);
  // Worker w's message j arrived unusable (the server refused its values): decoding never
  // uses it, and Possible() counts without it. Throws gw::Error on ids out of range.
  void Erase(int worker, int j);
  bool Complete() const { return complete_; }
  // Could the round still complete if the workers with gone[w] == true send nothing more?
  bool Possible(const std::vector<bool>& gone) const;
  // What decoding uses, in arrival order: (worker, message j, block).
  using Used = UsedMessage;
  const std::vector<Used>& used() const { return used_; }
  void Reset();

 private:
  CodingSpec spec_;
  int n_;
  DecodableCheck decodable_;
  void CheckIds(int worker, int j) const;
  // Marks (worker, j) arrived; false if it already was.
  bool MarkArrived(int worker, int j);
  // Every message of every worker arrived or was erased: nothing more can come.
  bool AllIn() const { return arrived_count_ == n_ * spec_.Messages(); }

  std::vector<std::vector<bool>> arrived_;  // [worker][message] (erased ones too)
  int arrived_count_ = 0;
  std::vector<bool> block_seen_;
  std::vector<Used> used_;
  int needed_;  // distinct blocks (kEveryBlock) or workers (kFirstWorkers) to finish
  bool complete_ = false;
};

// Time at which a round finishes when worker w's message j is ready at times[w][j]
// (+infinity if it never can).
double RoundCompletionTime(const CodingSpec& spec, int n,
                           const std::vector<std::vector<double>>& times);

struct RoundTimeEstimate {
  double mean = 0;
  double std_error = 0;
};
// Mean round time over `trials` rounds (round ids first_round, first_round + 1, …) of the
// model: what the running system should measure, compute and network aside.
RoundTimeEstimate MonteCarloRoundTime(const CodingSpec& spec, int n, const StragglerModel& model,
                                      int trials, uint64_t first_round = 0);

}  // namespace gw::coding
