#include "ps/workload/tensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

#include "base/error.h"
#include "ps/workload/zoo/trace.h"

namespace gw {
namespace {

class Tensors final : public Workload {
 public:
  Tensors(std::string prefix, std::vector<TensorSpec> tensors)
      : prefix_(std::move(prefix)),
        tensors_(std::move(tensors)),
        num_params_(std::accumulate(tensors_.begin(), tensors_.end(), size_t{0},
                                    [](size_t n, const TensorSpec& t) { return n + t.numel; })) {}

  std::string name() const override { return "tensors:" + prefix_; }
  size_t num_params() const override { return num_params_; }

  void InitParams(std::span<float> params) const override {
    const std::string file = prefix_ + ".f32";
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    if (!in) throw Error(file + ": cannot open: " + std::strerror(errno));
    const auto bytes = static_cast<uint64_t>(std::max<std::streamoff>(in.tellg(), 0));
    const uint64_t expected = uint64_t{params.size()} * sizeof(float);
    if (bytes != expected) {
      throw Error(file + ": " + std::to_string(bytes) + " bytes, but " + prefix_ + ".csv's " +
                  std::to_string(tensors_.size()) + " tensors hold " +
                  std::to_string(params.size()) + " float32 parameters (" +
                  std::to_string(expected) + " bytes)");
    }
    static_assert(std::endian::native == std::endian::little, "PREFIX.f32 is little-endian");
    in.seekg(0);
    in.read(reinterpret_cast<char*>(params.data()), static_cast<std::streamsize>(expected));
    if (!in) throw Error(file + ": read failed after " + std::to_string(in.gcount()) + " bytes");
    size_t begin = 0;
    for (const TensorSpec& t : tensors_) {
      for (size_t i = begin; i < begin + t.numel; ++i) {
        if (!std::isfinite(params[i])) {
          throw Error(file + ": parameter " + std::to_string(i - begin) + " of tensor " + t.name +
                      " is " + std::to_string(params[i]) + ", not a finite number");
        }
      }
      begin += t.numel;
    }
  }
  double ComputeGradient(std::span<const float>, std::span<float>) override {
    throw Error("--workload " + name() +
                " is computed by a Python worker (python/gradwire: gradwire.torch or "
                "gradwire.run_worker); `gradwire worker` cannot compute it");
  }
  void SeekBatch(uint64_t) override {}
  void SetBatchSize(size_t rows) override {
    if (rows == 0) throw Error(name() + ": batch size must be positive");
  }
  EvalResult Evaluate(std::span<const float>) const override { return {NAN, -1}; }
  size_t batches_per_epoch() const override { return 1; }

 private:
  std::string prefix_;
  std::vector<TensorSpec> tensors_;
  size_t num_params_;
};

}  // namespace

std::vector<TensorSpec> ReadTensorLayout(const std::string& prefix) {
  const zoo::TraceResult read = zoo::ReadTraceFile(prefix + ".csv", zoo::TraceTimes::kOptional);
  if (!read.trace) throw Error(read.error);
  const auto& layers = read.trace->layers;
  std::vector<TensorSpec> tensors(layers.size());
  std::transform(layers.begin(), layers.end(), tensors.begin(), [](const zoo::TraceLayer& l) {
    return TensorSpec{l.name, l.params};
  });
  return tensors;
}

std::unique_ptr<Workload> MakeTensors(const WorkloadSpec& spec) {
  if (spec.tensors.empty()) throw Error("--workload tensors:PREFIX needs a PREFIX");
  return std::make_unique<Tensors>(spec.tensors, ReadTensorLayout(spec.tensors));
}

}  // namespace gw
