// `gradwire run` with a layered workload (--workload model:NAME, trace:FILE): the servers and
// workers build the same layer-aligned layout and the job finishes with every byte of the
// model pushed each iteration; a bad model name or trace is one line and exit 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
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

// ResNet-18 (11,689,512 parameters in 41 layers, from 128-float batch-norms to a 2.4 M-float
// conv) over two servers: parts cut within layers, shards balanced by size. A fast device
// keeps the test to a few seconds.
TEST(RunModelTest, ResNet18OverTwoServersFinishesWithEveryByte) {
  TempDir dir;
  const Outcome o = Gradwire(
      dir, {"run", "--num-workers", "2", "--num-servers", "2", "--workload", "model:resnet18",
            "--iterations", "3", "--device-tflops", "1000", "--out", dir / "out"});
  ASSERT_EQ(o.code, 0) << o.err;
  ExpectWholeModelPushed(dir, zoo::FindModel("resnet18")->params() * 4, 2, 2, 3);
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

// A row's cell as a number, by column name.
double Cell(const Csv& csv, const std::vector<std::string>& row, const std::string& column) {
  const int col = csv.Column(column);
  EXPECT_GE(col, 0) << column;
  return col < 0 ? 0 : std::stod(row.at(static_cast<size_t>(col)));
}

// P3's claim rests on reordering, never on moving less: a seeded ResNet-50 job under BSP
// pushes exactly the same bytes and applies the same updates in fifo and in priority order
// (ResNet-18, 45 against 100 MB, under ASan or TSan: 49 s of TSan's run for two jobs).
TEST(RunModelTest, FifoAndPriorityMoveTheSameBytesAndApplyTheSameUpdates) {
  constexpr int kWorkers = 2, kIterations = 2;
  const std::string model = kSanitized ? "resnet18" : "resnet50";
  const uint64_t model_bytes = zoo::FindModel(model)->params() * 4;
  std::vector<double> received, updates;
  for (const std::string order : {"fifo", "priority"}) {
    TempDir dir;
    const Outcome o = Gradwire(
        dir, {"run", "--num-workers", std::to_string(kWorkers), "--workload", "model:" + model,
              "--push-order", order, "--iterations", std::to_string(kIterations), "--device-tflops",
              "1000", "--seed", "7", "--out", dir / "out"});
    ASSERT_EQ(o.code, 0) << order << ": " << o.err;
    ExpectWholeModelPushed(dir, model_bytes, kWorkers, 1, kIterations);
    received.push_back(ColumnSum(dir / "out/server-0.csv", "gradient_bytes_received"));
    updates.push_back(ColumnSum(dir / "out/server-0.csv", "updates"));
    // Every layer of every iteration on every worker is in layers.csv, its bytes the model's.
    const Csv layers = ReadCsv(dir / "out/layers.csv");
    ASSERT_EQ(layers.rows.size(), zoo::FindModel(model)->layers.size() * kWorkers * kIterations);
    double bytes = 0;
    for (const auto& row : layers.rows) bytes += Cell(layers, row, "bytes");
    EXPECT_EQ(bytes, static_cast<double>(model_bytes) * kWorkers * kIterations) << order;
  }
  EXPECT_EQ(received[0], received[1]);
  EXPECT_EQ(updates[0], updates[1]);
}

// Wait-free backprop: a layer's gradient is pushed while the layers before it still compute,
// so the push started before the compute ended and only its tail is left once it has.
// Eight 8 MB layers of 40 ms backward each: pushing one takes a few ms on loopback (1 MB
// under ASan or TSan, where the server's sum and update of 8 MB took longer than the margins
// below: a TSan run had the first parameters back 20-75 ms after the pushes ended).
// Per-tensor BSP: a part's update goes back as soon as both workers pushed that part, so the
// last layer's new parameters land while the first layer's gradient is not even computed; and
// each layer's next forward pass starts once its own parameters are there, never before.
TEST(RunModelTest, LayerPushesOverlapBackwardAndEachLayerGoesBackAsSoonAsBothPushedIt) {
  TempDir dir;
  constexpr int kLayers = 8;
  {
    std::ofstream trace(dir / "trace.csv");
    trace << "layer,params,forward_ms,backward_ms\n";
    const int params = kSanitized ? 250000 : 2000000;
    for (int l = 0; l < kLayers; ++l) trace << "layer" << l << "," << params << ",10,40\n";
  }
  constexpr int kIterations = 4;
  const Outcome o =
      Gradwire(dir, {"run", "--num-workers", "2", "--workload", "trace:" + (dir / "trace.csv"),
                     "--iterations", std::to_string(kIterations), "--out", dir / "out"});
  ASSERT_EQ(o.code, 0) << o.err;
  const Csv layers = ReadCsv(dir / "out/layers.csv");
  ASSERT_EQ(layers.rows.size(), size_t{kLayers} * 2 * kIterations);
  // [worker][iteration][layer] -> the row
  std::vector<std::vector<std::vector<const std::vector<std::string>*>>> at(
      2, std::vector<std::vector<const std::vector<std::string>*>>(
             kIterations, std::vector<const std::vector<std::string>*>(kLayers, nullptr)));
  for (const auto& row : layers.rows) {
    const auto w = static_cast<size_t>(Cell(layers, row, "worker"));
    const auto it = static_cast<size_t>(Cell(layers, row, "iteration"));
    const auto l = static_cast<size_t>(Cell(layers, row, "layer"));
    ASSERT_TRUE(w < 2 && it < kIterations && l < kLayers && !at[w][it][l]) << "a row twice";
    at[w][it][l] = &row;
  }
  // When the iteration's last push (of either worker) ended, in seconds since training began:
  // the workers' clocks are one machine's (steady_clock), their training starts a few ms apart.
  std::vector<double> pushes_end(kIterations, 0);
  for (size_t w = 0; w < 2; ++w) {
    for (size_t it = 0; it < kIterations; ++it) {
      for (const auto* row : at[w][it]) {
        pushes_end[it] = std::max(pushes_end[it],
                                  Cell(layers, *row, "start_s") + Cell(layers, *row, "push_end_s"));
      }
    }
  }
  for (int w = 0; w < 2; ++w) {
    const Csv iterations = ReadCsv(dir / ("out/worker-" + std::to_string(w) + ".csv"));
    ASSERT_EQ(iterations.rows.size(), static_cast<size_t>(kIterations));
    for (const auto& it_row : iterations.rows) {
      const auto it = static_cast<size_t>(Cell(iterations, it_row, "iteration"));
      double first_push = 1e9, last_push = 0, compute_end = 0, first_params = 1e9;
      for (const auto* row : at[w][it]) {
        first_push = std::min(first_push, Cell(layers, *row, "push_start_s"));
        last_push = std::max(last_push, Cell(layers, *row, "push_end_s"));
        compute_end = std::max(compute_end, Cell(layers, *row, "backward_end_s"));
        first_params = std::min(first_params, Cell(layers, *row, "params_s"));
      }
      const double compute = Cell(iterations, it_row, "compute_s");
      const double waited = Cell(iterations, it_row, "wait_s");
      const double exposed = Cell(iterations, it_row, "write_s");
      SCOPED_TRACE("worker " + std::to_string(w) + " iteration " + std::to_string(it));
      EXPECT_GE(compute, kLayers * 0.050 - 0.001);  // 8 x (10 + 40) ms, emulated
      // The last layer's backward pass ends it (posting that layer's writes comes after).
      EXPECT_GE(compute + waited + exposed, compute_end - 0.001);
      EXPECT_LT(first_push, compute_end - 0.1);  // the last layer went out early
      // compute + push time, as if one came after the other, is longer than what the
      // worker spent on both: compute + the push's exposed tail.
      EXPECT_LT(compute + exposed, compute + (last_push - first_push) - 0.1);
      // Some parameters of the next iteration were back before both workers' pushes ended
      // (~250 ms before, when the workers are in step); a whole-barrier update can only
      // release them after.
      const double start = Cell(layers, *at[w][it][0], "start_s");
      EXPECT_LT(start + first_params, pushes_end[it]);
      if (it + 1 == kIterations) continue;
      // The next forward pass: each layer after its parameters landed (absolute times).
      for (int l = 0; l < kLayers; ++l) {
        const double landed = start + Cell(layers, *at[w][it][l], "params_s");
        const auto& next = *at[w][it + 1][l];
        EXPECT_GE(Cell(layers, next, "start_s") + Cell(layers, next, "forward_start_s"),
                  landed - 1e-6)
            << "layer " << l << "'s forward pass began before its parameters landed";
      }
    }
  }
}

// Global-priority windows are granted per partition: the link goes to one worker at a time,
// each window carries ready partitions up to --part-bytes (at least one) and ends when they
// landed, every push's windows start at its partition 0 and go forward, and every byte
// arrives.
TEST(RunModelTest, GlobalPriorityWindowsCarryPartitionsOneWriterAtATime) {
  TempDir dir;
  {
    std::ofstream trace(dir / "trace.csv");
    trace << "layer,params,forward_ms,backward_ms\n";
    for (int l = 0; l < 6; ++l) trace << "layer" << l << ",500000,2,5\n";
  }
  constexpr int kWorkers = 3, kIterations = 4;
  constexpr int kParts = 6 * 2;  // 2 MB layers in 1 MiB parts: a window carries 1 or 2
  const Outcome o =
      Gradwire(dir, {"run", "--num-workers", std::to_string(kWorkers), "--workload",
                     "trace:" + (dir / "trace.csv"), "--windows", "global-priority", "--part-bytes",
                     "1M", "--iterations", std::to_string(kIterations), "--out", dir / "out"});
  ASSERT_EQ(o.code, 0) << o.err;
  ExpectWholeModelPushed(dir, 3'000'000 * 4, kWorkers, 1, kIterations);
  const Csv windows = ReadCsv(dir / "out/windows.csv");
  std::vector<std::pair<double, double>> spans;
  // (worker, iteration) -> the partitions its windows started at, in grant order (a window
  // revoked at its deadline and granted again has two rows for one start).
  std::map<std::pair<int, int>, std::vector<int>> starts;
  for (const auto& row : windows.rows) {
    spans.emplace_back(Cell(windows, row, "start_s"), Cell(windows, row, "end_s"));
    starts[{static_cast<int>(Cell(windows, row, "worker")),
            static_cast<int>(Cell(windows, row, "iteration"))}]
        .push_back(static_cast<int>(Cell(windows, row, "part")));
  }
  EXPECT_EQ(starts.size(), static_cast<size_t>(kWorkers * kIterations));
  for (auto& [push, parts] : starts) {
    SCOPED_TRACE("worker " + std::to_string(push.first) + " iteration " +
                 std::to_string(push.second));
    ASSERT_FALSE(parts.empty());
    EXPECT_TRUE(std::is_sorted(parts.begin(), parts.end())) << "windows go forward";
    parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
    EXPECT_EQ(parts.front(), 0);
    EXPECT_LT(parts.back(), kParts);
    EXPECT_GE(parts.size(), static_cast<size_t>(kParts / 2));
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    EXPECT_LE(spans[i - 1].second, spans[i].first + 1e-6) << "windows " << i - 1 << " and " << i;
  }
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
