// The builders behind the zoo's registry (zoo.h), one file per family. Each builds the model
// from its architecture, as the framework that published its parameter count defines it.
#pragma once

#include "ps/workload/zoo/model_spec.h"

namespace gw::zoo {

ModelSpec BuildResNet18();     // resnet.cc
ModelSpec BuildResNet50();     // resnet.cc
ModelSpec BuildVgg16();        // vgg.cc
ModelSpec BuildVgg19();        // vgg.cc
ModelSpec BuildAlexNet();      // alexnet.cc
ModelSpec BuildInceptionV3();  // inception.cc
ModelSpec BuildBertBase();     // transformer.cc
ModelSpec BuildGpt2Small();    // transformer.cc

}  // namespace gw::zoo
