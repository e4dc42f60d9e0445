#include "coding/multi_message.h"

#include <algorithm>
#include <limits>
#include <string>

#include "base/error.h"

namespace gw::coding {
namespace {

void CheckNr(int n, int r) {
  if (n < 1 || r < 1 || r > n) {
    throw Error("multi-message plan: need 1 <= r <= n, got n=" + std::to_string(n) +
                " r=" + std::to_string(r));
  }
}

void CheckIds(int worker, int j, int n, int r) {
  if (worker < 0 || worker >= n || j < 0 || j >= r) {
    throw Error("multi-message: result (worker " + std::to_string(worker) + ", #" +
                std::to_string(j) + ") outside n=" + std::to_string(n) +
                ", r=" + std::to_string(r));
  }
}

}  // namespace

std::vector<std::vector<int>> Plan(int n, int r) {
  CheckNr(n, r);
  std::vector<std::vector<int>> plan(n, std::vector<int>(r));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < r; ++j) plan[i][j] = (i + j) % n;
  }
  return plan;
}

Coverage::Coverage(int n, int r) : n_(n), r_(r) {
  CheckNr(n, r);
  count_.assign(n, 0);
}

int Coverage::Arrive(int worker, int j) {
  CheckIds(worker, j, n_, r_);
  const int partition = (worker + j) % n_;
  if (count_[partition]++ == 0) ++covered_;
  return partition;
}

void Coverage::Reset() {
  count_.assign(n_, 0);
  covered_ = 0;
}

CodedCoverage::CodedCoverage(int n, int r, int k) : n_(n), r_(r), k_(k) {
  if (n < 1 || r < 1 || k < 1 || static_cast<long>(k) > static_cast<long>(n) * r) {
    throw Error("coded multi-message: need n, r >= 1 and 1 <= k <= n*r, got n=" +
                std::to_string(n) + " r=" + std::to_string(r) + " k=" + std::to_string(k));
  }
  seen_.assign(static_cast<size_t>(n) * r, false);
}

int CodedCoverage::Block(int worker, int j) const {
  CheckIds(worker, j, n_, r_);
  return worker * r_ + j;
}

int CodedCoverage::Arrive(int worker, int j) {
  const int b = Block(worker, j);
  if (!seen_[b]) {
    seen_[b] = true;
    survivors_.push_back(b);
  }
  return b;
}

void CodedCoverage::Reset() {
  seen_.assign(seen_.size(), false);
  survivors_.clear();
}

double CoverageTime(const std::vector<std::vector<double>>& times) {
  const int n = static_cast<int>(times.size());
  if (n == 0) return 0;
  const int r = static_cast<int>(times[0].size());
  CheckNr(n, r);
  std::vector<double> first(n, std::numeric_limits<double>::infinity());
  for (int i = 0; i < n; ++i) {
    if (static_cast<int>(times[i].size()) != r) throw Error("multi-message: ragged times");
    for (int j = 0; j < r; ++j) first[(i + j) % n] = std::min(first[(i + j) % n], times[i][j]);
  }
  return *std::max_element(first.begin(), first.end());
}

double CodedCompletionTime(const std::vector<std::vector<double>>& times, int k) {
  std::vector<double> all;
  for (const auto& t : times) all.insert(all.end(), t.begin(), t.end());
  if (k < 1 || k > static_cast<int>(all.size())) {
    throw Error("coded multi-message: k=" + std::to_string(k) + " but " +
                std::to_string(all.size()) + " messages");
  }
  std::nth_element(all.begin(), all.begin() + (k - 1), all.end());
  return all[k - 1];
}

double WaitForAllTime(const std::vector<double>& finish) {
  if (finish.empty()) return 0;
  return *std::max_element(finish.begin(), finish.end());
}

}  // namespace gw::coding
