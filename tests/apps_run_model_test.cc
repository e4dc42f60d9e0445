// `gradwire run` with a layered workload (--workload model:NAME, trace:FILE): the servers and
// workers build the same layer-aligned layout and the job finishes with every byte of the
// model pushed each iteration; a bad model name or trace is one line and exit 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "e2e_util.h"
#include "ps/workload/zoo/zoo.h"

namespace gw::e2e {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int code = -1;
  std::string err;
};

// Runs `gradwire args...` to its end, bounded.
Outcome Gradwire(const TempDir& dir, const std::vector<std::string>& args) {
  Processes procs(dir.path());
  Proc& p = procs.Start("gradwire", args);
  const auto code = p.Wait(milliseconds(120000));
  EXPECT_TRUE(code.has_value()) << procs.DescribeAll();
  return {code.value_or(-1), p.err()};
}

// The sum of a column over every row of a CSV.
double ColumnSum(const std::string& path, const std::string& column) {
  const Csv csv = ReadCsv(path);
  const int col = csv.Column(column);
  EXPECT_GE(col, 0) << column << " in " << path;
  double sum = 0;
  for (const auto& row : csv.rows) sum += std::stod(row.at(static_cast<size_t>(col)));
  return sum;
}

// Every worker pushes the whole model each iteration and the servers receive all of it.
void ExpectWholeModelPushed(const TempDir& dir, uint64_t model_bytes, int workers, int servers,
                            int iterations) {
  for (int w = 0; w < workers; ++w) {
    const std::string path = dir / ("out/worker-" + std::to_string(w) + ".csv");
    const Csv csv = ReadCsv(path);
    ASSERT_EQ(csv.rows.size(), static_cast<size_t>(iterations)) << path;
    const int bytes = csv.Column("bytes");
    ASSERT_GE(bytes, 0);
    for (const auto& row : csv.rows) EXPECT_EQ(row.at(bytes), std::to_string(model_bytes)) << path;
  }
  double received = 0;
  for (int s = 0; s < servers; ++s) {
    const std::string path = dir / ("out/server-" + std::to_string(s) + ".csv");
    EXPECT_EQ(ColumnSum(path, "updates"), iterations) << path;
    received += ColumnSum(path, "gradient_bytes_received");
  }
  EXPECT_EQ(received, static_cast<double>(model_bytes) * workers * iterations);
}

// AlexNet (61,100,840 parameters, fc6 alone 37,748,736) over two servers: parts cut within
// layers, shards balanced by size. A fast device keeps the test to a few seconds.
TEST(RunModelTest, AlexNetFinishesWithEveryByte) {
  TempDir dir;
  const Outcome o = Gradwire(
      dir, {"run", "--num-workers", "2", "--num-servers", "2", "--workload", "model:alexnet",
            "--iterations", "3", "--device-tflops", "1000", "--out", dir / "out"});
  ASSERT_EQ(o.code, 0) << o.err;
  ExpectWholeModelPushed(dir, zoo::FindModel("alexnet")->params() * 4, 2, 2, 3);
}

TEST(RunModelTest, TraceFinishesWithEveryByte) {
  TempDir dir;
  std::ofstream(dir / "trace.csv") << "layer,params,forward_ms,backward_ms\n"
                                      "conv1,300000,0.1,0.2\n"
                                      "bn1,64,0,0\n"
                                      "fc,1500000,0.2,0.4\n";
  const Outcome o = Gradwire(dir, {"run", "--num-workers", "2", "--num-servers", "2", "--workload",
                                   "trace:" + (dir / "trace.csv"), "--part-bytes", "1M",
                                   "--iterations", "3", "--out", dir / "out"});
  ASSERT_EQ(o.code, 0) << o.err;
  ExpectWholeModelPushed(dir, 1'800'064 * 4, 2, 2, 3);
}

TEST(RunModelTest, UnknownModelIsOneLineExit2) {
  TempDir dir;
  const Outcome o = Gradwire(dir, {"run", "--num-workers", "2", "--workload", "model:vgg"});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_EQ(CountLines(o.err, {}), 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr("unknown model 'vgg' (known: "));
  EXPECT_THAT(o.err, HasSubstr("vgg16"));
}

TEST(RunModelTest, BadTraceNamesLineAndColumnExit2) {
  TempDir dir;
  std::ofstream(dir / "trace.csv") << "layer,params,forward_ms,backward_ms\nconv1,12,1.0,x\n";
  const Outcome o =
      Gradwire(dir, {"run", "--num-workers", "2", "--workload", "trace:" + (dir / "trace.csv")});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_EQ(CountLines(o.err, {}), 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr(dir / "trace.csv" + ":2: column 4"));
}

}  // namespace
}  // namespace gw::e2e
