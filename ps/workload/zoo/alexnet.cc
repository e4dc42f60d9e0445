// AlexNet as torchvision/models/alexnet.py defines it (the "one weird trick" variant, 64
// channels in the first convolution): five convolutions with bias, named by their index in
// `features`, adaptive average pooling to 6x6 and three linears named by their index in
// `classifier` (which starts with a dropout).
#include <string>

#include "ps/workload/zoo/architectures.h"
#include "ps/workload/zoo/builder.h"
#include "ps/workload/zoo/image_input.h"

namespace gw::zoo {
namespace {

// The classifier's hidden width.
constexpr uint64_t kHidden = 4096;

}  // namespace

ModelSpec BuildAlexNet() {
  ModelBuilder b("alexnet", "AlexNet (torchvision, one-weird-trick variant), 224x224");
  const Window pool = Window::Square(3, 2);
  Feature x = b.Conv2d("features.0", kImageNetInput, 64, Window::Square(11, 4, 2), true);
  b.Relu(x);
  x = b.Pool(x, pool);
  x = b.Conv2d("features.3", x, 192, Window::Square(5, 1, 2), true);
  b.Relu(x);
  x = b.Pool(x, pool);
  x = b.Conv2d("features.6", x, 384, Window::Square(3, 1, 1), true);
  b.Relu(x);
  x = b.Conv2d("features.8", x, 256, Window::Square(3, 1, 1), true);
  b.Relu(x);
  x = b.Conv2d("features.10", x, 256, Window::Square(3, 1, 1), true);
  b.Relu(x);
  x = b.Pool(x, pool);
  x = b.AdaptiveAvgPool(x, 6, 6);
  b.Linear("classifier.1", x.elements(), kHidden, 1, true);
  b.Carry(kReluFlops * kHidden);
  b.Linear("classifier.4", kHidden, kHidden, 1, true);
  b.Carry(kReluFlops * kHidden);
  b.Linear("classifier.6", kHidden, kImageNetClasses, 1, true);
  return b.Take();
}

}  // namespace gw::zoo
