#include "ps/workload/classifier.h"

#include <cmath>
#include <string>

#include "base/error.h"

namespace gw {
namespace {

void CheckDataset(const Dataset& d, const ClassifierData& data, const char* which) {
  if (d.x.cols() != data.inputs || d.x.rows() != d.y.size() || d.y.size() == 0 ||
      d.y.minCoeff() < 0 || d.y.maxCoeff() >= data.classes) {
    throw Error(std::string("classifier ") + which + " set does not match " +
                std::to_string(data.inputs) + " inputs and " + std::to_string(data.classes) +
                " classes");
  }
}

}  // namespace

EvalResult SoftmaxCrossEntropy(const RowMatrixXf& logits, const Eigen::VectorXi& y,
                               RowMatrixXf* dlogits) {
  const Eigen::VectorXf max = logits.rowwise().maxCoeff();
  const RowMatrixXf exp = (logits.colwise() - max).array().exp();
  const Eigen::VectorXf sum = exp.rowwise().sum();
  double loss = 0;
  size_t correct = 0;
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    loss += std::log(double{sum(i)}) + max(i) - logits(i, y(i));
    Eigen::Index predicted;
    logits.row(i).maxCoeff(&predicted);
    correct += predicted == y(i);
  }
  const auto n = static_cast<double>(logits.rows());
  if (dlogits != nullptr) {
    *dlogits = exp.array().colwise() / sum.array();
    for (Eigen::Index i = 0; i < logits.rows(); ++i) (*dlogits)(i, y(i)) -= 1;
    *dlogits /= static_cast<float>(n);
  }
  return {loss / n, static_cast<double>(correct) / n};
}

ClassifierWorkload::ClassifierWorkload(const WorkloadSpec& spec, ClassifierData data, uint32_t rank,
                                       uint32_t num_workers)
    : data_(std::move(data)) {
  if (data_.inputs <= 0 || data_.classes <= 1) throw Error("classifier shape must be positive");
  if ((data_.train == nullptr) != (data_.test == nullptr)) {
    throw Error("classifier needs both a training and a test set, or neither");
  }
  if (data_.train == nullptr) return;
  CheckDataset(*data_.train, data_, "training");
  CheckDataset(*data_.test, data_, "test");
  batches_.emplace(PartitionRows(data_.train->x.rows(), spec.seed, rank, num_workers),
                   spec.batch_size, spec.seed, rank);
}

double ClassifierWorkload::ComputeGradient(std::span<const float> params, std::span<float> grad) {
  CheckCall(params);
  if (grad.size() != num_params()) throw Error(name() + ": grad size differs from num_params()");
  const std::span<const uint32_t> rows = batches_->Next();
  const RowMatrixXf x = data_.train->x(rows, Eigen::all);
  const Eigen::VectorXi y = data_.train->y(rows);
  return LossAndGradient(params, x, y, grad);
}

EvalResult ClassifierWorkload::Evaluate(std::span<const float> params) const {
  CheckCall(params);
  return SoftmaxCrossEntropy(Logits(params, data_.test->x), data_.test->y, nullptr);
}

void ClassifierWorkload::SeekBatch(uint64_t index) {
  if (!batches_) throw Error(name() + ": workload built without data");
  batches_->Seek(index);
}

void ClassifierWorkload::SetBatchSize(size_t rows) {
  if (!batches_) throw Error(name() + ": workload built without data");
  batches_->SetBatchSize(rows);
}

size_t ClassifierWorkload::batches_per_epoch() const {
  if (!batches_) throw Error(name() + ": workload built without data");
  return batches_->batches_per_epoch();
}

void ClassifierWorkload::CheckCall(std::span<const float> params) const {
  if (!batches_) throw Error(name() + ": workload built without data");
  if (params.size() != num_params()) {
    throw Error(name() + ": params size differs from num_params()");
  }
}

}  // namespace gw
