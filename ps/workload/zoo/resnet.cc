// ResNet-18 and ResNet-50 as torchvision/models/resnet.py defines them (v1.5: a bottleneck's
// stride is on its 3x3 convolution). Convolutions have no bias; each is followed by its own
// batch-norm layer, so a ResNet-50 has 53 convolutions, 53 batch-norms and the classifier:
// 161 parameter tensors.
#include <array>
#include <string>

#include "ps/workload/zoo/architectures.h"
#include "ps/workload/zoo/builder.h"
#include "ps/workload/zoo/image_input.h"

namespace gw::zoo {
namespace {

enum class Block { kBasic, kBottleneck };

// conv -> bn (-> relu): the unit every ResNet block is made of.
Feature ConvBn(ModelBuilder& b, const std::string& prefix, const std::string& index,
               const Feature& in, uint64_t out_channels, const Window& window, bool relu) {
  const Feature out = b.Conv2d(prefix + "conv" + index, in, out_channels, window, false);
  b.BatchNorm2d(prefix + "bn" + index, out);
  if (relu) b.Relu(out);
  return out;
}

// One block of planes (x4 out for a bottleneck), in forward order: the main path, then the
// projection shortcut when the shape changes (torchvision runs `downsample` after the main
// path), then the residual add and ReLU.
Feature ResidualBlock(ModelBuilder& b, Block kind, const std::string& prefix, const Feature& in,
                      uint64_t planes, uint64_t stride) {
  Feature out;
  uint64_t expansion = 1;
  if (kind == Block::kBasic) {
    out = ConvBn(b, prefix, "1", in, planes, Window::Square(3, stride, 1), true);
    out = ConvBn(b, prefix, "2", out, planes, Window::Square(3, 1, 1), false);
  } else {
    expansion = 4;
    out = ConvBn(b, prefix, "1", in, planes, Window::Square(1), true);
    out = ConvBn(b, prefix, "2", out, planes, Window::Square(3, stride, 1), true);
    out = ConvBn(b, prefix, "3", out, planes * expansion, Window::Square(1), false);
  }
  if (stride != 1 || in.channels != planes * expansion) {
    const Feature shortcut =
        b.Conv2d(prefix + "downsample.0", in, planes * expansion, Window::Square(1, stride), false);
    b.BatchNorm2d(prefix + "downsample.1", shortcut);
  }
  b.Carry(kAddFlops * static_cast<double>(out.elements()));
  b.Relu(out);
  return out;
}

ModelSpec BuildResNet(const std::string& name, const std::string& description, Block kind,
                      const std::array<int, 4>& blocks) {
  ModelBuilder b(name, description);
  Feature x = b.Conv2d("conv1", kImageNetInput, 64, Window::Square(7, 2, 3), false);
  b.BatchNorm2d("bn1", x);
  b.Relu(x);
  x = b.Pool(x, Window::Square(3, 2, 1));
  for (int stage = 0; stage < 4; ++stage) {
    const uint64_t planes = uint64_t{64} << stage;
    for (int i = 0; i < blocks[stage]; ++i) {
      const uint64_t stride = stage > 0 && i == 0 ? 2 : 1;
      const std::string prefix =
          "layer" + std::to_string(stage + 1) + "." + std::to_string(i) + ".";
      x = ResidualBlock(b, kind, prefix, x, planes, stride);
    }
  }
  x = b.AdaptiveAvgPool(x, 1, 1);
  b.Linear("fc", x.channels, kImageNetClasses, 1, true);
  return b.Take();
}

}  // namespace

ModelSpec BuildResNet18() {
  return BuildResNet("resnet18", "ResNet-18 (torchvision), basic blocks [2,2,2,2], 224x224",
                     Block::kBasic, {2, 2, 2, 2});
}

ModelSpec BuildResNet50() {
  return BuildResNet("resnet50", "ResNet-50 v1.5 (torchvision), bottlenecks [3,4,6,3], 224x224",
                     Block::kBottleneck, {3, 4, 6, 3});
}

}  // namespace gw::zoo
