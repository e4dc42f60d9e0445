// What gc-fr and gc-cr share (gradient coding, coding/gradient_code.h): worker w holds S+1
// blocks and sends one combination of their gradients after S+1 units; any n−S workers decode.
#pragma once

#include "coding/coding_scheme.h"
#include "coding/gradient_code.h"

namespace gw::coding {

class GradientCodeScheme : public CodingScheme {
 public:
  std::string_view key() const override { return "s"; }
  double UnitsBefore(int s, int j, int n) const override { return s + 1; }
  RoundRule round_rule() const override { return RoundRule::kFirstWorkers; }
  int Needed(int s, int n) const override { return n - s; }
  bool is_gradient_code() const override { return true; }
  std::unique_ptr<GradientCombiner> MakeCombiner(int s, int n, uint64_t seed) const override;

  // The job's code (both sides build the same one from the seed).
  virtual GradientCode Code(int s, int n, uint64_t seed) const = 0;
};

}  // namespace gw::coding
