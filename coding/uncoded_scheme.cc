// uncoded: n blocks; worker w computes block w; the round waits for every block.
#include "coding/coding_scheme.h"

namespace gw::coding {
namespace {

class Uncoded final : public CodingScheme {
 public:
  CodingKind kind() const override { return CodingKind::kUncoded; }
  std::string_view name() const override { return "uncoded"; }
  std::string_view key() const override { return ""; }
  std::optional<std::string> Misfit(int param, int n) const override { return std::nullopt; }
  double UnitsBefore(int param, int j, int n) const override { return 1; }
};

}  // namespace

const CodingScheme& UncodedScheme() {
  static const Uncoded kScheme;
  return kScheme;
}

}  // namespace gw::coding
