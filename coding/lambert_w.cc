#include "coding/lambert_w.h"

#include <cmath>
#include <numbers>
#include <string>

#include "base/error.h"

namespace gw::coding {

double LambertWm1(double z) {
  constexpr double kBranch = -1.0 / std::numbers::e;
  // Allow z a rounding step below −1/e (−exp(−1) computed in double).
  if (!(z >= kBranch * (1 + 1e-15)) || !(z < 0)) {
    throw Error("LambertWm1: argument " + std::to_string(z) + " outside [-1/e, 0)");
  }
  const double q = 2.0 * (1.0 + std::numbers::e * z);
  if (q <= 0) return -1.0;
  double w;
  if (z < -0.25) {
    const double p = -std::sqrt(q);  // series around the branch point, lower branch
    w = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p * p * p;
  } else {
    const double l1 = std::log(-z);
    const double l2 = std::log(-l1);
    w = l1 - l2 + l2 / l1;
  }
  for (int it = 0; it < 100; ++it) {
    const double ew = std::exp(w);
    const double f = w * ew - z;
    const double wp1 = w + 1.0;
    if (wp1 == 0.0) break;
    const double step = f / (ew * wp1 - (w + 2.0) * f / (2.0 * wp1));
    double next = w - step;
    if (next > -1.0) next = (w - 1.0) / 2.0;  // stay on the lower branch
    if (std::abs(next - w) <= 4e-16 * std::abs(next)) {
      w = next;
      break;
    }
    w = next;
  }
  return w;
}

}  // namespace gw::coding
