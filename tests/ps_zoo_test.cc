// The model zoo (ps/workload/zoo/zoo.h): every model's parameter count is exactly the
// published one, tensor counts match the frameworks' where they are published, and forward
// FLOPs per sample agree with the published figures within a few percent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "ps/workload/zoo/compute_profile.h"
#include "ps/workload/zoo/zoo.h"

namespace gw::zoo {
namespace {

using ::testing::HasSubstr;

const ModelSpec& Model(std::string_view name) {
  const ModelSpec* m = FindModel(name);
  EXPECT_NE(m, nullptr) << name;
  static const ModelSpec empty;
  return m != nullptr ? *m : empty;
}

// Published totals: torchvision's weights metadata ("num_params") for the image models,
// HuggingFace's bert-base-uncased (BertModel, with pooler) and gpt2 (output tied to wte).
TEST(ZooTest, ParameterCountsAreThePublishedTotals) {
  EXPECT_EQ(Model("resnet18").params(), 11'689'512u);
  EXPECT_EQ(Model("resnet50").params(), 25'557'032u);
  EXPECT_EQ(Model("vgg16").params(), 138'357'544u);
  EXPECT_EQ(Model("vgg19").params(), 143'667'240u);
  EXPECT_EQ(Model("alexnet").params(), 61'100'840u);
  EXPECT_EQ(Model("inception_v3").params(), 27'161'264u);  // with the aux head
  EXPECT_EQ(Model("bert_base").params(), 109'482'240u);
  EXPECT_EQ(Model("gpt2_small").params(), 124'439'808u);
}

// len(list(model.parameters())) in torchvision / HuggingFace.
TEST(ZooTest, TensorCountsAreTheFrameworks) {
  EXPECT_EQ(Model("resnet50").num_tensors(), 161u);
  EXPECT_EQ(Model("vgg16").num_tensors(), 32u);
  EXPECT_EQ(Model("bert_base").num_tensors(), 199u);
  EXPECT_EQ(Model("gpt2_small").num_tensors(), 148u);
}

// fc6 (classifier.0: 25088 x 4096 + 4096) is three quarters of VGG-16: the one tensor that
// dominates its traffic.
TEST(ZooTest, Vgg16Fc6) {
  const ModelSpec& vgg = Model("vgg16");
  const auto fc6 = std::find_if(vgg.layers.begin(), vgg.layers.end(),
                                [](const LayerSpec& l) { return l.name == "classifier.0"; });
  ASSERT_NE(fc6, vgg.layers.end());
  EXPECT_EQ(fc6->params(), 102'764'544u);
  EXPECT_EQ(fc6->tensors.at(0).params, 25088u * 4096u);
}

// Inception-v3's aux head is part of torchvision's count (23,834,568 without it).
TEST(ZooTest, InceptionAuxHead) {
  uint64_t aux = 0;
  for (const LayerSpec& l : Model("inception_v3").layers) {
    if (l.name.rfind("AuxLogits.", 0) == 0) aux += l.params();
  }
  EXPECT_EQ(Model("inception_v3").params() - aux, 23'834'568u);
}

// GPT-2's output layer shares wte: the vocabulary matrix is counted once.
TEST(ZooTest, Gpt2OutputLayerIsTiedToTheTokenEmbedding) {
  const ModelSpec& gpt2 = Model("gpt2_small");
  ASSERT_FALSE(gpt2.layers.empty());
  EXPECT_EQ(gpt2.layers.front().name, "wte");
  EXPECT_EQ(gpt2.layers.front().params(), 50257u * 768u);
  int vocab_sized = 0;
  for (const LayerSpec& l : gpt2.layers) {
    for (const TensorSpec& t : l.tensors) vocab_sized += t.params % 50257 == 0 ? 1 : 0;
  }
  EXPECT_EQ(vocab_sized, 1);
  EXPECT_EQ(gpt2.layers.back().name, "ln_f");
}

std::vector<std::string> LayerNames(const ModelSpec& m) {
  std::vector<std::string> names;
  for (const LayerSpec& l : m.layers) names.push_back(l.name);
  return names;
}

// Layers carry the frameworks' module names (what a trace recorded with module hooks names
// them), in the order the forward pass runs them.
TEST(ZooTest, LayerNamesAndOrderAreTheFrameworks) {
  using ::testing::ElementsAre;
  std::vector<std::string> vgg16_convs;
  for (const std::string& name : LayerNames(Model("vgg16"))) {
    if (name.rfind("features.", 0) == 0) vgg16_convs.push_back(name);
  }
  EXPECT_THAT(vgg16_convs,
              ElementsAre("features.0", "features.2", "features.5", "features.7", "features.10",
                          "features.12", "features.14", "features.17", "features.19", "features.21",
                          "features.24", "features.26", "features.28"));
  EXPECT_EQ(LayerNames(Model("vgg19")).at(15), "features.34");  // the last convolution

  const std::vector<std::string> resnet = LayerNames(Model("resnet50"));
  EXPECT_EQ(resnet.front(), "conv1");
  EXPECT_EQ(resnet.back(), "fc");
  // A projection shortcut runs after its block's main path (torchvision's forward).
  const auto at = [&](const std::string& name) {
    return std::find(resnet.begin(), resnet.end(), name) - resnet.begin();
  };
  EXPECT_EQ(at("layer2.0.downsample.0"), at("layer2.0.bn3") + 1);
  EXPECT_EQ(at("layer4.2.bn3"), static_cast<long>(resnet.size()) - 2);

  const std::vector<std::string> inception = LayerNames(Model("inception_v3"));
  const auto aux = std::find(inception.begin(), inception.end(), "AuxLogits.fc");
  ASSERT_NE(aux, inception.end());
  EXPECT_EQ(*(aux + 1), "Mixed_7a.branch3x3_1.conv");
  EXPECT_EQ(*(aux - 5), "Mixed_6e.branch_pool.bn");

  const std::vector<std::string> bert = LayerNames(Model("bert_base"));
  EXPECT_THAT(std::vector<std::string>(bert.end() - 3, bert.end()),
              ElementsAre("encoder.layer.11.output.dense", "encoder.layer.11.output.LayerNorm",
                          "pooler.dense"));
}

// Published per-sample forward cost. torchvision's weights metadata ("_ops", the GFLOPS column
// of its model table) counts one multiply-add as one operation, in convolutions and linears
// only: ResNet-18 1.814, ResNet-50 4.089, VGG-16 15.470, VGG-19 19.632, AlexNet 0.714 (all at
// 224x224) and Inception-v3 5.713 (at 299x299). The zoo counts a multiply-add as 2 FLOPs and
// adds the element-wise work (batch-norm, ReLU, pooling, residual adds): within 3 % of 2x.
TEST(ZooTest, ImageModelFlopsMatchTorchvision) {
  const std::pair<const char*, double> published_gmacs[] = {
      {"resnet18", 1.814}, {"resnet50", 4.089}, {"vgg16", 15.470},
      {"vgg19", 19.632},   {"alexnet", 0.714},  {"inception_v3", 5.713}};
  for (const auto& [name, gmacs] : published_gmacs) {
    const double gflops = Model(name).forward_flops() / 1e9;
    EXPECT_GE(gflops, 2 * gmacs * 0.99) << name;  // the element-wise work only adds
    EXPECT_LE(gflops, 2 * gmacs * 1.03) << name;
  }
}

// Transformers: Kaplan et al., "Scaling Laws for Neural Language Models" (2020), Table 1, per
// token: 2N (N = 2 d_model n_layer (2 d_attn + d_ff), the weights of the blocks) plus
// 2 n_layer n_ctx d_attn for the attention scores, plus 2 d_model n_vocab for an output layer.
// Table 1 leaves out the weighted sum of the values, a product as large as the scores', which
// HuggingFace computes in full: added here. Within 3 % (biases, norms, GELU, softmax).
double KaplanForwardFlops(double n_ctx, double n_vocab_out) {
  const double d = 768, layers = 12, d_ff = 3072;
  const double n = 2 * d * layers * (2 * d + d_ff);
  const double attention = 2 * layers * n_ctx * d;
  return n_ctx * (2 * n + 2 * attention + 2 * d * n_vocab_out);
}

TEST(ZooTest, TransformerFlopsMatchKaplan) {
  const double bert = KaplanForwardFlops(128, 0);  // BertModel has no output layer
  EXPECT_GE(Model("bert_base").forward_flops(), bert);
  EXPECT_LE(Model("bert_base").forward_flops(), bert * 1.03);
  const double gpt2 = KaplanForwardFlops(1024, 50257);
  EXPECT_GE(Model("gpt2_small").forward_flops(), gpt2);
  EXPECT_LE(Model("gpt2_small").forward_flops(), gpt2 * 1.03);
}

// What every model of the registry holds, whatever its architecture.
TEST(ZooTest, EveryModelIsWellFormed) {
  for (const std::string_view name : ModelNames()) {
    const ModelSpec& m = Model(name);
    EXPECT_EQ(m.name, name);
    EXPECT_FALSE(m.description.empty()) << name;
    std::set<std::string> layer_names, tensor_names;
    for (const LayerSpec& l : m.layers) {
      EXPECT_TRUE(layer_names.insert(l.name).second) << name << ": layer " << l.name;
      EXPECT_FALSE(l.tensors.empty()) << name << ": " << l.name;
      for (const TensorSpec& t : l.tensors) {
        EXPECT_TRUE(tensor_names.insert(t.name).second) << name << ": tensor " << t.name;
        EXPECT_GT(t.params, 0u) << t.name;
        EXPECT_EQ(t.name.rfind(l.name + ".", 0), 0u) << t.name << " outside " << l.name;
      }
      // Only an embedding (a lookup) computes nothing of its own.
      if (l.name.find("embed") == std::string::npos && l.name != "wte" && l.name != "wpe") {
        EXPECT_GT(l.forward_flops, 0) << name << ": " << l.name;
      }
    }
  }
}

TEST(ZooTest, RegistryNamesTheEightModels) {
  EXPECT_THAT(ModelNames(),
              ::testing::ElementsAre("resnet18", "resnet50", "vgg16", "vgg19", "alexnet",
                                     "inception_v3", "bert_base", "gpt2_small"));
  EXPECT_EQ(FindModel("resnet"), nullptr);
  EXPECT_EQ(FindModel("ResNet50"), nullptr);                // names are exact
  EXPECT_EQ(FindModel("resnet50"), FindModel("resnet50"));  // built once
}

TEST(ZooTest, UnknownModelMessageListsTheKnownOnes) {
  const std::string message = UnknownModelMessage("resnet");
  EXPECT_THAT(message, HasSubstr("'resnet'"));
  for (const std::string_view name : ModelNames()) EXPECT_THAT(message, HasSubstr(name));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

// VGG-16's fc6 at 1 TFLOP/s, batch 1, from the architecture: 25088 x 4096 multiply-adds, the
// bias and the ReLU after it (4096 each) = 205,529,088 FLOPs = 205,529 ns (rounded);
// backward twice that.
TEST(ComputeProfileTest, Fc6TimeFollowsFromItsFlops) {
  const ModelSpec& vgg = Model("vgg16");
  const std::vector<LayerTime> times = ComputeTimes(vgg, {1.0, 1});
  ASSERT_EQ(times.size(), vgg.layers.size());
  ASSERT_EQ(vgg.layers[13].name, "classifier.0");
  using std::chrono::nanoseconds;
  EXPECT_EQ(times[13].forward, nanoseconds(205'529));
  EXPECT_EQ(times[13].backward, nanoseconds(411'058));
}

// Times scale with the batch and inversely with the device; their sum is the model's FLOPs
// at that rate (each layer rounded to the nanosecond).
TEST(ComputeProfileTest, TimesAreFlopsAtTheDeviceRate) {
  for (const std::string_view name : ModelNames()) {
    const ModelSpec& m = Model(name);
    const DeviceProfile device{14.0, 32};  // a V100's sustained fp32, ResNet's usual batch
    const std::vector<LayerTime> times = ComputeTimes(m, device);
    ASSERT_EQ(times.size(), m.layers.size());
    double forward_s = 0;
    for (size_t i = 0; i < times.size(); ++i) {
      forward_s += std::chrono::duration<double>(times[i].forward).count();
      EXPECT_LE(std::abs((times[i].backward - 2 * times[i].forward).count()), 1) << i;
    }
    const double expected_s = m.forward_flops() * 32 / 14e12;
    EXPECT_NEAR(forward_s, expected_s, 1e-9 * static_cast<double>(times.size())) << name;
    const std::vector<LayerTime> doubled = ComputeTimes(m, {7.0, 64});
    for (size_t i = 0; i < times.size(); ++i) {
      EXPECT_NEAR(doubled[i].forward.count(), 4 * times[i].forward.count(), 4) << name << i;
    }
  }
}

TEST(ComputeProfileTest, RefusesAnInvalidDevice) {
  const ModelSpec& m = Model("alexnet");
  for (const double tflops : {0.0, -1.0, std::nan(""), HUGE_VAL}) {
    EXPECT_THROW(ComputeTimes(m, {tflops, 32}), Error) << tflops;
  }
  EXPECT_THROW(ComputeTimes(m, {14.0, 0}), Error);
  try {
    DeviceProfile{-2, 1}.Validate();
    ADD_FAILURE() << "accepted -2 TFLOP/s";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("-2"));
  }
  // A rate off by 1e12 (FLOP/s given as TFLOP/s) would make a layer take days: refused.
  try {
    ComputeTimes(Model("gpt2_small"), {1e-9, 8});
    ADD_FAILURE() << "accepted a pass of more than an hour";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than an hour"));
  }
}

}  // namespace
}  // namespace gw::zoo
