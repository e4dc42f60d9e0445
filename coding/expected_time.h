// Expected iteration times under Lee et al.'s shifted-exponential model (arXiv 1512.02673):
// a worker with a 1/k share of the work finishes at (1/k)(1 + E), E ~ Exp(μ) i.i.d. Total
// work normalised to 1 time unit.
//
// Exact forms (order statistics of exponentials; H_m = 1 + 1/2 + … + 1/m):
//   uncoded      n workers, share 1/n, wait for all:        (1/n)(1 + H_n/μ)
//   replication  k | n, each of k parts on n/k workers:      (1/k)(1 + k·H_k/(n·μ))
//   MDS (n,k)    share 1/k, wait for the fastest k:          (1/k)(1 + (H_n − H_{n−k})/μ)
// The notes' approximations replace H_m by log m:
//   (1/n)(1 + log(n)/μ),  (1/k)(1 + k·log(k)/(n·μ)),  (1/k)(1 + log(n/(n−k))/μ).
// Minimising the MDS approximation over α = k/n gives α* = 1 + 1/W₋₁(−e^{−(μ+1)}).
#pragma once

#include <cstdint>

namespace gw::coding {

enum class Scheme { kUncoded, kReplication, kMds };

double HarmonicNumber(int m);  // H_0 = 0

// Exact expectations. Throw gw::Error on n < 1, μ <= 0, k outside [1, n], or (replication)
// k not dividing n.
double ExpectedTimeUncoded(int n, double mu);
double ExpectedTimeReplication(int n, int k, double mu);
double ExpectedTimeMds(int n, int k, double mu);
double ExpectedTime(Scheme scheme, int n, int k, double mu);  // k ignored for kUncoded

// The notes' log approximations (MDS needs k < n).
double ApproxTimeUncoded(int n, double mu);
double ApproxTimeReplication(int n, int k, double mu);
double ApproxTimeMds(int n, int k, double mu);

// α* = k*/n = 1 + 1/W₋₁(−e^{−(μ+1)}) (minimiser of the MDS approximation), in (0, 1).
double OptimalMdsRate(double mu);
// The k in [1, n] minimising the exact MDS expectation.
int OptimalMdsK(int n, double mu);

struct MonteCarloEstimate {
  double mean = 0;
  double std_error = 0;  // standard error of the mean
};
// Mean iteration time over `trials` seeded draws of the model above (same parameter checks).
MonteCarloEstimate MonteCarloTime(Scheme scheme, int n, int k, double mu, int trials,
                                  uint64_t seed);

}  // namespace gw::coding
