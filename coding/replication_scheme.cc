// replication:r=R (Lee et al.'s repetition baseline): R | n; n/R blocks, each on R workers
// (worker w: block w mod n/R); the round waits until every block arrived once.
#include "coding/coding_scheme.h"

namespace gw::coding {
namespace {

class Replication final : public CodingScheme {
 public:
  CodingKind kind() const override { return CodingKind::kReplication; }
  std::string_view name() const override { return "replication"; }
  std::string_view key() const override { return "r"; }
  std::optional<std::string> Misfit(int r, int n) const override {
    if (r < 1 || n % r != 0) return "r must divide the number of workers";
    return std::nullopt;
  }
  int Blocks(int r, int n) const override { return n / r; }
  std::vector<int> BlocksOf(int r, int worker, int n) const override { return {worker % (n / r)}; }
  double UnitsBefore(int r, int j, int n) const override { return r; }
};

}  // namespace

const CodingScheme& ReplicationScheme() {
  static const Replication kScheme;
  return kScheme;
}

}  // namespace gw::coding
