// The layered workloads (ps/workload/models.h MakeLayeredModel, through MakeWorkload): a zoo
// model or a trace as a flat model whose layers cover it in forward order, with their
// emulated compute times, and a constant gradient like synthetic's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "ps/workload/workload.h"
#include "ps/workload/zoo/compute_profile.h"
#include "ps/workload/zoo/zoo.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

WorkloadSpec ModelSpecFor(std::string_view name, double tflops = 1, size_t batch = 32) {
  WorkloadSpec spec;
  spec.SetText("model:" + std::string(name));
  spec.device_tflops = tflops;
  spec.batch_size = batch;
  return spec;
}

std::string ErrorOf(const WorkloadSpec& spec) {
  try {
    MakeWorkload(spec, 0, 1, false);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A file in the test's temporary directory, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(::testing::TempDir() + "trace-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv") {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every model of the zoo: its layers, in the zoo's order and sizes, tile the flat model.
TEST(ModelWorkload, LayersCoverTheModelInForwardOrder) {
  for (const std::string_view name : zoo::ModelNames()) {
    SCOPED_TRACE(name);
    const zoo::ModelSpec& model = *zoo::FindModel(name);
    const auto w = MakeWorkload(ModelSpecFor(name), 0, 8, /*load_data=*/false);
    EXPECT_EQ(w->num_params(), model.params());
    EXPECT_EQ(w->name(), "model:" + std::string(name));
    const auto layers = w->layers();
    ASSERT_EQ(layers.size(), model.layers.size());
    size_t next = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      EXPECT_EQ(layers[i].name, model.layers[i].name);
      EXPECT_EQ(layers[i].begin, next) << layers[i].name;
      EXPECT_EQ(layers[i].size, model.layers[i].params()) << layers[i].name;
      next += layers[i].size;
    }
    EXPECT_EQ(next, w->num_params());
  }
}

// The times are the zoo's at {device_tflops, batch}: twice the device halves them, twice the
// batch doubles them.
TEST(ModelWorkload, TimesFollowTheDeviceAndTheBatch) {
  const auto base = MakeWorkload(ModelSpecFor("resnet50", 2, 32), 0, 1, false);
  const auto faster = MakeWorkload(ModelSpecFor("resnet50", 4, 32), 0, 1, false);
  const auto larger = MakeWorkload(ModelSpecFor("resnet50", 2, 64), 0, 1, false);
  const std::vector<zoo::LayerTime> expected =
      zoo::ComputeTimes(*zoo::FindModel("resnet50"), {2, 32});
  ASSERT_EQ(base->layers().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const WorkloadLayer& l = base->layers()[i];
    EXPECT_EQ(l.forward, expected[i].forward) << l.name;
    EXPECT_EQ(l.backward, expected[i].backward) << l.name;
    EXPECT_GT(l.forward.count(), 0) << l.name;
    EXPECT_NEAR(faster->layers()[i].forward.count(), l.forward.count() / 2.0, 1) << l.name;
    EXPECT_NEAR(larger->layers()[i].backward.count(), l.backward.count() * 2.0, 2) << l.name;
  }
}

// Like synthetic: zeros to start, 1e-3 * (rank + 1) in every float of every gradient buffer
// it is handed (two buffers, as a double-buffering worker hands them), loss 0, nothing to
// evaluate; any positive batch is taken.
TEST(ModelWorkload, ConstantGradientInEveryBuffer) {
  const auto w = MakeWorkload(ModelSpecFor("resnet18"), 2, 4, /*load_data=*/true);
  std::vector<float> params(w->num_params(), 5.0f);
  w->InitParams(params);
  EXPECT_EQ(std::count(params.begin(), params.end(), 0.0f), static_cast<ptrdiff_t>(params.size()));
  std::vector<float> a(w->num_params()), b(w->num_params());
  for (int iteration = 0; iteration < 2; ++iteration) {
    for (std::vector<float>* grad : {&a, &b}) {
      EXPECT_EQ(w->ComputeGradient(params, *grad), 0.0);
      EXPECT_EQ(std::count(grad->begin(), grad->end(), 3e-3f),
                static_cast<ptrdiff_t>(grad->size()));
    }
  }
  EXPECT_NO_THROW(w->SetBatchSize(1));
  EXPECT_NO_THROW(w->SetBatchSize(1000));
  EXPECT_THROW(w->SetBatchSize(0), Error);
  const EvalResult eval = w->Evaluate(params);
  EXPECT_EQ(eval.loss, 0);
  EXPECT_LT(eval.accuracy, 0);
}

TEST(ModelWorkload, UnknownModelListsTheKnownOnes) {
  const std::string why = ErrorOf(ModelSpecFor("resnet"));
  EXPECT_EQ(why, zoo::UnknownModelMessage("resnet"));
  EXPECT_THAT(why, HasSubstr("resnet50"));
  EXPECT_THAT(ErrorOf(ModelSpecFor("")), HasSubstr("unknown model ''"));
}

// A trace's layers and times as the file gives them, whatever the device.
TEST(ModelWorkload, TraceGivesItsLayersAndTimes) {
  const TempFile file(
      "# a two-layer trace\n"
      "layer,params,forward_ms,backward_ms\n"
      "conv1,9408,1.5,3.25\n"
      "fc,1000,0.5,0\n");
  WorkloadSpec spec;
  spec.SetText("trace:" + file.path());
  spec.device_tflops = 123;  // not used: the trace's times are measured
  const auto w = MakeWorkload(spec, 0, 2, false);
  EXPECT_EQ(w->name(), "trace:" + file.path());
  EXPECT_EQ(w->num_params(), 10408u);
  const auto layers = w->layers();
  ASSERT_EQ(layers.size(), 2u);
  using std::chrono::microseconds;
  EXPECT_EQ(layers[0].name, "conv1");
  EXPECT_EQ(layers[0].begin, 0u);
  EXPECT_EQ(layers[0].size, 9408u);
  EXPECT_EQ(layers[0].forward, microseconds(1500));
  EXPECT_EQ(layers[0].backward, microseconds(3250));
  EXPECT_EQ(layers[1].begin, 9408u);
  EXPECT_EQ(layers[1].size, 1000u);
  EXPECT_EQ(layers[1].forward, microseconds(500));
  EXPECT_EQ(layers[1].backward, Duration::zero());
}

TEST(ModelWorkload, BadTraceNamesFileLineAndColumn) {
  const TempFile file("layer,params,forward_ms,backward_ms\nconv1,9408,1.5,3.25\nfc,-4,0.5,1\n");
  WorkloadSpec spec;
  spec.SetText("trace:" + file.path());
  EXPECT_THAT(ErrorOf(spec), HasSubstr(file.path() + ":3: column 2"));
  spec.SetText("trace:" + file.path() + ".missing");
  EXPECT_THAT(ErrorOf(spec), HasSubstr(file.path() + ".missing"));
}

TEST(ModelWorkload, TextRoundTrips) {
  for (const std::string text : {"model:vgg16", "trace:a:b.csv", "synthetic", "softmax"}) {
    WorkloadSpec spec;
    spec.SetText(text);
    EXPECT_EQ(spec.Text(), text);
  }
  WorkloadSpec spec;
  spec.SetText("trace:runs/x.csv");
  EXPECT_EQ(spec.kind, "trace");
  EXPECT_EQ(spec.trace_file, "runs/x.csv");
  spec.SetText("model:bert_base");
  EXPECT_EQ(spec.kind, "model");
  EXPECT_EQ(spec.model, "bert_base");
  spec.SetText("mlp:4");  // not a kind that names something: the whole text is the kind
  EXPECT_EQ(spec.kind, "mlp:4");
}

}  // namespace
}  // namespace gw
