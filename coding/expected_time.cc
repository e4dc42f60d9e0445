#include "coding/expected_time.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "coding/lambert_w.h"
#include "coding/rng.h"
#include "coding/straggler.h"
#include "base/error.h"

namespace gw::coding {
namespace {

void Check(Scheme scheme, int n, int k, double mu) {
  if (n < 1) throw Error("expected time: need n >= 1, got " + std::to_string(n));
  if (!(mu > 0) || !std::isfinite(mu)) throw Error("expected time: need mu > 0");
  if (scheme == Scheme::kUncoded) return;
  if (k < 1 || k > n) {
    throw Error("expected time: need 1 <= k <= n, got n=" + std::to_string(n) +
                " k=" + std::to_string(k));
  }
  if (scheme == Scheme::kReplication && n % k != 0) {
    throw Error("expected time: replication needs k | n, got n=" + std::to_string(n) +
                " k=" + std::to_string(k));
  }
}

}  // namespace

double HarmonicNumber(int m) {
  double h = 0;
  for (int i = m; i >= 1; --i) h += 1.0 / i;  // small terms first
  return h;
}

double ExpectedTimeUncoded(int n, double mu) {
  Check(Scheme::kUncoded, n, n, mu);
  return (1.0 + HarmonicNumber(n) / mu) / n;
}

double ExpectedTimeReplication(int n, int k, double mu) {
  Check(Scheme::kReplication, n, k, mu);
  return (1.0 + k * HarmonicNumber(k) / (n * mu)) / k;
}

double ExpectedTimeMds(int n, int k, double mu) {
  Check(Scheme::kMds, n, k, mu);
  return (1.0 + (HarmonicNumber(n) - HarmonicNumber(n - k)) / mu) / k;
}

double ExpectedTime(Scheme scheme, int n, int k, double mu) {
  switch (scheme) {
    case Scheme::kUncoded:
      return ExpectedTimeUncoded(n, mu);
    case Scheme::kReplication:
      return ExpectedTimeReplication(n, k, mu);
    case Scheme::kMds:
      return ExpectedTimeMds(n, k, mu);
  }
  return 0;
}

double ApproxTimeUncoded(int n, double mu) {
  Check(Scheme::kUncoded, n, n, mu);
  return (1.0 + std::log(n) / mu) / n;
}

double ApproxTimeReplication(int n, int k, double mu) {
  Check(Scheme::kReplication, n, k, mu);
  return (1.0 + k * std::log(k) / (n * mu)) / k;
}

double ApproxTimeMds(int n, int k, double mu) {
  Check(Scheme::kMds, n, k, mu);
  if (k == n) throw Error("expected time: the MDS approximation needs k < n");
  return (1.0 + std::log(static_cast<double>(n) / (n - k)) / mu) / k;
}

double OptimalMdsRate(double mu) {
  if (!(mu > 0) || !std::isfinite(mu)) throw Error("optimal MDS rate: need mu > 0");
  return 1.0 + 1.0 / LambertWm1(-std::exp(-(mu + 1.0)));
}

int OptimalMdsK(int n, double mu) {
  Check(Scheme::kMds, n, n, mu);
  int best = 1;
  for (int k = 2; k <= n; ++k) {
    if (ExpectedTimeMds(n, k, mu) < ExpectedTimeMds(n, best, mu)) best = k;
  }
  return best;
}

MonteCarloEstimate MonteCarloTime(Scheme scheme, int n, int k, double mu, int trials,
                                  uint64_t seed) {
  Check(scheme, n, k, mu);
  if (trials < 2) throw Error("Monte Carlo: need at least 2 trials");
  std::mt19937_64 rng(MixSeed(
      seed, {static_cast<uint64_t>(scheme), static_cast<uint64_t>(n), static_cast<uint64_t>(k)}));
  std::vector<double> t(n);
  double sum = 0, sum2 = 0;
  for (int trial = 0; trial < trials; ++trial) {
    double x = 0;
    switch (scheme) {
      case Scheme::kUncoded:
        for (int i = 0; i < n; ++i) x = std::max(x, SampleShiftedExp(rng, mu, 1.0 / n));
        break;
      case Scheme::kReplication: {
        // Part p on workers p, p+k, p+2k, …: the part is done at its fastest replica.
        std::vector<double> part(k, 1e300);
        for (int i = 0; i < n; ++i) {
          part[i % k] = std::min(part[i % k], SampleShiftedExp(rng, mu, 1.0 / k));
        }
        x = *std::max_element(part.begin(), part.end());
        break;
      }
      case Scheme::kMds:
        for (int i = 0; i < n; ++i) t[i] = SampleShiftedExp(rng, mu, 1.0 / k);
        std::nth_element(t.begin(), t.begin() + (k - 1), t.end());
        x = t[k - 1];
        break;
    }
    sum += x;
    sum2 += x * x;
  }
  MonteCarloEstimate e;
  e.mean = sum / trials;
  const double var = std::max(0.0, (sum2 - trials * e.mean * e.mean) / (trials - 1));
  e.std_error = std::sqrt(var / trials);
  return e;
}

}  // namespace gw::coding
