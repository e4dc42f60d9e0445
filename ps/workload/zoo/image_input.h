// The input image of the ImageNet classifiers of the zoo. FLOPs depend on it; parameter counts
// do not (every classifier ends in global or adaptive pooling).
#pragma once

#include "ps/workload/zoo/builder.h"

namespace gw::zoo {

// 224 x 224: torchvision's evaluation crop for ResNet, VGG and AlexNet, at which its model
// table gives their FLOPs.
inline constexpr Feature kImageNetInput{3, 224, 224};
// 1000 ImageNet classes: the head every published parameter count includes.
inline constexpr uint64_t kImageNetClasses = 1000;

}  // namespace gw::zoo
