// mm:r=R (multi-message): n blocks; worker w computes w, w+1, …, w+R−1 (mod n) in order and
// sends each as its own message, the j-th after j+1 units; done when every block arrived once.
#include "coding/coding_scheme.h"

namespace gw::coding {
namespace {

class MultiMessage final : public CodingScheme {
 public:
  CodingKind kind() const override { return CodingKind::kMultiMessage; }
  std::string_view name() const override { return "mm"; }
  std::string_view key() const override { return "r"; }
  std::optional<std::string> Misfit(int r, int n) const override {
    if (r < 1 || r > n) return "need 1 <= r <= n";
    return std::nullopt;
  }
  std::vector<int> BlocksOf(int r, int worker, int n) const override {
    std::vector<int> blocks;
    for (int i = 0; i < r; ++i) blocks.push_back((worker + i) % n);
    return blocks;
  }
  int Messages(int r) const override { return r; }
  double UnitsBefore(int r, int j, int n) const override { return j + 1; }
};

}  // namespace

const CodingScheme& MultiMessageScheme() {
  static const MultiMessage kScheme;
  return kScheme;
}

}  // namespace gw::coding
