// What every architecture file of the zoo builds with: a model under construction that
// appends layers in forward order and keeps the per-sample activation shapes, so each file
// reads like the framework's own definition (a loop over stages and blocks) and the FLOPs
// follow from the input size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ps/workload/zoo/model_spec.h"

namespace gw::zoo {

// A convolutional network's per-sample activation: channels x height x width.
struct Feature {
  uint64_t channels = 0;
  uint64_t height = 0;
  uint64_t width = 0;

  uint64_t elements() const { return channels * height * width; }
};

// A 2-D window (convolution or pooling) as torch.nn's kernel_size, stride and padding.
struct Window {
  uint64_t height = 1;
  uint64_t width = 1;
  uint64_t stride = 1;
  uint64_t pad_height = 0;
  uint64_t pad_width = 0;

  static Window Square(uint64_t size, uint64_t stride = 1, uint64_t pad = 0) {
    return {size, size, stride, pad, pad};
  }
  // The output size torch.nn computes (floor mode, no dilation).
  Feature Apply(const Feature& in, uint64_t out_channels) const {
    return {out_channels, (in.height + 2 * pad_height - height) / stride + 1,
            (in.width + 2 * pad_width - width) / stride + 1};
  }
};

// FLOPs per element of the parameter-free operations. They are a few percent of a model's
// total at most (the multiply-adds of convolutions, linears and attention products dominate);
// they are counted so that a layer followed by heavy element-wise work is not undercharged.
// One compare per element.
inline constexpr double kReluFlops = 1;
// One add per element (a residual connection, a sum of embeddings).
inline constexpr double kAddFlops = 1;
// Batch-norm in training: a mean and a variance pass, then (x - mean) * scale + shift.
inline constexpr double kBatchNormFlops = 4;
// Layer-norm: the same computation over the features of one position.
inline constexpr double kLayerNormFlops = 4;
// Softmax: max, subtract, exp, sum, divide.
inline constexpr double kSoftmaxFlops = 5;
// GELU (BERT's erf form, GPT-2's tanh approximation): a cube or an erf, a few multiply-adds.
inline constexpr double kGeluFlops = 8;
// tanh (BERT's pooler): counted like GELU's core.
inline constexpr double kTanhFlops = 4;

class ModelBuilder {
 public:
  ModelBuilder(std::string name, std::string description);

  // A layer of the given tensors ("<name>.weight", ...) and forward FLOPs per sample.
  void Layer(const std::string& name, std::vector<TensorSpec> tensors, double flops);
  // FLOPs of a parameter-free operation, put on the last layer with parameters (the one whose
  // output it consumes, so it is timed where it runs in the forward pass).
  void Carry(double flops);

  // nn.Conv2d(in.channels, out_channels, window, bias): 2 FLOPs per multiply-add, one add per
  // output for the bias. Returns the output shape.
  Feature Conv2d(const std::string& name, const Feature& in, uint64_t out_channels,
                 const Window& window, bool bias);
  // nn.BatchNorm2d(x.channels) (affine: weight and bias).
  void BatchNorm2d(const std::string& name, const Feature& x);
  // nn.Linear(in, out) applied to `rows` positions per sample (1 for a classifier head, the
  // sequence length for a transformer). GPT-2's Conv1D is the same computation.
  void Linear(const std::string& name, uint64_t in, uint64_t out, uint64_t rows, bool bias);
  // nn.Embedding(num, dim): a lookup, no FLOPs.
  void Embedding(const std::string& name, uint64_t num, uint64_t dim);
  // nn.LayerNorm(dim) applied to `rows` positions per sample.
  void LayerNorm(const std::string& name, uint64_t dim, uint64_t rows);

  // Parameter-free operations of a convolutional network (carried, see Carry).
  void Relu(const Feature& x) { Carry(kReluFlops * static_cast<double>(x.elements())); }
  // Max or average pooling: one compare or add per window element and output. Returns the
  // output shape.
  Feature Pool(const Feature& in, const Window& window);
  // Adaptive average pooling to out_height x out_width: every input element is added once.
  Feature AdaptiveAvgPool(const Feature& in, uint64_t out_height, uint64_t out_width);

  ModelSpec Take() { return std::move(model_); }

 private:
  ModelSpec model_;
};

}  // namespace gw::zoo
