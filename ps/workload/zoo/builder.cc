#include "ps/workload/zoo/builder.h"

#include <utility>

#include "base/error.h"

namespace gw::zoo {

ModelBuilder::ModelBuilder(std::string name, std::string description) {
  model_.name = std::move(name);
  model_.description = std::move(description);
}

void ModelBuilder::Layer(const std::string& name, std::vector<TensorSpec> tensors, double flops) {
  model_.layers.push_back({name, std::move(tensors), flops});
}

void ModelBuilder::Carry(double flops) {
  // Every architecture starts with a layer that has parameters (a convolution, an embedding).
  if (model_.layers.empty()) throw Error(model_.name + ": an operation before any layer");
  model_.layers.back().forward_flops += flops;
}

Feature ModelBuilder::Conv2d(const std::string& name, const Feature& in, uint64_t out_channels,
                             const Window& window, bool bias) {
  const Feature out = window.Apply(in, out_channels);
  const uint64_t weights = out_channels * in.channels * window.height * window.width;
  const double outputs = static_cast<double>(out.elements());
  double flops = 2.0 * static_cast<double>(in.channels * window.height * window.width) * outputs;
  std::vector<TensorSpec> tensors = {{name + ".weight", weights}};
  if (bias) {
    tensors.push_back({name + ".bias", out_channels});
    flops += outputs;
  }
  Layer(name, std::move(tensors), flops);
  return out;
}

void ModelBuilder::BatchNorm2d(const std::string& name, const Feature& x) {
  Layer(name, {{name + ".weight", x.channels}, {name + ".bias", x.channels}},
        kBatchNormFlops * static_cast<double>(x.elements()));
}

void ModelBuilder::Linear(const std::string& name, uint64_t in, uint64_t out, uint64_t rows,
                          bool bias) {
  const double outputs = static_cast<double>(out * rows);
  double flops = 2.0 * static_cast<double>(in) * outputs;
  std::vector<TensorSpec> tensors = {{name + ".weight", in * out}};
  if (bias) {
    tensors.push_back({name + ".bias", out});
    flops += outputs;
  }
  Layer(name, std::move(tensors), flops);
}

void ModelBuilder::Embedding(const std::string& name, uint64_t num, uint64_t dim) {
  Layer(name, {{name + ".weight", num * dim}}, 0);
}

void ModelBuilder::LayerNorm(const std::string& name, uint64_t dim, uint64_t rows) {
  Layer(name, {{name + ".weight", dim}, {name + ".bias", dim}},
        kLayerNormFlops * static_cast<double>(dim * rows));
}

Feature ModelBuilder::Pool(const Feature& in, const Window& window) {
  const Feature out = window.Apply(in, in.channels);
  Carry(static_cast<double>(window.height * window.width * out.elements()));
  return out;
}

Feature ModelBuilder::AdaptiveAvgPool(const Feature& in, uint64_t out_height, uint64_t out_width) {
  Carry(static_cast<double>(in.elements()));
  return {in.channels, out_height, out_width};
}

}  // namespace gw::zoo
