#include "coding/mds.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>
#include <sstream>
#include <tuple>

#include "base/error.h"
#include "coding/rng.h"
#include "coding/subsets.h"

namespace gw::coding {
namespace {

// Flops we allow the constructor's sampled check to spend on SVDs (about 1 s).
constexpr double kSvdFlopBudget = 2e9;

// C(n, k) saturated at `cap`.
int64_t BinomialCapped(int n, int k, int64_t cap) {
  k = std::min(k, n - k);
  double c = 1;
  for (int i = 1; i <= k; ++i) {
    c = c * (n - k + i) / i;
    if (c > static_cast<double>(cap)) return cap + 1;
  }
  return static_cast<int64_t>(std::llround(c));
}

// Systematic polynomial-evaluation generator at the given nodes: V(i,j) = T_j(x_i) (Chebyshev
// polynomials, for stable evaluation), G = V·V_top⁻¹ so the first k rows are the identity.
Eigen::MatrixXd PolynomialGenerator(const std::vector<double>& nodes, int k) {
  const int n = static_cast<int>(nodes.size());
  Eigen::MatrixXd v(n, k);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < k; ++j) v(i, j) = std::cos(j * std::acos(std::clamp(nodes[i], -1.0, 1.0)));
  }
  const Eigen::MatrixXd top = v.topRows(k);
  // G·top = V  <=>  topᵀ·Gᵀ = Vᵀ.
  Eigen::MatrixXd g = top.transpose().partialPivLu().solve(v.transpose()).transpose();
  g.topRows(k).setIdentity();
  return g;
}

// Node order for the polynomial codes: the k systematic rows take nodes spread over the whole
// interval (every (n/k)-th), the parity rows the rest, so no systematic node set is clustered.
std::vector<double> OrderedNodes(std::vector<double> sorted, int k) {
  const int n = static_cast<int>(sorted.size());
  std::vector<bool> used(n, false);
  std::vector<double> out;
  for (int m = 0; m < k; ++m) {
    const int i = static_cast<int>((m + 0.5) * n / k);
    used[i] = true;
    out.push_back(sorted[i]);
  }
  for (int i = 0; i < n; ++i) {
    if (!used[i]) out.push_back(sorted[i]);
  }
  return out;
}

Eigen::MatrixXd GaussianGenerator(int n, int k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Eigen::MatrixXd g(n, k);
  g.topRows(k).setIdentity();
  for (int i = k; i < n; ++i) {
    for (int j = 0; j < k; ++j) g(i, j) = StandardNormal(rng);
  }
  return g;
}

// The first `count` of g's rows listed in `rows`.
Eigen::MatrixXd Rows(const Eigen::MatrixXd& g, const std::vector<int>& rows, int count) {
  Eigen::MatrixXd m(count, g.cols());
  for (int i = 0; i < count; ++i) m.row(i) = g.row(rows[i]);
  return m;
}

// Worst condition number over survivor sets: every k-subset when there are at most
// `exhaustive_limit`, else a sample (see MdsOptions). *exhaustive says which.
// Stops early (returning a value above abort_above) once a set is worse than abort_above.
double WorstCondition(const Eigen::MatrixXd& g, int k, const MdsOptions& o, uint64_t seed,
                      int candidates, double abort_above, bool* exhaustive) {
  const int n = static_cast<int>(g.rows());
  double worst = 0;
  auto visit = [&](const std::vector<int>& rows) {
    worst = std::max(worst, ConditionNumber2(Rows(g, rows, k)));
    return worst <= abort_above;
  };
  if (BinomialCapped(n, k, o.exhaustive_limit) <= o.exhaustive_limit) {
    *exhaustive = true;
    ForEachSubset(n, k, visit);
    return worst;
  }
  *exhaustive = false;
  const double per_svd = 20.0 * k * k * k + 1;
  int budget = static_cast<int>(std::clamp(kSvdFlopBudget / per_svd / std::max(1, candidates), 32.0,
                                           static_cast<double>(o.max_samples)));
  // Sets with one parity row p replacing systematic row q.
  std::vector<int> rows(k);
  for (int p = k; p < n && budget > 0; ++p) {
    for (int q = 0; q < k && budget > 0; ++q, --budget) {
      for (int i = 0; i < k; ++i) rows[i] = i;
      rows[q] = p;
      if (!visit(rows)) return worst;
    }
  }
  // Random sets (partial Fisher-Yates).
  std::mt19937_64 rng(MixSeed(seed, {0x5a4d}));
  std::vector<int> perm(n);
  for (; budget > 0; --budget) {
    for (int i = 0; i < n; ++i) perm[i] = i;
    for (int i = 0; i < k; ++i) std::swap(perm[i], perm[i + rng() % (n - i)]);
    if (!visit(std::vector<int>(perm.begin(), perm.begin() + k))) break;
  }
  return worst;
}

std::string Num(double x) {
  std::ostringstream s;
  s.precision(3);
  s << x;
  return s.str();
}

}  // namespace

double ConditionNumber2(const Eigen::MatrixXd& m) {
  if (m.size() == 0) return 1.0;
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(m);
  const auto& s = svd.singularValues();
  const double lo = s(s.size() - 1);
  if (!(lo > 0)) return std::numeric_limits<double>::infinity();
  return s(0) / lo;
}

MdsCode::MdsCode(int n, int k, uint64_t seed, const MdsOptions& options)
    : n_(n), k_(k), options_(options), worst_condition_(std::numeric_limits<double>::quiet_NaN()) {
  if (k <= 0 || n <= 0 || k > n) {
    throw Error("MDS code: need 0 < k <= n, got n=" + std::to_string(n) +
                " k=" + std::to_string(k));
  }
  if (!(options.max_condition >= 1)) throw Error("MDS code: max_condition must be >= 1");
  switch (options.generator) {
    case MdsGenerator::kGaussian: {
      const int candidates = options.verify && n > k ? std::max(1, options.candidates) : 1;
      double best = std::numeric_limits<double>::infinity();
      for (int c = 0; c < candidates; ++c) {
        Eigen::MatrixXd g = GaussianGenerator(n, k, MixSeed(seed, {static_cast<uint64_t>(c)}));
        if (!options.verify) {
          g_ = std::move(g);
          break;
        }
        bool exhaustive = false;
        // Candidates worse than the best so far are abandoned as soon as that shows.
        const double worst = WorstCondition(g, k, options, seed, candidates, best, &exhaustive);
        if (c == 0 || worst < best) {
          best = worst;
          g_ = std::move(g);
          exhaustive_ = exhaustive;
        }
      }
      if (options.verify) worst_condition_ = best;
      break;
    }
    case MdsGenerator::kChebyshev:
    case MdsGenerator::kEquispaced: {
      std::vector<double> nodes(n);
      for (int i = 0; i < n; ++i) {
        nodes[i] = options.generator == MdsGenerator::kChebyshev
                       ? -std::cos((2.0 * i + 1) * std::numbers::pi / (2.0 * n))
                       : (n == 1 ? 0.0 : -1.0 + 2.0 * i / (n - 1));
      }
      g_ = PolynomialGenerator(OrderedNodes(nodes, k), k);
      if (options.verify)
        worst_condition_ = WorstCondition(g_, k, options, seed, 1,
                                          std::numeric_limits<double>::infinity(), &exhaustive_);
      break;
    }
  }
  if (options.verify && !(worst_condition_ <= options.max_condition)) {
    throw Error("MDS code (n=" + std::to_string(n) + ", k=" + std::to_string(k) +
                "): worst-case condition number " + Num(worst_condition_) +
                (exhaustive_ ? " (over all survivor sets)" : " (over sampled survivor sets)") +
                " exceeds the limit " + Num(options.max_condition) +
                "; decoding would be numerically unsafe (use fewer workers, another k, or a "
                "larger max_condition)");
  }
}

int64_t MdsCode::BlockRows(int64_t rows) const {
  return std::max<int64_t>(1, (rows + k_ - 1) / k_);
}

std::vector<Eigen::MatrixXf> MdsCode::Encode(const Eigen::MatrixXf& a) const {
  const int64_t br = BlockRows(a.rows());
  const int64_t cols = a.cols();
  std::vector<Eigen::MatrixXd> blocks(k_, Eigen::MatrixXd::Zero(br, cols));
  std::vector<Eigen::MatrixXf> out(n_);
  for (int j = 0; j < k_; ++j) {
    const int64_t start = j * br;
    const int64_t take = std::clamp<int64_t>(a.rows() - start, 0, br);
    Eigen::MatrixXf block = Eigen::MatrixXf::Zero(br, cols);
    if (take > 0) block.topRows(take) = a.middleRows(start, take);
    blocks[j] = block.cast<double>();
    out[j] = std::move(block);
  }
  for (int i = k_; i < n_; ++i) {
    Eigen::MatrixXd acc = Eigen::MatrixXd::Zero(br, cols);
    for (int j = 0; j < k_; ++j) acc += g_(i, j) * blocks[j];
    out[i] = acc.cast<float>();
  }
  return out;
}

Eigen::MatrixXf MdsCode::EncodeBlock(const Eigen::MatrixXf& a, int i) const {
  if (i < 0 || i >= n_) throw Error("MDS encode: block " + std::to_string(i) + " outside the code");
  const int64_t br = BlockRows(a.rows());
  // Plain block j of a, zero-padded to br rows (as Encode cuts them).
  auto plain = [&](int j) {
    Eigen::MatrixXf block = Eigen::MatrixXf::Zero(br, a.cols());
    const int64_t start = j * br;
    const int64_t take = std::clamp<int64_t>(a.rows() - start, 0, br);
    if (take > 0) block.topRows(take) = a.middleRows(start, take);
    return block;
  };
  if (i < k_) return plain(i);
  Eigen::MatrixXd acc = Eigen::MatrixXd::Zero(br, a.cols());
  for (int j = 0; j < k_; ++j) acc += g_(i, j) * plain(j).cast<double>();
  return acc.cast<float>();
}

std::shared_ptr<const MdsCode> SharedMdsCode(int n, int k, uint64_t seed) {
  static std::mutex mu;
  static std::map<std::tuple<int, int, uint64_t>, std::shared_ptr<const MdsCode>> codes;
  const std::lock_guard<std::mutex> lock(mu);
  auto& code = codes[{n, k, seed}];
  if (code == nullptr) code = std::make_shared<const MdsCode>(n, k, seed);
  return code;
}

void MdsCode::CheckSurvivors(const std::vector<int>& survivors) const {
  coding::CheckSurvivors(survivors, n_, k_, "MDS decode");
}

bool MdsCode::Systematic(const std::vector<int>& survivors) const {
  return std::all_of(survivors.begin(), survivors.begin() + k_, [&](int s) { return s < k_; });
}

double MdsCode::ConditionNumber(const std::vector<int>& survivors) const {
  CheckSurvivors(survivors);
  return ConditionNumber2(Rows(g_, survivors, static_cast<int>(survivors.size())));
}

bool MdsCode::Decodable(const std::vector<int>& survivors) const {
  CheckSurvivors(survivors);
  return Systematic(survivors) || ConditionNumber(survivors) <= options_.max_condition;
}

Eigen::MatrixXf MdsCode::Decode(const std::vector<int>& survivors,
                                const std::vector<Eigen::MatrixXf>& results, int64_t rows) const {
  CheckSurvivors(survivors);
  if (results.size() != survivors.size()) {
    throw Error("MDS decode: " + std::to_string(survivors.size()) + " survivors but " +
                std::to_string(results.size()) + " results");
  }
  const int count = static_cast<int>(survivors.size());
  const int64_t br = results[0].rows();
  const int64_t cols = results[0].cols();
  for (const Eigen::MatrixXf& r : results) {
    if (r.rows() != br || r.cols() != cols) {
      throw Error("MDS decode: result shapes differ (" + std::to_string(r.rows()) + "x" +
                  std::to_string(r.cols()) + " vs " + std::to_string(br) + "x" +
                  std::to_string(cols) + ")");
    }
  }
  if (rows > k_ * br) {
    throw Error("MDS decode: asked for " + std::to_string(rows) + " rows, blocks hold only " +
                std::to_string(k_ * br));
  }
  Eigen::MatrixXf out(k_ * br, cols);
  if (Systematic(survivors)) {
    for (int i = 0; i < k_; ++i) out.middleRows(survivors[i] * br, br) = results[i];
  } else {
    const Eigen::MatrixXd gs = Rows(g_, survivors, count);
    // weights (k×count): A_blocks = weights · results, block-wise. k rows: G_S⁻¹; more: the
    // pseudo-inverse V·Σ⁻¹·Uᵀ, from the SVD that also gives the condition number.
    Eigen::MatrixXd weights;
    double cond = 0;
    if (count == k_) {
      cond = ConditionNumber2(gs);
      if (cond <= options_.max_condition) weights = gs.partialPivLu().inverse();
    } else {
      const Eigen::JacobiSVD<Eigen::MatrixXd> svd(gs, Eigen::ComputeThinU | Eigen::ComputeThinV);
      const Eigen::VectorXd& sv = svd.singularValues();
      cond = sv(k_ - 1) > 0 ? sv(0) / sv(k_ - 1) : std::numeric_limits<double>::infinity();
      if (cond <= options_.max_condition) {
        weights = svd.matrixV() * sv.cwiseInverse().asDiagonal() * svd.matrixU().transpose();
      }
    }
    if (!(cond <= options_.max_condition)) {
      std::string ids;
      for (int i = 0; i < count; ++i) ids += (i ? "," : "") + std::to_string(survivors[i]);
      throw Error("MDS decode: " + std::to_string(count) + " survivors {" + ids +
                  "} give a system with condition number " + Num(cond) + " above the limit " +
                  Num(options_.max_condition) + "; refusing a numerically unsafe decode");
    }
    std::vector<Eigen::MatrixXd> r(count);
    for (int j = 0; j < count; ++j) r[j] = results[j].cast<double>();
    Eigen::MatrixXd acc(br, cols);
    for (int i = 0; i < k_; ++i) {
      acc.setZero();
      for (int j = 0; j < count; ++j) acc += weights(i, j) * r[j];
      out.middleRows(i * br, br) = acc.cast<float>();
    }
  }
  if (rows >= 0) return out.topRows(rows);
  return out;
}

}  // namespace gw::coding
