// mds:k=K: (n, K) MDS-coded matrix-vector products (coding/mds.h): K data blocks encoded into
// n; worker w computes coded block w (n/K units); the round is done at the fastest K workers
// (needed K; the server's tracker waits for more when those K are ill-conditioned, which the
// model's Monte Carlo and closed form do not count: about 1 round in 800 at n = 50, K = 34).
#include "coding/coding_scheme.h"

namespace gw::coding {
namespace {

class Mds final : public CodingScheme {
 public:
  CodingKind kind() const override { return CodingKind::kMds; }
  std::string_view name() const override { return "mds"; }
  std::string_view key() const override { return "k"; }
  std::optional<std::string> Misfit(int k, int n) const override {
    if (k < 1 || k > n) return "need 1 <= k <= n";
    return std::nullopt;
  }
  int Blocks(int k, int n) const override { return k; }
  double UnitsBefore(int k, int j, int n) const override { return static_cast<double>(n) / k; }
  RoundRule round_rule() const override { return RoundRule::kFirstWorkers; }
  Computes computes() const override { return Computes::kMatrixVectorProducts; }
};

}  // namespace

const CodingScheme& MdsScheme() {
  static const Mds kScheme;
  return kScheme;
}

}  // namespace gw::coding
