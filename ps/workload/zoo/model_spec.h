// A DNN as a parameter server sees it: the tensors each layer's backward pass hands over at
// once, in forward order, and the compute that produces them. Shapes, counts and FLOPs only:
// no tensors of floats, no training.
#pragma once

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace gw::zoo {

// One parameter tensor, named as the framework's state dict names it ("layer1.0.conv1.weight").
struct TensorSpec {
  std::string name;
  uint64_t params = 0;
};

// One module that owns parameters and whose gradients backprop produces together (a conv, a
// batch-norm, a linear, an embedding, a layer-norm, an attention projection). forward_flops is
// per sample (a multiply-add counts 2) and includes the parameter-free operations that follow
// the module until the next one with parameters (ReLU, pooling, residual adds, attention
// scores and softmax): each model's builder puts them on the previous layer with parameters.
struct LayerSpec {
  std::string name;
  std::vector<TensorSpec> tensors;
  double forward_flops = 0;

  uint64_t params() const {
    return std::accumulate(tensors.begin(), tensors.end(), uint64_t{0},
                           [](uint64_t n, const TensorSpec& t) { return n + t.params; });
  }
};

struct ModelSpec {
  std::string name;               // the registry name ("resnet50")
  std::string description;        // architecture, source of the definition and input size
  std::vector<LayerSpec> layers;  // in forward order: backward produces them last to first

  uint64_t params() const {
    return std::accumulate(layers.begin(), layers.end(), uint64_t{0},
                           [](uint64_t n, const LayerSpec& l) { return n + l.params(); });
  }
  size_t num_tensors() const {
    return std::accumulate(layers.begin(), layers.end(), size_t{0},
                           [](size_t n, const LayerSpec& l) { return n + l.tensors.size(); });
  }
  double forward_flops() const {
    return std::accumulate(layers.begin(), layers.end(), 0.0,
                           [](double f, const LayerSpec& l) { return f + l.forward_flops; });
  }
};

}  // namespace gw::zoo
