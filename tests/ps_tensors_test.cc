// --workload tensors:PREFIX (ps/workload/tensors.h): the layout from PREFIX.csv, the initial
// parameters from PREFIX.f32 checked for size and finiteness with errors naming the file and
// the tensor, and a C++ worker told that Python computes it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/error.h"
#include "ps/workload/tensors.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

class TensorsTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // PREFIX.csv with tensors a (3) and b (2), and PREFIX.f32 holding `values`.
  std::string Write(const std::vector<float>& values) {
    const std::string prefix = dir_ + "/m";
    std::ofstream(prefix + ".csv") << "layer,params\na,3\nb,2\n";
    std::ofstream(prefix + ".f32", std::ios::binary)
        .write(reinterpret_cast<const char*>(values.data()),
               static_cast<std::streamsize>(values.size() * sizeof(float)));
    return prefix;
  }
  static WorkloadSpec Spec(const std::string& prefix) {
    WorkloadSpec spec;
    spec.SetText("tensors:" + prefix);
    return spec;
  }

  const std::string dir_ = ::testing::TempDir() + "gw-tensors-test";
};

TEST_F(TensorsTest, ReadsTheLayoutAndTheInitialParameters) {
  const std::string prefix = Write({1, 2, 3, 4, 5});
  const WorkloadSpec spec = Spec(prefix);
  EXPECT_EQ(spec.kind, "tensors");
  EXPECT_EQ(spec.Text(), "tensors:" + prefix);
  const auto w = MakeWorkload(spec, 0, 2, /*load_data=*/false);
  EXPECT_EQ(w->num_params(), 5u);
  EXPECT_TRUE(w->layers().empty()) << "flat: pushed whole";
  std::vector<float> params(5);
  w->InitParams(params);
  EXPECT_EQ(params, (std::vector<float>{1, 2, 3, 4, 5}));
  const std::vector<TensorSpec> tensors = ReadTensorLayout(prefix);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[1].name, "b");
  EXPECT_EQ(tensors[1].numel, 2u);
  std::vector<float> grad(5);
  try {
    w->ComputeGradient(params, grad);
    ADD_FAILURE() << "a C++ worker computed a Python model";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Python worker"));
  }
}

TEST_F(TensorsTest, InitialParametersOfTheWrongSizeOrNotFiniteAreRefusedNamingWhere) {
  std::vector<float> params(5);
  const auto short_file = MakeWorkload(Spec(Write({1, 2, 3, 4})), 0, 1, false);
  try {
    short_file->InitParams(params);
    ADD_FAILURE() << "a short .f32 was read";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("m.f32: 16 bytes, but"));
    EXPECT_THAT(e.what(), HasSubstr("5 float32 parameters (20 bytes)"));
  }
  const auto nan = MakeWorkload(Spec(Write({1, 2, 3, 4, NAN})), 0, 1, false);
  try {
    nan->InitParams(params);
    ADD_FAILURE() << "a NaN initial parameter was taken";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("parameter 1 of tensor b"));
  }
  std::filesystem::remove(dir_ + "/m.f32");
  const auto missing = MakeWorkload(Spec(dir_ + "/m"), 0, 1, false);
  EXPECT_THROW(missing->InitParams(params), Error);
  EXPECT_THROW(MakeWorkload(Spec(dir_ + "/absent"), 0, 1, false), Error);
}

}  // namespace
}  // namespace gw
