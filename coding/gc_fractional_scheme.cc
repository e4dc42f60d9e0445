// gc-fr:s=S (gradient coding, fractional repetition; (S+1) | n): n blocks; the workers form
// n/(S+1) groups, group t holding blocks t(S+1) … t(S+1)+S.
#include "coding/gradient_code_scheme.h"

namespace gw::coding {
namespace {

class GcFractional final : public GradientCodeScheme {
 public:
  CodingKind kind() const override { return CodingKind::kGcFractional; }
  std::string_view name() const override { return "gc-fr"; }
  std::optional<std::string> Misfit(int s, int n) const override {
    if (s < 0 || s >= n || n % (s + 1) != 0) {
      return "fractional repetition needs 0 <= s < n and s+1 dividing n (or use gc-cr, which "
             "takes any s < n)";
    }
    return std::nullopt;
  }
  std::vector<int> BlocksOf(int s, int worker, int n) const override {
    const int group = worker / (s + 1);
    std::vector<int> blocks;
    for (int i = 0; i <= s; ++i) blocks.push_back(group * (s + 1) + i);
    return blocks;
  }
  GradientCode Code(int s, int n, uint64_t seed) const override {
    return GradientCode::FractionalRepetition(n, s);
  }
};

}  // namespace

const CodingScheme& GcFractionalScheme() {
  static const GcFractional kScheme;
  return kScheme;
}

}  // namespace gw::coding
