// gc-cr:s=S (gradient coding, cyclic repetition; any S < n): n blocks; worker w holds blocks
// w, w+1, …, w+S (mod n), listed ascending.
#include <algorithm>

#include "coding/gradient_code_scheme.h"

namespace gw::coding {
namespace {

class GcCyclic final : public GradientCodeScheme {
 public:
  CodingKind kind() const override { return CodingKind::kGcCyclic; }
  std::string_view name() const override { return "gc-cr"; }
  std::optional<std::string> Misfit(int s, int n) const override {
    if (s < 0 || s >= n) return "need 0 <= s < n";
    return std::nullopt;
  }
  std::vector<int> BlocksOf(int s, int worker, int n) const override {
    std::vector<int> blocks;
    for (int i = 0; i <= s; ++i) blocks.push_back((worker + i) % n);
    std::sort(blocks.begin(), blocks.end());
    return blocks;
  }
  GradientCode Code(int s, int n, uint64_t seed) const override {
    return GradientCode::CyclicRepetition(n, s, seed);
  }
};

}  // namespace

const CodingScheme& GcCyclicScheme() {
  static const GcCyclic kScheme;
  return kScheme;
}

}  // namespace gw::coding
