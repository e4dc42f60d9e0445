// Write windows end to end over each transport (--windows, --sync r2sp): the windows the
// server granted (its windows.csv) never overlap once round-robin's rings run, each turn goes
// to the rank whose turn it is, a killed worker does not stall the ring, and R2SP trains
// Fashion-MNIST to BSP's accuracy.
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "tests/e2e_transport.h"

namespace gw::e2e {
namespace {

using WindowsOverTransport = TransportE2e;

struct WindowRec {
  uint32_t worker;
  uint64_t iteration;
  double requested, start, end, bound, landed;
  std::string how;
};

std::vector<WindowRec> ReadWindows(const std::string& path) {
  const Csv csv = ReadCsv(path);
  auto col = [&](const char* name) {
    const int c = csv.Column(name);
    EXPECT_GE(c, 0) << name << " missing in " << path;
    return static_cast<size_t>(std::max(c, 0));
  };
  const size_t worker = col("worker"), iteration = col("iteration"), requested = col("requested_s"),
               start = col("start_s"), end = col("end_s"), bound = col("bound_s"), how = col("end"),
               landed = col("landed_s");
  std::vector<WindowRec> out;
  for (const auto& r : csv.rows) {
    out.push_back({static_cast<uint32_t>(std::stoul(r.at(worker))), std::stoull(r.at(iteration)),
                   std::stod(r.at(requested)), std::stod(r.at(start)), std::stod(r.at(end)),
                   std::stod(r.at(bound)), std::stod(r.at(landed)), r.at(how)});
  }
  return out;
}

// Synthetic gradients of 8 parts each, so the gate is asked before every part.
std::vector<std::string> SyntheticJob(const std::string& sync, const std::string& windows,
                                      const std::string& iterations) {
  return {"--num-workers", "4",     "--workload",   "synthetic", "--grad-bytes", "2M",
          "--part-bytes",  "256K",  "--iterations", iterations,  "--sync",       sync,
          "--windows",     windows, "--timeout",    "60"};
}

TEST_P(WindowsOverTransport, RoundRobinWindowsNeverOverlapAndTurnsFollowRank) {
  const std::string out = dir_ / "run";
  const int kWorkers = 4, kIterations = 30;
  Proc& p = procs_.Start(
      "run", RunArgs(out, SyntheticJob("bsp", "round-robin:warmup=5,min-window=50", "30")));
  ASSERT_EQ(p.Wait(milliseconds(600000)), std::optional<int>(0));
  std::vector<WindowRec> rows = ReadWindows(out + "/windows.csv");
  ASSERT_FALSE(rows.empty());

  // Every push was asked for, granted and landed exactly once.
  std::map<std::pair<uint32_t, uint64_t>, double> landed;
  for (const auto& r : rows) {
    ASSERT_TRUE(std::isfinite(r.landed)) << "worker " << r.worker << " iteration " << r.iteration;
    ASSERT_LE(r.requested, r.start);
    ASSERT_LE(r.start, r.end);
    landed[{r.worker, r.iteration}] = r.landed;
  }
  EXPECT_EQ(landed.size(), static_cast<size_t>(kWorkers * kIterations));

  // Rings: windows with a bound. The first of them may be warm-up windows given a deadline
  // together (they overlap by design); every later window starts after all earlier ended.
  std::vector<WindowRec> ring;
  std::copy_if(rows.begin(), rows.end(), std::back_inserter(ring),
               [](const WindowRec& r) { return std::isfinite(r.bound); });
  std::sort(ring.begin(), ring.end(),
            [](const WindowRec& a, const WindowRec& b) { return a.start < b.start; });
  ASSERT_GT(ring.size(), static_cast<size_t>(kWorkers * (kIterations - 10)))
      << "round-robin's rings should run after the 5 warm-up iterations";
  const double rings_start = ring.front().start;
  double ended = -1;
  int turns_checked = 0;
  for (size_t i = 0; i < ring.size(); ++i) {
    const WindowRec& w = ring[i];
    if (w.start > rings_start) {
      ASSERT_GE(w.start, ended) << "window " << i << " (worker " << w.worker
                                << ") opened before an earlier one ended";
      // The turn after w's predecessor belongs to the next rank; if that rank was waiting
      // when the predecessor's window ended, the turn must be its.
      const WindowRec& prev = ring[i - 1];
      const uint32_t owner = (prev.worker + 1) % kWorkers;
      const bool owner_waiting = std::any_of(ring.begin(), ring.end(), [&](const WindowRec& r) {
        return r.worker == owner && r.requested <= prev.end && r.landed > prev.end;
      });
      if (prev.start > rings_start && owner_waiting) {
        EXPECT_EQ(w.worker, owner)
            << "turn " << i << " went to another rank than the waiting " << owner;
        ++turns_checked;
      }
    }
    ended = std::max(ended, w.end);
  }
  EXPECT_GT(turns_checked, kWorkers * 5) << "too few turns with their owner waiting to judge";

  // Per-write records: every part of every push, each split into gate, queue and wire time.
  int waiters = 0;
  for (int w = 0; w < kWorkers; ++w) {
    const Csv writes = ReadCsv(out + "/writes-" + std::to_string(w) + ".csv");
    EXPECT_EQ(writes.rows.size(), static_cast<size_t>(8 * kIterations)) << "worker " << w;
    const int gate = writes.Column("gate_s"), wire = writes.Column("wire_s");
    ASSERT_GE(gate, 0);
    ASSERT_GE(wire, 0);
    double waited = 0;
    for (const auto& r : writes.rows) {
      EXPECT_GE(std::stod(r.at(static_cast<size_t>(wire))), 0);
      waited += std::stod(r.at(static_cast<size_t>(gate)));
    }
    if (waited > 0) ++waiters;
  }
  // Under BSP all four push at once: in turns, at least three of them wait for a window.
  EXPECT_GE(waiters, kWorkers - 1);
}

// A worker SIGKILLed under R2SP loses its turn; the ring goes on with the others, who finish.
TEST_P(WindowsOverTransport, KilledWorkerDoesNotStallTheRing) {
  const std::string out = dir_ / "kill";
  // Seconds of work on the host; in the emulated VM (3 iterations/s over TCP) 150 is ~1 min.
  const std::string iterations = slow() ? "150" : "2000";
  const auto job = SyntheticJob("r2sp", "round-robin:warmup=5,min-window=50", iterations);
  Proc* started = nullptr;
  std::vector<Proc*> workers;
  ASSERT_TRUE(StartJob(job, 4, &started, &workers, out));
  Proc& server = *started;
  // Worker 0's first progress line comes 2 s into the run: past the 5 warm-up iterations
  // even in the VM, so the kill hits the ring.
  ASSERT_TRUE(
      WaitUntil([&] { return workers[0]->err().find("gradwire: iteration") != std::string::npos; },
                milliseconds(120000)));
  ASSERT_FALSE(server.Poll()) << "the job ended before the kill: make it longer";
  kill(workers[1]->pid, SIGKILL);
  ASSERT_EQ(server.Wait(milliseconds(600000)), std::optional<int>(0)) << server.err();
  EXPECT_NE(server.err().find("worker 1 lost"), std::string::npos) << server.err();
  for (int w : {0, 2, 3}) {
    EXPECT_EQ(workers[w]->Wait(milliseconds(60000)), std::optional<int>(0)) << "worker " << w;
  }
  const std::vector<WindowRec> rows = ReadWindows(out + "/windows.csv");
  double last_of_1 = 0, last_granted = 0;
  for (const auto& r : rows) {
    if (r.worker == 1) last_of_1 = std::max(last_of_1, r.start);
    last_granted = std::max(last_granted, r.start);
  }
  EXPECT_GT(last_granted, last_of_1) << "no window was granted after worker 1 died";
  // The survivors' pushes all landed (a push cut by its deadline lands in a later window).
  std::set<std::pair<uint32_t, uint64_t>> survivors_landed;
  for (const auto& r : rows) {
    if (r.worker != 1 && std::isfinite(r.landed)) survivors_landed.insert({r.worker, r.iteration});
  }
  EXPECT_EQ(survivors_landed.size(), 3 * std::stoul(iterations));
}

// R2SP (BSP warm-up, then one update per turn) reaches BSP's test accuracy on Fashion-MNIST.
// lr 0.02 as for ASP/SSP in ps_e2e_test: asynchronous updates with momentum 0.9 are noisy at
// 0.1. After the 10 warm-up iterations each update is applied on its own: the server makes
// 10 + 4 x 1490 of them. An asynchronous run's model depends on the order updates met in, so
// one final accuracy is a noisy sample: the test compares the mean accuracy of the models
// kept at the last 5 of every 50 iterations (1300-1500). Measured on the host: BSP 0.8325
// (deterministic), R2SP 0.806-0.824 over 5 runs; at 600 iterations and a single final model
// R2SP ranged 0.758-0.829 against BSP's 0.827, and a 5-point tolerance failed about 1 run in 4.
TEST_P(WindowsOverTransport, R2spTrainsToBspAccuracy) {
  constexpr int kIterations = 1500, kEvery = 50, kLast = 5;
  auto run = [&](const std::string& sync) -> std::optional<double> {
    const std::string out = dir_ / sync;
    Proc& p = procs_.Start(
        sync, RunArgs(out, {"--num-workers", "4", "--iterations", std::to_string(kIterations),
                            "--sync", sync, "--lr", "0.02", "--timeout", "60", "--eval-every",
                            std::to_string(kEvery)}));
    EXPECT_EQ(p.Wait(milliseconds(slow() ? 1500000 : 600000)), std::optional<int>(0)) << sync;
    const double updates = sync == "bsp" ? kIterations : 10 + 4 * (kIterations - 10);
    EXPECT_EQ(SummaryValue(out + "/server-0.csv", "updates"), std::optional<double>(updates))
        << sync;
    const Csv acc = ReadCsv(out + "/accuracy.csv");
    if (acc.rows.size() < static_cast<size_t>(kLast)) return std::nullopt;
    const int col = acc.Column("test_accuracy");
    if (col < 0) return std::nullopt;
    double sum = 0;
    for (size_t i = acc.rows.size() - kLast; i < acc.rows.size(); ++i) {
      sum += std::stod(acc.rows[i][col]);
    }
    return sum / kLast;
  };
  const auto bsp = run("bsp");
  const auto r2sp = run("r2sp");
  ASSERT_TRUE(bsp.has_value() && r2sp.has_value()) << "no accuracy.csv with the kept models";
  EXPECT_GE(*bsp, 0.75);
  EXPECT_GE(*r2sp, *bsp - 0.05) << "R2SP fell behind BSP's accuracy";
}

INSTANTIATE_TEST_SUITE_P(Transports, WindowsOverTransport,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

}  // namespace
}  // namespace gw::e2e
