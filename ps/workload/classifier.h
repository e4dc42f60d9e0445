// Shared by the softmax and MLP workloads: minibatches from this worker's partition of the
// training set, the softmax cross-entropy loss, and evaluation on the test set.
#pragma once

#include <optional>

#include "ps/workload/models.h"
#include "ps/workload/partition.h"

namespace gw {

// Mean cross-entropy of softmax(logits) (rows x classes) against labels y, and the fraction of
// rows whose largest logit is the label. If dlogits is given it gets d(mean loss)/d(logits).
EvalResult SoftmaxCrossEntropy(const RowMatrixXf& logits, const Eigen::VectorXi& y,
                               RowMatrixXf* dlogits);

class ClassifierWorkload : public Workload {
 public:
  ClassifierWorkload(const WorkloadSpec& spec, ClassifierData data, uint32_t rank,
                     uint32_t num_workers);

  double ComputeGradient(std::span<const float> params, std::span<float> grad) final;
  void SeekBatch(uint64_t index) final;
  void SetBatchSize(size_t rows) final;
  EvalResult Evaluate(std::span<const float> params) const final;
  size_t batches_per_epoch() const final;

 protected:
  // Logits (x.rows() x classes) of samples x.
  virtual RowMatrixXf Logits(std::span<const float> params, const RowMatrixXf& x) const = 0;
  // Mean loss of samples x with labels y, and its gradient.
  virtual double LossAndGradient(std::span<const float> params, const RowMatrixXf& x,
                                 const Eigen::VectorXi& y, std::span<float> grad) const = 0;

  int inputs() const { return data_.inputs; }
  int classes() const { return data_.classes; }

 private:
  // Throws unless built with data and params has num_params() floats.
  void CheckCall(std::span<const float> params) const;

  ClassifierData data_;
  std::optional<BatchCycler> batches_;  // empty without data
};

}  // namespace gw
