// (n, k) MDS codes over the reals for coded matrix multiplication (Lee et al., arXiv
// 1512.02673): A is split into k row blocks, encoded into n coded blocks Ã_i = Σ_j G(i,j)·A_j;
// worker i computes Ã_i·x; any k results give back A·x.
//
// The generator G (n×k) is systematic: its first k rows are the identity, so when the k
// systematic workers are the fastest, decoding is a copy. Every k×k row-submatrix of G is
// invertible (the MDS property); what matters on the reals is how well conditioned it is,
// because decoding multiplies the float rounding of the results by up to cond(G_S).
//
// Generator choice (kGaussian, the default). Worst 2-norm condition number over survivor sets,
// measured by tests/coding_mds_test.cc (n = 12: all k-subsets) and a one-off sweep (n = 20:
// sampled as in MdsOptions):
//   n=12, k:               3        4        6        8        10
//   Gaussian best-of-16:   214      941      2.7e3    3.3e3    237
//   Chebyshev nodes:       1.1e3    4.3e3    2.9e4    1.1e4    773
//   equispaced nodes:      295      1.1e3    4.7e4    5.4e4    2.9e4
//   n=20, k:               4        6        8        10       15
//   Gaussian best-of-16:   1.1e4    2.4e4    1.4e4    3.0e4    1.1e4
//   Gaussian, one draw:    4.4e4    8.7e4    2.1e6    2.6e5    9.4e4
//   Chebyshev nodes:       1.3e5    1.4e6    4.7e6    8.0e6    4.5e6
//   equispaced nodes:      9.3e3    3.8e5    4.0e6    1.2e8    4.4e9
// (n = 30, Gaussian best-of-16, k = 4…20: at most 3.3e4, so the default limit admits codes up to
// about n = 30; constructing one with C(n,k) > 5000 spends up to ~1 s on the sampled check.)
// A systematic Vandermonde code is V·V_T⁻¹ whatever polynomial basis V is written in, so only
// the nodes matter; its worst subsets are clustered nodes, whose interpolation problem is
// exponentially ill-conditioned in k. A Gaussian parity block is MDS with probability 1 and its
// worst subsets degrade only polynomially; drawing a few seeded candidates and keeping the one
// with the best worst case removes the unlucky draws (an entry near 0 makes a one-parity-row
// subset ill-conditioned). Decoding happens in double.
//
// Past about n = 30 some k-sets exceed the limit whatever the draw, too rare for the sampled
// check to meet (at n = 50, k = 34 it saw 1.6e3 as the worst; a simulated job met 1.23e5 in
// its 73rd round). A round whose first k results are such a set does not fail: it waits for
// more results and decodes from all of them by least squares once their |S|×k system is
// within the limit (Decodable, Decode). In every case measured one more result was enough:
// an ill-conditioned k×k system is nearly singular along one direction, and a further row of
// Gaussian entries has a component of order 1 along it. A one-off sweep (uniformly random
// k-sets, as i.i.d. straggler delays order the workers; further rows in the same random
// order; limit 1e5):
//   n, k, seed    k-sets above the limit     largest   rows that fixed each   worst after
//   50, 34, 1     121 of 100000 (1 in 830)   5.6e7     1 more: all 121        2.0e4
//   50, 34, 2     67 of 50000   (1 in 750)   2.4e7     1 more: all 67         1.5e3
//   50, 35, 1     83 of 60000   (1 in 720)   5.7e6     1 more: all 83         1.3e4
//   100, 69, 1    43 of 10000   (1 in 230)   3.1e6     1 more: all 43         9.9e3
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <vector>

namespace gw::coding {

enum class MdsGenerator {
  kGaussian,    // seeded N(0,1) parity block, best of `candidates` draws (default)
  kChebyshev,   // systematic polynomial-evaluation code at the n Chebyshev nodes of [-1, 1]
  kEquispaced,  // same at n equispaced nodes: deliberately poor, for tests and comparisons
};

struct MdsOptions {
  MdsGenerator generator = MdsGenerator::kGaussian;
  // Decoding refuses a survivor set whose k×k system has a larger 2-norm condition number.
  // Results are floats (relative rounding 6e-8): the bound on the relative decoding error is
  // about cond·6e-8, i.e. 6e-3 at 1e5; observed errors are 10-100x below the bound.
  double max_condition = 1e5;
  // Constructor checks the worst case over survivor sets against max_condition and throws if
  // it is exceeded. Exhaustive while C(n,k) <= exhaustive_limit, otherwise sampled: sets
  // with exactly one parity row first (they hold the smallest minors of a random parity block),
  // then random sets, all within a fixed SVD budget (~1 s). A sampled figure is only a lower
  // bound on the true worst case, and a loose one for large k: at n = 100, k = 50 the budget
  // is ~50 sets per candidate. The check rejects bad generators (and picks the best Gaussian
  // draw); it does not promise that every k-set a round meets decodes. It cannot: over the
  // reals some k-subsets of any n×k generator are ill-conditioned once n is large, and a
  // sample misses most of them. A round whose first k results are such a set waits for more
  // and decodes from all of them (Decodable, Decode).
  bool verify = true;
  int candidates = 16;  // kGaussian: seeded draws tried, best worst case kept (needs verify)
  int64_t exhaustive_limit = 5000;
  int max_samples = 4000;
};

class MdsCode {
 public:
  // Throws gw::Error for k == 0, k > n, and (with options.verify) when the generator's worst
  // observed condition number exceeds options.max_condition.
  MdsCode(int n, int k, uint64_t seed, const MdsOptions& options = {});

  int n() const { return n_; }
  int k() const { return k_; }
  const Eigen::MatrixXd& generator() const { return g_; }  // n×k, first k rows identity
  const MdsOptions& options() const { return options_; }
  // Worst condition number the constructor observed (NaN without verify), and whether it
  // covered every k-subset or a sample.
  double worst_condition() const { return worst_condition_; }
  bool worst_condition_exhaustive() const { return exhaustive_; }

  // Rows per block for a matrix of `rows` rows: ceil(rows / k) (at least 1).
  int64_t BlockRows(int64_t rows) const;
  // Splits A into k row blocks of BlockRows(A.rows()) rows (zero rows appended at the bottom
  // to reach a multiple of k) and returns the n coded blocks, each BlockRows × A.cols().
  // Coded blocks i < k are the plain blocks A_i. Combination is done in double.
  std::vector<Eigen::MatrixXf> Encode(const Eigen::MatrixXf& a) const;
  // Encode(a)[i] alone: what one worker keeps, for k blocks' work instead of n's.
  Eigen::MatrixXf EncodeBlock(const Eigen::MatrixXf& a, int i) const;

  // survivors: distinct coded-block ids in [0, n), at least k, fastest first. results[i]:
  // worker survivors[i]'s Ã_i·X (all the same shape). Returns the k original blocks stacked
  // ((k·block_rows) × cols, i.e. A·X with the padding rows), cut to the first `rows` rows when
  // rows >= 0. In double:
  //   - the first k survivors systematic (ids < k): a copy of them, the rest ignored;
  //   - exactly k survivors: the k×k system solved (LU);
  //   - more than k: the |S|×k system of all of them solved in the least-squares sense (SVD).
  // A round gives more than k only when its first k were ill-conditioned (Decodable).
  // Throws gw::Error on bad ids or shapes, or when the system's 2-norm condition number
  // exceeds options().max_condition (the message names the set's size and both numbers).
  Eigen::MatrixXf Decode(const std::vector<int>& survivors,
                         const std::vector<Eigen::MatrixXf>& results, int64_t rows = -1) const;

  // Whether Decode accepts exactly these survivors (at least k distinct ids in [0, n), else
  // gw::Error): the first k systematic (no SVD), or ConditionNumber <= max_condition (one SVD
  // of the |S|×k system). The server's round tracker asks this when k results are in and on
  // each later arrival, and closes the round at the first set that passes.
  bool Decodable(const std::vector<int>& survivors) const;

  // 2-norm condition number σ_max/σ_min of the |S|×k system of all the survivors (at least k
  // distinct ids in [0, n); infinity if rank-deficient).
  double ConditionNumber(const std::vector<int>& survivors) const;

 private:
  void CheckSurvivors(const std::vector<int>& survivors) const;
  bool Systematic(const std::vector<int>& survivors) const;  // the first k ids all < k

  int n_;
  int k_;
  MdsOptions options_;
  Eigen::MatrixXd g_;
  double worst_condition_;
  bool exhaustive_ = false;
};

// The (n, k) code of `seed` with default options, built once per process and shared: its
// constructor's check of the worst case takes about a second, and a simulation's hundred
// workers and its server, all in one process, would each build the same one. Throws as the
// constructor does (and builds again on the next call).
std::shared_ptr<const MdsCode> SharedMdsCode(int n, int k, uint64_t seed);

// 2-norm condition number σ_max/σ_min of a matrix with at least as many rows as columns
// (infinity when σ_min is 0).
double ConditionNumber2(const Eigen::MatrixXd& m);

}  // namespace gw::coding
