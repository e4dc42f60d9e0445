// Lambert W, lower real branch: W₋₁(z) solves w·e^w = z with w <= −1, for z in [−1/e, 0).
#pragma once

namespace gw::coding {

// Halley iteration from a branch-point series (z near −1/e) or the asymptotic
// log(−z) − log(−log(−z)) guess (z near 0); converges to ~1 ulp in a few steps.
// Throws gw::Error outside [−1/e, 0).
double LambertWm1(double z);

}  // namespace gw::coding
