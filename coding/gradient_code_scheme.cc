#include "coding/gradient_code_scheme.h"

namespace gw::coding {
namespace {

class Combiner final : public GradientCombiner {
 public:
  explicit Combiner(GradientCode code) : code_(std::move(code)) {}

  // Σ_b B(worker, b)·g_b over the worker's blocks.
  std::vector<Term> Encoding(int worker, int j, const std::vector<int>& blocks) const override {
    std::vector<Term> terms;
    for (size_t i = 0; i < blocks.size(); ++i) {
      terms.push_back({i, static_cast<float>(code_.B()(worker, blocks[i]))});
    }
    return terms;
  }

  std::vector<float> Decoding(const std::vector<UsedMessage>& used) const override {
    std::vector<int> survivors;
    for (const auto& u : used) survivors.push_back(u.worker);
    const Eigen::VectorXd a = code_.DecodingVector(survivors);
    std::vector<float> weights;
    for (const auto& u : used) weights.push_back(static_cast<float>(a(u.worker)));
    return weights;
  }

 private:
  GradientCode code_;
};

}  // namespace

std::unique_ptr<GradientCombiner> GradientCodeScheme::MakeCombiner(int s, int n,
                                                                   uint64_t seed) const {
  return std::make_unique<Combiner>(Code(s, n, seed));
}

}  // namespace gw::coding
