#include "coding/gradient_code.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "coding/mds.h"
#include "coding/rng.h"
#include "coding/subsets.h"
#include "base/error.h"

namespace gw::coding {
namespace {

// Redraw H when a row's s×s system is worse than this (happens with tiny probability).
constexpr double kMaxRowCondition = 1e8;
constexpr int kMaxDraws = 64;
// Cyclic codes: seeded H candidates compared by their worst amplification; survivor sets
// checked exhaustively up to kExhaustiveSets, else kSampledSets random ones.
constexpr int kCandidates = 16;
constexpr double kExhaustiveSets = 2000;
constexpr int kSampledSets = 500;

void CheckNs(int n, int s, const char* what) {
  if (n <= 0 || s < 0 || s >= n) {
    throw Error(std::string(what) + " gradient code: need 0 <= s < n, got n=" + std::to_string(n) +
                " s=" + std::to_string(s));
  }
}

}  // namespace

GradientCode GradientCode::FractionalRepetition(int n, int s) {
  CheckNs(n, s, "fractional-repetition");
  if (n % (s + 1) != 0) {
    throw Error("fractional-repetition gradient code: s+1=" + std::to_string(s + 1) +
                " must divide n=" + std::to_string(n) + " (use cyclic repetition)");
  }
  GradientCode c(n, s, GradientScheme::kFractionalRepetition);
  c.b_ = Eigen::MatrixXd::Zero(n, n);
  for (int i = 0; i < n; ++i) {
    const int group = i / (s + 1);
    c.b_.row(i).segment(group * (s + 1), s + 1).setOnes();
  }
  c.amplification_ = n;
  return c;
}

GradientCode GradientCode::CyclicRepetition(int n, int s, uint64_t seed) {
  CheckNs(n, s, "cyclic-repetition");
  GradientCode c(n, s, GradientScheme::kCyclicRepetition);
  c.b_ = Eigen::MatrixXd::Identity(n, n);
  if (s == 0) {
    c.amplification_ = n;
    return c;
  }
  double best = std::numeric_limits<double>::infinity();
  int accepted = 0;
  for (int draw = 0; draw < kMaxDraws && accepted < kCandidates; ++draw) {
    std::mt19937_64 rng(MixSeed(seed, {static_cast<uint64_t>(draw)}));
    Eigen::MatrixXd h(s, n);
    for (int r = 0; r < s; ++r) {
      for (int j = 0; j + 1 < n; ++j) h(r, j) = StandardNormal(rng);
      h(r, n - 1) = -h.row(r).head(n - 1).sum();  // H·1 = 0
    }
    GradientCode cand(n, s, GradientScheme::kCyclicRepetition);
    cand.b_ = Eigen::MatrixXd::Zero(n, n);
    bool ok = true;
    for (int i = 0; i < n && ok; ++i) {
      Eigen::MatrixXd m(s, s);
      for (int t = 1; t <= s; ++t) m.col(t - 1) = h.col((i + t) % n);
      if (!(ConditionNumber2(m) <= kMaxRowCondition)) {
        ok = false;
        break;
      }
      const Eigen::VectorXd x = m.partialPivLu().solve(-h.col(i));
      cand.b_(i, i) = 1.0;
      for (int t = 1; t <= s; ++t) cand.b_(i, (i + t) % n) = x(t - 1);
    }
    if (!ok) continue;
    ++accepted;
    const double amp = cand.WorstAmplification(seed, best);
    if (amp < best) {
      best = amp;
      c.b_ = std::move(cand.b_);
    }
  }
  if (accepted == 0 || !std::isfinite(best)) {
    throw Error("cyclic-repetition gradient code: no well-conditioned H found for n=" +
                std::to_string(n) + " s=" + std::to_string(s));
  }
  c.amplification_ = best;
  return c;
}

double GradientCode::Amplification(const std::vector<int>& survivors) const {
  const Eigen::VectorXd a = DecodingVector(survivors);
  const Eigen::VectorXd row_norms = b_.cwiseAbs().rowwise().sum();
  return a.cwiseAbs().dot(row_norms);
}

double GradientCode::WorstAmplification(uint64_t seed, double abort_above) const {
  const int m = n_ - s_;
  double worst = 0;
  // Exhaustive over the C(n, s) survivor sets when few, else a seeded sample.
  double count = 1;
  for (int i = 1; i <= s_; ++i) count = count * (n_ - s_ + i) / i;
  if (count <= kExhaustiveSets) {
    ForEachSubset(n_, m, [&](const std::vector<int>& set) {
      worst = std::max(worst, Amplification(set));
      return worst <= abort_above;
    });
    return worst;
  }
  std::mt19937_64 rng(MixSeed(seed, {0x6763}));
  std::vector<int> perm(n_);
  for (int t = 0; t < kSampledSets; ++t) {
    for (int i = 0; i < n_; ++i) perm[i] = i;
    for (int i = 0; i < m; ++i) std::swap(perm[i], perm[i + rng() % (n_ - i)]);
    worst = std::max(worst, Amplification(std::vector<int>(perm.begin(), perm.begin() + m)));
    if (worst > abort_above) return worst;
  }
  return worst;
}

std::vector<int> GradientCode::Partitions(int worker) const {
  if (worker < 0 || worker >= n_)
    throw Error("gradient code: worker " + std::to_string(worker) + " outside [0, " +
                std::to_string(n_) + ")");
  std::vector<int> out;
  for (int j = 0; j < n_; ++j) {
    if (b_(worker, j) != 0.0) out.push_back(j);
  }
  return out;
}

Eigen::VectorXf GradientCode::Encode(int worker,
                                     const std::vector<Eigen::VectorXf>& partials) const {
  if (static_cast<int>(partials.size()) != n_) {
    throw Error("gradient code: need " + std::to_string(n_) + " partial gradients, got " +
                std::to_string(partials.size()));
  }
  const std::vector<int> parts = Partitions(worker);
  Eigen::VectorXd acc = Eigen::VectorXd::Zero(partials[parts[0]].size());
  for (int j : parts) {
    if (partials[j].size() != acc.size()) throw Error("gradient code: partial lengths differ");
    acc += b_(worker, j) * partials[j].cast<double>();
  }
  return acc.cast<float>();
}

Eigen::VectorXd GradientCode::DecodingVector(const std::vector<int>& survivors) const {
  CheckSurvivors(survivors, n_, n_ - s_, "gradient code");
  Eigen::VectorXd a = Eigen::VectorXd::Zero(n_);
  if (scheme_ == GradientScheme::kFractionalRepetition) {
    // One survivor per group, weight 1.
    std::vector<bool> covered(n_ / (s_ + 1), false);
    for (int w : survivors) {
      const int group = w / (s_ + 1);
      if (!covered[group]) {
        covered[group] = true;
        a(w) = 1.0;
      }
    }
    return a;
  }
  // Cyclic: B_Sᵀ·a_S = 1 (n equations, |S| unknowns, consistent, rank n−s); minimum-norm
  // solution when |S| > n−s.
  const int m = static_cast<int>(survivors.size());
  Eigen::MatrixXd bst(n_, m);
  for (int i = 0; i < m; ++i) bst.col(i) = b_.row(survivors[i]).transpose();
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(n_);
  const Eigen::VectorXd as = bst.completeOrthogonalDecomposition().solve(ones);
  const double residual = (bst * as - ones).norm();
  if (!(residual <= 1e-8 * n_)) {
    throw Error("gradient code: decoding system inconsistent (residual " +
                std::to_string(residual) + ")");
  }
  for (int i = 0; i < m; ++i) a(survivors[i]) = as(i);
  return a;
}

Eigen::VectorXf GradientCode::Decode(const std::vector<int>& survivors,
                                     const std::vector<Eigen::VectorXf>& messages) const {
  if (messages.size() != survivors.size()) {
    throw Error("gradient code: " + std::to_string(survivors.size()) + " survivors but " +
                std::to_string(messages.size()) + " messages");
  }
  const Eigen::VectorXd a = DecodingVector(survivors);
  Eigen::VectorXd acc = Eigen::VectorXd::Zero(messages.empty() ? 0 : messages[0].size());
  for (size_t i = 0; i < survivors.size(); ++i) {
    if (messages[i].size() != acc.size()) throw Error("gradient code: message lengths differ");
    if (a(survivors[i]) != 0.0) acc += a(survivors[i]) * messages[i].cast<double>();
  }
  return acc.cast<float>();
}

}  // namespace gw::coding
