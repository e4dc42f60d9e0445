// Multi-message communication (Ozfatura, Gündüz, Ulukus, arXiv 1808.02240; assignment from
// arXiv 1903.01974): each worker sends every finished partial result as its own message, so a
// straggler's partial work is not wasted.
//
// Uncoded plan: n partitions, worker i computes partitions i, i+1, …, i+r−1 (mod n) in that
// order and sends each when done. The iteration is complete when every partition has arrived
// at least once (duplicates are counted but not needed).
//
// Coded variant implemented here (MDS multi-message, for linear computations such as A·x):
// the data is split into k blocks and encoded with an (n·r, k) MdsCode into n·r coded blocks;
// worker i holds coded blocks i·r, i·r+1, …, i·r+r−1, computes them in that order and sends
// each result (Ã_b·x) as its own message. The iteration is complete as soon as k distinct
// coded results arrived, from any workers; MdsCode(n·r, k).Decode(survivors(), results)
// recovers A·x. (The MdsCode constructor refuses n·r, k whose conditioning is unsafe.)
#pragma once

#include <vector>

namespace gw::coding {

// plan[i] = partitions worker i computes, in order: i, i+1, …, i+r−1 (mod n).
// Throws gw::Error unless 1 <= r <= n.
std::vector<std::vector<int>> Plan(int n, int r);

// Tracks arrivals for the uncoded plan.
class Coverage {
 public:
  Coverage(int n, int r);  // same checks as Plan
  // Worker `worker`'s j-th result (0-based, j < r) arrived; returns its partition. Throws
  // gw::Error on out-of-range ids. Repeats are allowed (they only add to the count).
  int Arrive(int worker, int j);
  bool Complete() const { return covered_ == n_; }
  int covered() const { return covered_; }  // partitions that arrived at least once
  int arrivals(int partition) const { return count_.at(partition); }
  void Reset();

 private:
  int n_;
  int r_;
  std::vector<int> count_;
  int covered_ = 0;
};

// Tracks arrivals for the coded (MDS) variant.
class CodedCoverage {
 public:
  // Throws gw::Error unless r >= 1 and 1 <= k <= n·r.
  CodedCoverage(int n, int r, int k);
  // Coded block computed as worker's j-th result (j < r): worker·r + j.
  int Block(int worker, int j) const;
  // Records the arrival and returns its coded block id; a repeat is ignored (same id back).
  int Arrive(int worker, int j);
  bool Complete() const { return static_cast<int>(survivors_.size()) >= k_; }
  // Distinct coded block ids in arrival order (the first k are what Decode uses).
  const std::vector<int>& survivors() const { return survivors_; }
  void Reset();

 private:
  int n_;
  int r_;
  int k_;
  std::vector<bool> seen_;
  std::vector<int> survivors_;
};

// Simulation helpers. times[i][j] = when worker i's j-th result arrives (ascending in j).
// Uncoded plan: the time by which every partition has arrived at least once.
double CoverageTime(const std::vector<std::vector<double>>& times);
// Coded variant: the k-th smallest arrival time over all messages.
double CodedCompletionTime(const std::vector<std::vector<double>>& times, int k);
// Uncoded single-message baseline ("wait for all"): worker i computes partition i only and the
// server waits for every worker: max_i finish[i].
double WaitForAllTime(const std::vector<double>& finish);

}  // namespace gw::coding
