// VGG-16 and VGG-19 (configurations D and E) as torchvision/models/vgg.py defines them:
// 3x3 convolutions with bias (padding 1) and 2x2 max pools, named by their index in
// `features` (each convolution is followed by its ReLU, so indices advance by 2, a pool by 1),
// then adaptive average pooling to 7x7 and the classifier's three linears. 16 or 19 layers,
// two tensors each: VGG-16 has 32.
#include <array>
#include <string>

#include "ps/workload/zoo/architectures.h"
#include "ps/workload/zoo/builder.h"
#include "ps/workload/zoo/image_input.h"

namespace gw::zoo {
namespace {

// torchvision's cfgs "D" and "E" by stage: each stage is that many 3x3 convolutions of the
// stage's width, then a 2x2 max pool.
using Stages = std::array<int, 5>;
constexpr std::array<uint64_t, 5> kStageChannels = {64, 128, 256, 512, 512};
constexpr Stages kConfigD = {2, 2, 3, 3, 3};
constexpr Stages kConfigE = {2, 2, 4, 4, 4};

// The classifier's hidden width.
constexpr uint64_t kClassifierWidth = 4096;

ModelSpec BuildVgg(const std::string& name, const std::string& description, const Stages& config) {
  ModelBuilder b(name, description);
  Feature x = kImageNetInput;
  int index = 0;  // in `features`: a convolution and its ReLU take 2, a pool 1
  for (size_t stage = 0; stage < config.size(); ++stage) {
    for (int i = 0; i < config[stage]; ++i) {
      x = b.Conv2d("features." + std::to_string(index), x, kStageChannels[stage],
                   Window::Square(3, 1, 1), true);
      b.Relu(x);
      index += 2;
    }
    x = b.Pool(x, Window::Square(2, 2));
    index += 1;
  }
  x = b.AdaptiveAvgPool(x, 7, 7);
  // classifier: Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear.
  b.Linear("classifier.0", x.elements(), kClassifierWidth, 1, true);
  b.Carry(kReluFlops * kClassifierWidth);
  b.Linear("classifier.3", kClassifierWidth, kClassifierWidth, 1, true);
  b.Carry(kReluFlops * kClassifierWidth);
  b.Linear("classifier.6", kClassifierWidth, kImageNetClasses, 1, true);
  return b.Take();
}

}  // namespace

ModelSpec BuildVgg16() {
  return BuildVgg("vgg16", "VGG-16, configuration D (torchvision), 224x224", kConfigD);
}

ModelSpec BuildVgg19() {
  return BuildVgg("vgg19", "VGG-19, configuration E (torchvision), 224x224", kConfigE);
}

}  // namespace gw::zoo
