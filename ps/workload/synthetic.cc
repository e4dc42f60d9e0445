// Network-only workload: a gradient of the configured size, filled with a constant.
#include <algorithm>

#include "base/error.h"
#include "ps/workload/models.h"

namespace gw {
namespace {

class Synthetic final : public Workload {
 public:
  Synthetic(const WorkloadSpec& spec, uint32_t rank)
      : num_params_(spec.synthetic_bytes / sizeof(float)),
        value_(1e-3f * static_cast<float>(rank + 1)),
        phantom_(spec.phantom) {
    if (spec.synthetic_bytes == 0 || spec.synthetic_bytes % sizeof(float) != 0) {
      throw Error("synthetic: synthetic_bytes must be a positive multiple of 4, got " +
                  std::to_string(spec.synthetic_bytes));
    }
  }

  std::string name() const override { return "synthetic"; }
  size_t num_params() const override { return num_params_; }
  void InitParams(std::span<float> params) const override {
    std::fill(params.begin(), params.end(), 0.0f);
  }
  double ComputeGradient(std::span<const float> params, std::span<float> grad) override {
    if (!phantom_) std::fill(grad.begin(), grad.end(), value_);  // phantom: never read
    return 0;
  }
  void SeekBatch(uint64_t) override {}  // every "batch" is the same
  // The gradient is the same for any rows; an emulated compute time (--straggler) scales
  // with them in the worker.
  void SetBatchSize(size_t rows) override {
    if (rows == 0) throw Error("synthetic: batch size must be positive");
  }
  EvalResult Evaluate(std::span<const float> params) const override { return {0, -1}; }
  size_t batches_per_epoch() const override { return 1; }

 private:
  size_t num_params_;
  float value_;   // 1e-3 * (rank + 1): tells workers' contributions apart in a sum
  bool phantom_;  // WorkloadSpec::phantom: the gradient is left unwritten
};

}  // namespace

std::unique_ptr<Workload> MakeSynthetic(const WorkloadSpec& spec, uint32_t rank) {
  return std::make_unique<Synthetic>(spec, rank);
}

}  // namespace gw
