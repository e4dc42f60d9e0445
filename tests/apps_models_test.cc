// `gradwire models` through the built binary: the zoo's table with exact parameter counts,
// one model's layers, a trace file's row, and one line with exit 2 for an unknown model or a
// bad trace (issue 16).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace gw::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Outcome {
  int code = -1;
  std::string out, err;
};

Outcome Models(const TempDir& dir, const std::vector<std::string>& flags) {
  Processes procs(dir.path());
  std::vector<std::string> args = {"models"};
  args.insert(args.end(), flags.begin(), flags.end());
  Proc& p = procs.Start("gradwire-models", args);
  const auto code = p.Wait(milliseconds(30000));
  EXPECT_TRUE(code.has_value()) << procs.DescribeAll();
  return {code.value_or(-1), p.out(), p.err()};
}

// The row of the table whose first word is `name`.
std::string Row(const std::string& table, const std::string& name) {
  for (const std::string& line : Lines(table)) {
    if (line.rfind(name + " ", 0) == 0) return line;
  }
  return "";
}

TEST(ModelsCommandTest, ListsTheZooWithExactCounts) {
  TempDir dir;
  const Outcome o = Models(dir, {});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(Lines(o.out).size(), 9u) << o.out;  // header + 8 models
  EXPECT_THAT(Lines(o.out).at(0), StartsWith("model"));
  EXPECT_THAT(Row(o.out, "resnet50"), HasSubstr(" 161 "));
  EXPECT_THAT(Row(o.out, "resnet50"), HasSubstr(" 25,557,032 "));
  EXPECT_THAT(Row(o.out, "resnet50"), HasSubstr(" 97.5 "));  // MiB of fp32
  EXPECT_THAT(Row(o.out, "vgg16"), HasSubstr(" 138,357,544 "));
  EXPECT_THAT(Row(o.out, "vgg16"), HasSubstr("classifier.0.weight (102,760,448)"));
  EXPECT_THAT(Row(o.out, "bert_base"), HasSubstr(" 109,482,240 "));
  EXPECT_THAT(Row(o.out, "gpt2_small"), HasSubstr(" 124,439,808 "));
  EXPECT_THAT(Row(o.out, "gpt2_small"), HasSubstr("wte.weight (38,597,376)"));
  for (const char* name : {"resnet18", "vgg19", "alexnet", "inception_v3"}) {
    EXPECT_FALSE(Row(o.out, name).empty()) << name;
  }
}

TEST(ModelsCommandTest, LayersOfOneModel) {
  TempDir dir;
  const Outcome o = Models(dir, {"--layers", "vgg16"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(Lines(o.out).size(), 17u) << o.out;  // header + 13 convolutions + 3 linears
  EXPECT_THAT(Row(o.out, "classifier.0"), HasSubstr(" 102,764,544 "));
  EXPECT_THAT(Row(o.out, "features.0"), HasSubstr(" 1,792 "));
}

TEST(ModelsCommandTest, UnknownModelIsOneLineExit2ListingTheKnownOnes) {
  TempDir dir;
  const Outcome o = Models(dir, {"--layers", "resnet"});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_EQ(Lines(o.err).size(), 1u) << o.err;
  EXPECT_THAT(o.err, HasSubstr("unknown model 'resnet'"));
  EXPECT_THAT(o.err, HasSubstr("resnet50"));
  EXPECT_THAT(o.err, HasSubstr("gpt2_small"));
  EXPECT_TRUE(o.out.empty()) << o.out;
}

TEST(ModelsCommandTest, TraceFileRowAndErrors) {
  TempDir dir;
  std::ofstream(dir / "good.csv") << "# two layers\nlayer,params,forward_ms,backward_ms\n"
                                  << "conv1,9408,1.5,3\nfc,513000,0.25,0.5\n";
  const Outcome good = Models(dir, {"--trace", dir / "good.csv"});
  ASSERT_EQ(good.code, 0) << good.err;
  EXPECT_THAT(good.out, HasSubstr(" 522,408 "));
  EXPECT_THAT(good.out, HasSubstr("fc (513,000)"));
  EXPECT_THAT(good.out, HasSubstr("forward 1.750 ms, backward 3.500 ms"));

  std::ofstream(dir / "bad.csv") << "layer,params,forward_ms,backward_ms\nconv1,9408,1.5,3\n"
                                 << "fc,lots,0.25,0.5\n";
  const Outcome bad = Models(dir, {"--trace", dir / "bad.csv"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(Lines(bad.err).size(), 1u) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr(dir / "bad.csv:3: column 2 (params): \"lots\""));
  EXPECT_TRUE(bad.out.empty()) << bad.out;

  const Outcome missing = Models(dir, {"--trace", dir / "missing.csv"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr(dir / "missing.csv: cannot open"));
}

}  // namespace
}  // namespace gw::e2e
