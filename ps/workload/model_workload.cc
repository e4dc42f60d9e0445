// A real DNN's traffic: the zoo's layers (or a trace's) as a flat model, with the emulated
// compute time of each layer. Network only, like synthetic: no data, a constant gradient.
#include <algorithm>
#include <string>
#include <vector>

#include "base/error.h"
#include "ps/workload/models.h"
#include "ps/workload/zoo/compute_profile.h"
#include "ps/workload/zoo/trace.h"
#include "ps/workload/zoo/zoo.h"

namespace gw {
namespace {

class LayeredModel final : public Workload {
 public:
  LayeredModel(std::string name, const zoo::ModelSpec& model,
               const std::vector<zoo::LayerTime>& times, uint32_t rank, bool phantom)
      : name_(std::move(name)), value_(1e-3f * static_cast<float>(rank + 1)), phantom_(phantom) {
    layers_.reserve(model.layers.size());
    for (size_t i = 0; i < model.layers.size(); ++i) {
      const size_t size = model.layers[i].params();
      layers_.push_back(
          {model.layers[i].name, num_params_, size, times[i].forward, times[i].backward});
      num_params_ += size;
    }
  }

  std::string name() const override { return name_; }
  size_t num_params() const override { return num_params_; }
  void InitParams(std::span<float> params) const override {
    std::fill(params.begin(), params.end(), 0.0f);
  }
  // Each gradient buffer is filled once, the first time it is handed over: the value never
  // changes and nobody else writes a gradient buffer, while re-filling VGG-16's 553 MB every
  // iteration would be compute the model never asked for (its compute is the layers' emulated
  // times). Buffers, not calls, so that a worker alternating two buffers gets both filled.
  double ComputeGradient(std::span<const float> params, std::span<float> grad) override {
    if (phantom_) return 0;  // the gradient's bytes never travel: not written either
    if (std::find(filled_.begin(), filled_.end(), grad.data()) == filled_.end()) {
      std::fill(grad.begin(), grad.end(), value_);
      filled_.push_back(grad.data());
    }
    return 0;
  }
  void SeekBatch(uint64_t) override {}  // every "batch" is the same
  // The gradient is the same for any rows; the worker scales the layers' times with rows over
  // the nominal batch.
  void SetBatchSize(size_t rows) override {
    if (rows == 0) throw Error(name_ + ": batch size must be positive");
  }
  EvalResult Evaluate(std::span<const float> params) const override { return {0, -1}; }
  size_t batches_per_epoch() const override { return 1; }
  std::span<const WorkloadLayer> layers() const override { return layers_; }

 private:
  std::string name_;
  std::vector<WorkloadLayer> layers_;
  size_t num_params_ = 0;
  float value_;                       // 1e-3 * (rank + 1): tells workers' contributions apart
  std::vector<const float*> filled_;  // the gradient buffers filled so far
  bool phantom_;                      // WorkloadSpec::phantom
};

}  // namespace

std::unique_ptr<Workload> MakeLayeredModel(const WorkloadSpec& spec, uint32_t rank) {
  if (spec.kind == "trace") {
    const zoo::TraceResult read = zoo::ReadTraceFile(spec.trace_file);
    if (!read.trace) throw Error(read.error);
    return std::make_unique<LayeredModel>(spec.Text(), read.trace->ToModel(),
                                          zoo::ComputeTimes(*read.trace), rank, spec.phantom);
  }
  if (spec.kind != "model") throw Error("internal: a layered model of kind " + spec.kind);
  const zoo::ModelSpec* model = zoo::FindModel(spec.model);
  if (model == nullptr) throw Error(zoo::UnknownModelMessage(spec.model));
  if (spec.batch_size == 0 || spec.batch_size > UINT32_MAX) {
    throw Error(spec.Text() + ": batch size must be between 1 and " + std::to_string(UINT32_MAX));
  }
  const zoo::DeviceProfile device{spec.device_tflops, static_cast<uint32_t>(spec.batch_size)};
  return std::make_unique<LayeredModel>(spec.Text(), *model, zoo::ComputeTimes(*model, device),
                                        rank, spec.phantom);
}

}  // namespace gw
