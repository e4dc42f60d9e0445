// One-hidden-layer ReLU MLP: h = relu(x W1^T + b1), logits = h W2^T + b2.
#include <algorithm>
#include <cmath>
#include <random>

#include "base/error.h"
#include "ps/workload/classifier.h"

namespace gw {
namespace {

using ConstMatrixMap = Eigen::Map<const RowMatrixXf>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;
using MatrixMap = Eigen::Map<RowMatrixXf>;
using VectorMap = Eigen::Map<Eigen::VectorXf>;

class Mlp final : public ClassifierWorkload {
 public:
  Mlp(const WorkloadSpec& spec, ClassifierData data, uint32_t rank, uint32_t num_workers)
      : ClassifierWorkload(spec, std::move(data), rank, num_workers),
        hidden_(static_cast<int>(spec.mlp_hidden)),
        seed_(spec.seed) {
    if (hidden_ <= 0) throw Error("mlp: mlp_hidden must be positive");
  }

  std::string name() const override { return "mlp"; }
  size_t num_params() const override { return b2_offset() + classes(); }

  void InitParams(std::span<float> params) const override {
    if (params.size() != num_params()) throw Error("mlp: params size differs from num_params()");
    std::fill(params.begin(), params.end(), 0.0f);
    std::mt19937_64 rng(seed_);
    std::normal_distribution<float> he(0.0f, std::sqrt(2.0f / inputs()));
    std::normal_distribution<float> xavier(0.0f, std::sqrt(2.0f / (hidden_ + classes())));
    std::generate_n(params.begin(), w1_size(), [&] { return he(rng); });
    std::generate_n(params.begin() + w2_offset(), w2_size(), [&] { return xavier(rng); });
  }

 protected:
  RowMatrixXf Logits(std::span<const float> params, const RowMatrixXf& x) const override {
    const RowMatrixXf h = Hidden(params, x).cwiseMax(0.0f);
    return (h * W2(params).transpose()).rowwise() + B2(params).transpose();
  }

  double LossAndGradient(std::span<const float> params, const RowMatrixXf& x,
                         const Eigen::VectorXi& y, std::span<float> grad) const override {
    const RowMatrixXf z1 = Hidden(params, x);
    const RowMatrixXf h = z1.cwiseMax(0.0f);
    const RowMatrixXf logits = (h * W2(params).transpose()).rowwise() + B2(params).transpose();
    RowMatrixXf dlogits;
    const double loss = SoftmaxCrossEntropy(logits, y, &dlogits).loss;

    MatrixMap(grad.data() + w2_offset(), classes(), hidden_).noalias() = dlogits.transpose() * h;
    VectorMap(grad.data() + b2_offset(), classes()) = dlogits.colwise().sum().transpose();
    RowMatrixXf dz1 = dlogits * W2(params);
    dz1.array() *= (z1.array() > 0.0f).cast<float>();
    MatrixMap(grad.data(), hidden_, inputs()).noalias() = dz1.transpose() * x;
    VectorMap(grad.data() + b1_offset(), hidden_) = dz1.colwise().sum().transpose();
    return loss;
  }

 private:
  size_t w1_size() const { return size_t(hidden_) * inputs(); }
  size_t w2_size() const { return size_t(classes()) * hidden_; }
  size_t b1_offset() const { return w1_size(); }
  size_t w2_offset() const { return b1_offset() + hidden_; }
  size_t b2_offset() const { return w2_offset() + w2_size(); }

  // Pre-activations x W1^T + b1 (x.rows() x hidden).
  RowMatrixXf Hidden(std::span<const float> p, const RowMatrixXf& x) const {
    return (x * ConstMatrixMap(p.data(), hidden_, inputs()).transpose()).rowwise() +
           ConstVectorMap(p.data() + b1_offset(), hidden_).transpose();
  }
  ConstMatrixMap W2(std::span<const float> p) const {
    return ConstMatrixMap(p.data() + w2_offset(), classes(), hidden_);
  }
  ConstVectorMap B2(std::span<const float> p) const {
    return ConstVectorMap(p.data() + b2_offset(), classes());
  }

  int hidden_;
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<Workload> MakeMlp(const WorkloadSpec& spec, ClassifierData data, uint32_t rank,
                                  uint32_t num_workers) {
  return std::make_unique<Mlp>(spec, std::move(data), rank, num_workers);
}

}  // namespace gw
