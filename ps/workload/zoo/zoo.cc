#include "ps/workload/zoo/zoo.h"

#include <algorithm>
#include <array>

#include "ps/workload/zoo/architectures.h"

namespace gw::zoo {
namespace {

struct ZooEntry {
  std::string_view name;
  ModelSpec (*build)();
};

// The registry: one line per model (the builders name their models the same).
constexpr std::array<ZooEntry, 8> kZoo = {{
    {"resnet18", BuildResNet18},
    {"resnet50", BuildResNet50},
    {"vgg16", BuildVgg16},
    {"vgg19", BuildVgg19},
    {"alexnet", BuildAlexNet},
    {"inception_v3", BuildInceptionV3},
    {"bert_base", BuildBertBase},
    {"gpt2_small", BuildGpt2Small},
}};

// Every model, built on first use (thread-safe: a function-local static).
const std::array<ModelSpec, kZoo.size()>& Built() {
  static const std::array<ModelSpec, kZoo.size()> models = [] {
    std::array<ModelSpec, kZoo.size()> out;
    for (size_t i = 0; i < kZoo.size(); ++i) out[i] = kZoo[i].build();
    return out;
  }();
  return models;
}

}  // namespace

const ModelSpec* FindModel(std::string_view name) {
  for (size_t i = 0; i < kZoo.size(); ++i) {
    if (kZoo[i].name == name) return &Built()[i];
  }
  return nullptr;
}

std::vector<std::string_view> ModelNames() {
  std::vector<std::string_view> names(kZoo.size());
  std::transform(kZoo.begin(), kZoo.end(), names.begin(), [](const ZooEntry& e) { return e.name; });
  return names;
}

std::string UnknownModelMessage(std::string_view name) {
  std::string known;
  for (const ZooEntry& e : kZoo) known += (known.empty() ? "" : ", ") + std::string(e.name);
  return "unknown model '" + std::string(name) + "' (known: " + known + ")";
}

}  // namespace gw::zoo
