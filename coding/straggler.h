// Straggler (delay) models: how long a worker takes for its share of an iteration. All draws
// are a pure function of (seed, worker, iteration), so any component asking for the same
// worker and iteration gets the same times, in any order, on any platform.
//
// A worker assigned r units of work (r partitions or coded blocks; one unit nominally takes
// base_time seconds) finishes all of them at T and its j-th unit (j = 1..r) at (j/r)·T:
//   none            T = r·b
//   shifted-exp     T = r·b·(1 + Exp(μ)): P(T <= t) = 1 − exp(−μ(t/(r·b) − 1)), t >= r·b.
//                   With r·b = 1/k this is Lee et al.'s model for a 1/k share. Mean r·b(1+1/μ).
//   non-persistent  T = r·b·(Exp(μ) + α), redrawn every iteration (Ozfatura et al.'s code).
//                   Mean r·b(1/μ + α).
//   persistent      T = r·b·factor for the listed workers, r·b for the others, every iteration.
//   fail-stop       T = r·b, except that `worker` never finishes (+infinity) from iteration
//                   `at` (0-based) on.
// Text form (Parse/ToString): "none", "shifted-exp:mu=1", "non-persistent:mu=1,alpha=0.5",
// "persistent:workers=0+3,factor=4", "fail-stop:worker=2,at=100"; every model also takes
// optional "seed=<uint64>" and "base=<seconds>" (default seed 0 or the Parse argument,
// base 1).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace gw::coding {

enum class StragglerKind { kNone, kShiftedExp, kNonPersistent, kPersistent, kFailStop };

class StragglerModel {
 public:
  StragglerModel() = default;  // "none"

  static StragglerModel None();
  static StragglerModel ShiftedExp(double mu);                                // mu > 0
  static StragglerModel NonPersistent(double mu, double alpha);               // mu > 0, alpha >= 0
  static StragglerModel Persistent(std::vector<int> workers, double factor);  // factor >= 1
  static StragglerModel FailStop(int worker, uint64_t at);
  // Parses the text form above; throws gw::Error naming the problem (unknown model or key,
  // missing or repeated key, malformed or out-of-range number). `seed` is used unless the text
  // has seed=.
  static StragglerModel Parse(std::string_view text, uint64_t seed = 0);
  // Canonical text form (round-trips through Parse).
  std::string ToString() const;

  StragglerModel& set_seed(uint64_t seed);
  StragglerModel& set_base_time(double seconds);  // > 0

  StragglerKind kind() const { return kind_; }
  uint64_t seed() const { return seed_; }
  double base_time() const { return base_; }
  double mu() const { return mu_; }
  double alpha() const { return alpha_; }
  double factor() const { return factor_; }
  const std::vector<int>& slow_workers() const { return slow_; }
  int fail_worker() const { return fail_worker_; }
  uint64_t fail_at() const { return fail_at_; }

  // Completion times in seconds of the worker's r units in iteration `iteration`
  // (ascending; the last one is T), computed as j·u with u = T/r drawn once per (worker,
  // iteration): Sample(w, t, r)[0] == Sample(w, t, 1)[0] exactly, for every r (the
  // multi-message comparison against the uncoded baseline relies on it). Throws gw::Error
  // for r < 1 or worker < 0.
  std::vector<double> Sample(int worker, uint64_t iteration, int r) const;
  // E[T] for r units (infinity for a failed worker).
  double MeanTotal(int worker, uint64_t iteration, int r) const;

 private:
  StragglerKind kind_ = StragglerKind::kNone;
  uint64_t seed_ = 0;
  double base_ = 1.0;
  double mu_ = 1.0;
  double alpha_ = 0.0;
  double factor_ = 1.0;
  std::vector<int> slow_;
  int fail_worker_ = -1;
  uint64_t fail_at_ = 0;
};

// One draw of the shifted exponential for `work` time units: work·(1 + Exp(mu)).
double SampleShiftedExp(std::mt19937_64& rng, double mu, double work);

}  // namespace gw::coding
