// Inception-v3 as torchvision/models/inception.py defines it, with the auxiliary classifier
// (aux_logits=True, torchvision's default and what its 27,161,264 parameters count). Every
// convolution is a BasicConv2d: a conv without bias and its batch-norm, two layers. Within a
// block the branches run in definition order; the auxiliary head runs after Mixed_6e (in
// training, where its gradient exists), before Mixed_7a.
#include <string>

#include "ps/workload/zoo/architectures.h"
#include "ps/workload/zoo/builder.h"
#include "ps/workload/zoo/image_input.h"

namespace gw::zoo {
namespace {

// 299 x 299: the input Inception-v3 is defined for (torchvision's crop for it); smaller
// inputs change its FLOPs and, below 75 x 75, fail.
constexpr Feature kInput{3, 299, 299};

// Kernels that are not square, with the padding that keeps the size: (1, 7) and (7, 1) in
// InceptionC/D, (1, 3) and (3, 1) in InceptionE.
Window Row(uint64_t k) { return {1, k, 1, 0, k / 2}; }
Window Column(uint64_t k) { return {k, 1, 1, k / 2, 0}; }

Feature BasicConv2d(ModelBuilder& b, const std::string& name, const Feature& in,
                    uint64_t out_channels, const Window& window) {
  const Feature out = b.Conv2d(name + ".conv", in, out_channels, window, false);
  b.BatchNorm2d(name + ".bn", out);
  b.Relu(out);
  return out;
}

// The 3x3 average pool (stride 1, padding 1) in front of a block's pool branch.
Feature PoolBranchInput(ModelBuilder& b, const Feature& in) {
  return b.Pool(in, Window::Square(3, 1, 1));
}

Feature InceptionA(ModelBuilder& b, const std::string& n, const Feature& in,
                   uint64_t pool_features) {
  const Feature b1 = BasicConv2d(b, n + ".branch1x1", in, 64, Window::Square(1));
  Feature b5 = BasicConv2d(b, n + ".branch5x5_1", in, 48, Window::Square(1));
  b5 = BasicConv2d(b, n + ".branch5x5_2", b5, 64, Window::Square(5, 1, 2));
  Feature b3 = BasicConv2d(b, n + ".branch3x3dbl_1", in, 64, Window::Square(1));
  b3 = BasicConv2d(b, n + ".branch3x3dbl_2", b3, 96, Window::Square(3, 1, 1));
  b3 = BasicConv2d(b, n + ".branch3x3dbl_3", b3, 96, Window::Square(3, 1, 1));
  const Feature bp =
      BasicConv2d(b, n + ".branch_pool", PoolBranchInput(b, in), pool_features, Window::Square(1));
  return {b1.channels + b5.channels + b3.channels + bp.channels, b1.height, b1.width};
}

Feature InceptionB(ModelBuilder& b, const std::string& n, const Feature& in) {
  const Feature b3 = BasicConv2d(b, n + ".branch3x3", in, 384, Window::Square(3, 2));
  Feature bd = BasicConv2d(b, n + ".branch3x3dbl_1", in, 64, Window::Square(1));
  bd = BasicConv2d(b, n + ".branch3x3dbl_2", bd, 96, Window::Square(3, 1, 1));
  bd = BasicConv2d(b, n + ".branch3x3dbl_3", bd, 96, Window::Square(3, 2));
  const Feature bp = b.Pool(in, Window::Square(3, 2));
  return {b3.channels + bd.channels + bp.channels, b3.height, b3.width};
}

Feature InceptionC(ModelBuilder& b, const std::string& n, const Feature& in, uint64_t c7) {
  const Feature b1 = BasicConv2d(b, n + ".branch1x1", in, 192, Window::Square(1));
  Feature b7 = BasicConv2d(b, n + ".branch7x7_1", in, c7, Window::Square(1));
  b7 = BasicConv2d(b, n + ".branch7x7_2", b7, c7, Row(7));
  b7 = BasicConv2d(b, n + ".branch7x7_3", b7, 192, Column(7));
  Feature bd = BasicConv2d(b, n + ".branch7x7dbl_1", in, c7, Window::Square(1));
  bd = BasicConv2d(b, n + ".branch7x7dbl_2", bd, c7, Column(7));
  bd = BasicConv2d(b, n + ".branch7x7dbl_3", bd, c7, Row(7));
  bd = BasicConv2d(b, n + ".branch7x7dbl_4", bd, c7, Column(7));
  bd = BasicConv2d(b, n + ".branch7x7dbl_5", bd, 192, Row(7));
  const Feature bp =
      BasicConv2d(b, n + ".branch_pool", PoolBranchInput(b, in), 192, Window::Square(1));
  return {b1.channels + b7.channels + bd.channels + bp.channels, b1.height, b1.width};
}

Feature InceptionD(ModelBuilder& b, const std::string& n, const Feature& in) {
  Feature b3 = BasicConv2d(b, n + ".branch3x3_1", in, 192, Window::Square(1));
  b3 = BasicConv2d(b, n + ".branch3x3_2", b3, 320, Window::Square(3, 2));
  Feature b7 = BasicConv2d(b, n + ".branch7x7x3_1", in, 192, Window::Square(1));
  b7 = BasicConv2d(b, n + ".branch7x7x3_2", b7, 192, Row(7));
  b7 = BasicConv2d(b, n + ".branch7x7x3_3", b7, 192, Column(7));
  b7 = BasicConv2d(b, n + ".branch7x7x3_4", b7, 192, Window::Square(3, 2));
  const Feature bp = b.Pool(in, Window::Square(3, 2));
  return {b3.channels + b7.channels + bp.channels, b3.height, b3.width};
}

Feature InceptionE(ModelBuilder& b, const std::string& n, const Feature& in) {
  const Feature b1 = BasicConv2d(b, n + ".branch1x1", in, 320, Window::Square(1));
  const Feature b3 = BasicConv2d(b, n + ".branch3x3_1", in, 384, Window::Square(1));
  const Feature b3a = BasicConv2d(b, n + ".branch3x3_2a", b3, 384, Row(3));
  const Feature b3b = BasicConv2d(b, n + ".branch3x3_2b", b3, 384, Column(3));
  Feature bd = BasicConv2d(b, n + ".branch3x3dbl_1", in, 448, Window::Square(1));
  bd = BasicConv2d(b, n + ".branch3x3dbl_2", bd, 384, Window::Square(3, 1, 1));
  const Feature bda = BasicConv2d(b, n + ".branch3x3dbl_3a", bd, 384, Row(3));
  const Feature bdb = BasicConv2d(b, n + ".branch3x3dbl_3b", bd, 384, Column(3));
  const Feature bp =
      BasicConv2d(b, n + ".branch_pool", PoolBranchInput(b, in), 192, Window::Square(1));
  return {b1.channels + b3a.channels + b3b.channels + bda.channels + bdb.channels + bp.channels,
          b1.height, b1.width};
}

// InceptionAux on Mixed_6e's output: 5x5 average pool (stride 3), two convolutions, global
// pooling and its own classifier. Its output is a side branch: the main path goes on from `in`.
void InceptionAux(ModelBuilder& b, const Feature& in) {
  Feature x = b.Pool(in, Window::Square(5, 3));
  x = BasicConv2d(b, "AuxLogits.conv0", x, 128, Window::Square(1));
  x = BasicConv2d(b, "AuxLogits.conv1", x, 768, Window::Square(5));
  x = b.AdaptiveAvgPool(x, 1, 1);
  b.Linear("AuxLogits.fc", x.channels, kImageNetClasses, 1, true);
}

}  // namespace

ModelSpec BuildInceptionV3() {
  ModelBuilder b("inception_v3",
                 "Inception-v3 (torchvision) with the auxiliary classifier, 299x299");
  Feature x = BasicConv2d(b, "Conv2d_1a_3x3", kInput, 32, Window::Square(3, 2));
  x = BasicConv2d(b, "Conv2d_2a_3x3", x, 32, Window::Square(3));
  x = BasicConv2d(b, "Conv2d_2b_3x3", x, 64, Window::Square(3, 1, 1));
  x = b.Pool(x, Window::Square(3, 2));
  x = BasicConv2d(b, "Conv2d_3b_1x1", x, 80, Window::Square(1));
  x = BasicConv2d(b, "Conv2d_4a_3x3", x, 192, Window::Square(3));
  x = b.Pool(x, Window::Square(3, 2));
  x = InceptionA(b, "Mixed_5b", x, 32);
  x = InceptionA(b, "Mixed_5c", x, 64);
  x = InceptionA(b, "Mixed_5d", x, 64);
  x = InceptionB(b, "Mixed_6a", x);
  x = InceptionC(b, "Mixed_6b", x, 128);
  x = InceptionC(b, "Mixed_6c", x, 160);
  x = InceptionC(b, "Mixed_6d", x, 160);
  x = InceptionC(b, "Mixed_6e", x, 192);
  InceptionAux(b, x);
  x = InceptionD(b, "Mixed_7a", x);
  x = InceptionE(b, "Mixed_7b", x);
  x = InceptionE(b, "Mixed_7c", x);
  x = b.AdaptiveAvgPool(x, 1, 1);
  b.Linear("fc", x.channels, kImageNetClasses, 1, true);
  return b.Take();
}

}  // namespace gw::zoo
