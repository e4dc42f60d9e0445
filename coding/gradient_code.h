// Gradient coding (Tandon, Lei, Dimakis, Karampatziakis, ICML 2017, arXiv 1612.03301).
// n workers, n data partitions, tolerance s < n. Worker i holds the partitions in the support
// of row i of the encoding matrix B (n×n, s+1 nonzeros per row) and sends one message
// m_i = Σ_j B(i,j)·g_j. From any n−s messages the server forms Σ_i a_i·m_i = Σ_j g_j, where
// the decoding vector a satisfies aᵀ·B_S = 1ᵀ.
//
//   Fractional repetition ((s+1) | n): workers form n/(s+1) groups of s+1; group t holds
//     partitions t(s+1) … t(s+1)+s, every entry 1. Decoding takes one survivor per group
//     (n−s survivors always contain one: a group has s+1 members, at most s are missing).
//   Cyclic repetition (any s < n): worker i holds partitions i, i+1, …, i+s (mod n). Paper's
//     Algorithm 2: a seeded Gaussian H (s×n) with H·1 = 0; row i of B has B(i,i) = 1 and its
//     other s entries solve H·B(i,:)ᵀ = 0. Every row lies in null(H) (dimension n−s, which
//     contains 1), and any n−s rows are independent with probability 1, so they span null(H)
//     and hence 1. Numerics: messages are floats, and decoding multiplies their rounding by
//     the amplification Σ_i |a_i|·‖B_i‖₁, which for one random H can reach ~1e5 (n = 10).
//     So the constructor draws 16 seeded H (each row's s×s system must have condition
//     number <= 1e8) and keeps the one whose worst amplification over survivor sets
//     (exhaustive up to 2000 sets, else 500 sampled) is smallest.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

namespace gw::coding {

enum class GradientScheme { kFractionalRepetition, kCyclicRepetition };

class GradientCode {
 public:
  // Throws gw::Error unless 0 <= s < n and (s+1) divides n.
  static GradientCode FractionalRepetition(int n, int s);
  // Throws gw::Error unless 0 <= s < n.
  static GradientCode CyclicRepetition(int n, int s, uint64_t seed);

  int n() const { return n_; }
  int s() const { return s_; }
  GradientScheme scheme() const { return scheme_; }
  const Eigen::MatrixXd& B() const { return b_; }
  // Partitions worker i holds (support of row i of B), ascending.
  std::vector<int> Partitions(int worker) const;

  // Worker's message Σ_j B(worker,j)·partials[j] over its partitions. partials has n entries
  // of equal length; only the worker's own partitions are read.
  Eigen::VectorXf Encode(int worker, const std::vector<Eigen::VectorXf>& partials) const;

  // a (length n, zero outside survivors) with aᵀ·B = 1ᵀ using only rows in `survivors`.
  // Needs at least n−s distinct ids in [0, n); throws gw::Error otherwise.
  Eigen::VectorXd DecodingVector(const std::vector<int>& survivors) const;

  // Error amplification of decoding from `survivors`: Σ_i |a_i|·‖row i of B‖₁; n for
  // fractional repetition, as for summing n uncoded gradients. Decode's error is at most
  // about this times the messages' rounding (relative to the largest partial gradient).
  double Amplification(const std::vector<int>& survivors) const;
  // Worst amplification the constructor observed (see above; n for FR).
  double worst_amplification() const { return amplification_; }

  // Σ_j g_j from the survivors' messages (messages[i] from worker survivors[i]); in double.
  Eigen::VectorXf Decode(const std::vector<int>& survivors,
                         const std::vector<Eigen::VectorXf>& messages) const;

 private:
  GradientCode(int n, int s, GradientScheme scheme) : n_(n), s_(s), scheme_(scheme) {}
  // Worst Amplification over survivor sets of size n−s (exhaustive or sampled); stops early
  // once above abort_above.
  double WorstAmplification(uint64_t seed, double abort_above) const;

  int n_;
  int s_;
  GradientScheme scheme_;
  Eigen::MatrixXd b_;
  double amplification_ = 1.0;
};

}  // namespace gw::coding
