// Fashion-MNIST (28x28 grey images, 10 classes) from the IDX files of Debian's
// dataset-fashion-mnist package.
#pragma once

#include <memory>
#include <string>

#include "ps/workload/dataset.h"

namespace gw {

inline constexpr int kFashionPixels = 28 * 28;
inline constexpr int kFashionClasses = 10;

struct FashionMnist {
  std::shared_ptr<const Dataset> train;  // 60000 samples
  std::shared_ptr<const Dataset> test;   // 10000 samples (t10k)
};

// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from dir; pixels scaled to [0, 1].
// Throws gw::Error naming the file that is missing (with the apt-get command) or malformed.
FashionMnist LoadFashionMnist(const std::string& dir);

}  // namespace gw
