// Multinomial logistic regression: logits = x W^T + b.
#include <algorithm>

#include "ps/workload/classifier.h"

namespace gw {
namespace {

using ConstMatrixMap = Eigen::Map<const RowMatrixXf>;
using MatrixMap = Eigen::Map<RowMatrixXf>;

class Softmax final : public ClassifierWorkload {
 public:
  using ClassifierWorkload::ClassifierWorkload;

  std::string name() const override { return "softmax"; }
  size_t num_params() const override { return size_t(classes()) * (inputs() + 1); }
  void InitParams(std::span<float> params) const override {
    std::fill(params.begin(), params.end(), 0.0f);
  }

 protected:
  RowMatrixXf Logits(std::span<const float> params, const RowMatrixXf& x) const override {
    return (x * W(params).transpose()).rowwise() + B(params).transpose();
  }

  double LossAndGradient(std::span<const float> params, const RowMatrixXf& x,
                         const Eigen::VectorXi& y, std::span<float> grad) const override {
    RowMatrixXf dlogits;
    const double loss = SoftmaxCrossEntropy(Logits(params, x), y, &dlogits).loss;
    MatrixMap(grad.data(), classes(), inputs()).noalias() = dlogits.transpose() * x;
    Eigen::Map<Eigen::VectorXf>(grad.data() + classes() * inputs(), classes()) =
        dlogits.colwise().sum().transpose();
    return loss;
  }

 private:
  ConstMatrixMap W(std::span<const float> p) const {
    return ConstMatrixMap(p.data(), classes(), inputs());
  }
  Eigen::Map<const Eigen::VectorXf> B(std::span<const float> p) const {
    return Eigen::Map<const Eigen::VectorXf>(p.data() + classes() * inputs(), classes());
  }
};

}  // namespace

std::unique_ptr<Workload> MakeSoftmax(const WorkloadSpec& spec, ClassifierData data, uint32_t rank,
                                      uint32_t num_workers) {
  return std::make_unique<Softmax>(spec, std::move(data), rank, num_workers);
}

}  // namespace gw
