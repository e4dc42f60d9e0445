// Write windows end to end over each transport (--windows, --sync r2sp): the windows the
// server granted (its windows.csv) overlap only as pipelined turns may once round-robin's rings
// run (the next writer granted after the open window's writer posted, two at most), each turn goes
// to the rank whose turn it is, a killed worker does not stall the ring, and R2SP trains
// Fashion-MNIST to BSP's accuracy. Coded rounds with windows (--coding with --windows, one
// window per message): they decode the model of the same job without windows, under
// round-robin one worker writes at a time and every write is inside a window granted for its
// message, and a writer stopped in its window costs one bound once, not every later round.
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "tests/e2e_transport.h"

namespace gw::e2e {
namespace {

using WindowsOverTransport = TransportE2e;

struct WindowRec {
  uint32_t worker;
  uint64_t iteration;
  double requested, start, end, bound, landed;
  double posted;  // the writer's first-post notice (NaN: none came)
  std::string how;
  uint32_t message;  // coded jobs: the message of round `iteration`
  bool ahead;        // granted by the long-trip rule (sched/window_scheduler.h)
  double held;       // how long the grant waited at the writer (asked ahead)
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
               landed = col("landed_s"), message = col("message"), posted = col("posted_s"),
               ahead = col("ahead"), held = col("held_s");
  std::vector<WindowRec> out;
  for (const auto& r : csv.rows) {
    out.push_back({static_cast<uint32_t>(std::stoul(r.at(worker))), std::stoull(r.at(iteration)),
                   std::stod(r.at(requested)), std::stod(r.at(start)), std::stod(r.at(end)),
                   std::stod(r.at(bound)), std::stod(r.at(landed)), std::stod(r.at(posted)),
                   r.at(how), static_cast<uint32_t>(std::stoul(r.at(message))), r.at(ahead) == "1",
                   std::stod(r.at(held))});
  }
  return out;
}

// The windows with a bound (round-robin's rings), sorted by start.
std::vector<WindowRec> RingWindows(const std::vector<WindowRec>& rows) {
  std::vector<WindowRec> ring;
  std::copy_if(rows.begin(), rows.end(), std::back_inserter(ring),
               [](const WindowRec& r) { return std::isfinite(r.bound); });
  std::sort(ring.begin(), ring.end(),
            [](const WindowRec& a, const WindowRec& b) { return a.start < b.start; });
  return ring;
}

struct RingCheck {
  size_t checked = 0;    // ring windows checked
  size_t pipelined = 0;  // of them, granted while an earlier one was open
};

// Ring windows after the first of them (the warm-up windows given a deadline together overlap
// by design): each opens after every earlier one ended, or (a pipelined turn) while exactly one
// is open whose writer had posted, or (a long trip: a slow host or VM can make the grant's trip
// longer than a transfer) while other workers' windows are open, marked ahead
// (sched/window_scheduler.h).
//
// A warm-up window the rings gave a deadline is logged as two rows: the burst one, ended
// "replaced", and the bounded one. The writer's first notice may be on the burst row; the
// scheduler goes by that one (the grant with the deadline may bring a second notice, on the
// bounded row, which it ignores).
RingCheck ExpectRingWindowsPipelinedAtMost(const std::vector<WindowRec>& rows) {
  const std::vector<WindowRec> ring = RingWindows(rows);
  auto posted = [&](const WindowRec& w) {
    for (const WindowRec& r : rows) {
      if (r.worker == w.worker && r.iteration == w.iteration && r.how == "replaced" &&
          !std::isnan(r.posted)) {
        return r.posted;
      }
    }
    return w.posted;
  };
  RingCheck check;
  if (ring.empty()) return check;
  const double rings_start = ring.front().start;
  for (size_t i = 0; i < ring.size(); ++i) {
    const WindowRec& w = ring[i];
    if (w.start <= rings_start) continue;
    size_t open = 0;
    for (size_t j = 0; j < i; ++j) {
      if (ring[j].end <= w.start) continue;
      ++open;
      if (w.ahead) {
        EXPECT_NE(ring[j].worker, w.worker) << "window " << i << " overlaps its own";
        continue;
      }
      EXPECT_LE(posted(ring[j]), w.start)
          << "window " << i << " (worker " << w.worker << ", round " << w.iteration
          << ") opened while worker " << ring[j].worker << "'s had not posted";
    }
    if (!w.ahead) {
      EXPECT_LE(open, 1u) << "window " << i << " (worker " << w.worker << ", round " << w.iteration
                          << ") opened while two were open";
    }
    check.pipelined += open;
    ++check.checked;
  }
  return check;
}

double Sum(const Csv& csv, const std::string& column) {
  const int c = csv.Column(column);
  EXPECT_GE(c, 0) << column;
  double s = 0;
  for (const auto& row : csv.rows) s += std::stod(row.at(static_cast<size_t>(std::max(c, 0))));
  return s;
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
    EXPECT_EQ(r.held, 0) << "asked when ready: no grant waits for its gradient";
    landed[{r.worker, r.iteration}] = r.landed;
  }
  EXPECT_EQ(landed.size(), static_cast<size_t>(kWorkers * kIterations));

  // Rings: windows with a bound. The first of them may be warm-up windows given a deadline
  // together (they overlap by design); later ones overlap only as pipelined turns.
  const std::vector<WindowRec> ring = RingWindows(rows);
  ASSERT_GT(ring.size(), static_cast<size_t>(kWorkers * (kIterations - 10)))
      << "round-robin's rings should run after the 5 warm-up iterations";
  const RingCheck check = ExpectRingWindowsPipelinedAtMost(rows);
  // Every writer announces its first post (the notice goes just ahead of its bytes), and the
  // ring uses it: some turns are granted while the one before is still landing.
  size_t announced = 0;
  for (const WindowRec& w : ring) {
    if (!std::isnan(w.posted)) {
      EXPECT_LE(w.start, w.posted);
      EXPECT_LE(w.posted, w.end);
      ++announced;
    }
  }
  EXPECT_GE(announced, ring.size() * 9 / 10) << "windows whose writer's notice came";
  EXPECT_GT(check.pipelined, 0u) << "no turn was granted ahead of the window before it ending";
  const double rings_start = ring.front().start;
  int turns_checked = 0;
  for (size_t i = 1; i < ring.size(); ++i) {
    const WindowRec& w = ring[i];
    const WindowRec& prev = ring[i - 1];
    // The turn after w's predecessor belongs to the next rank; if that rank was waiting when w
    // was granted, the turn must be its.
    const uint32_t owner = (prev.worker + 1) % kWorkers;
    const bool owner_waiting = std::any_of(ring.begin(), ring.end(), [&](const WindowRec& r) {
      return r.worker == owner && r.requested <= w.start && r.start >= w.start;
    });
    if (prev.start > rings_start && owner_waiting) {
      EXPECT_EQ(w.worker, owner) << "turn " << i << " went to another rank than the waiting "
                                 << owner;
      ++turns_checked;
    }
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

// ask=ahead under R2SP, every worker computing 30 ms per iteration: each asks for its window as
// it starts computing, so its request reaches the server about a compute time before its first
// post (asked when ready, only the wait for the turn and the grant's trip: a few ms here; the
// trip alone, which a slow build lengthens, could not make up the difference); a grant that came
// before the gradient waited for it (held_s), at most the window's grant-to-post time. Every
// push lands once and ring windows overlap only as turns may.
TEST_P(WindowsOverTransport, WindowsAreAskedForWhileTheGradientIsComputed) {
  const std::string out = dir_ / "ahead";
  const int kWorkers = 4, kIterations = 30;
  std::vector<std::string> job = SyntheticJob(
      "r2sp", "round-robin:warmup=5,min-window=50,ask=ahead", std::to_string(kIterations));
  const double base = slow() ? 0.05 : 0.03;  // every worker's compute time, s
  job.insert(job.end(),
             {"--straggler", "persistent:workers=0,factor=1,base=" + std::to_string(base)});
  Proc& p = procs_.Start("ahead", RunArgs(out, job));
  ASSERT_EQ(p.Wait(milliseconds(slow() ? 600000 : 120000)), std::optional<int>(0)) << p.err();
  const std::vector<WindowRec> rows = ReadWindows(out + "/windows.csv");
  std::set<std::pair<uint32_t, uint64_t>> landed;
  for (const auto& r : rows) {
    ASSERT_TRUE(std::isfinite(r.landed)) << "worker " << r.worker << " iteration " << r.iteration;
    landed.insert({r.worker, r.iteration});
  }
  EXPECT_EQ(landed.size(), static_cast<size_t>(kWorkers * kIterations));
  const std::vector<WindowRec> ring = RingWindows(rows);
  ASSERT_GT(ring.size(), static_cast<size_t>(kWorkers * (kIterations - 10)));
  ExpectRingWindowsPipelinedAtMost(rows);
  size_t early = 0;
  for (const WindowRec& w : ring) {
    if (std::isnan(w.posted)) continue;
    if (w.posted - w.requested >= base / 2) ++early;
    EXPECT_GE(w.held, 0);
    EXPECT_LE(w.held, w.posted - w.start + 1e-9)
        << "worker " << w.worker << " iteration " << w.iteration;
  }
  EXPECT_GE(early, ring.size() * 3 / 4)
      << "of " << ring.size() << " ring windows, so few were asked for while computing";
}

// A worker SIGKILLed under R2SP loses its turn; the ring goes on with the others, who finish.
TEST_P(WindowsOverTransport, KilledWorkerDoesNotStallTheRing) {
  const std::string out = dir_ / "kill";
  // ~7 s of work on the host (~90 iterations/s), 20 s under ASan; in the emulated VM
  // (1-3 iterations/s) 80 take 30-80 s. The kill comes ~2 s in.
  const std::string iterations = slow() ? "80" : "600";
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
  const std::vector<WindowRec> rows = ReadWindows(out + "/windows-0.csv");
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

// R2SP's batch tuning: worker 1 computes 4x slower (an emulated compute time per nominal
// batch, which scales with its rows). Once tuned (after warm-up), it gets about a quarter of
// a fast worker's rows (shares 19.7 and 78.8 of 4 x 64), every worker's compute time per
// iteration comes out about the same, the global batch stays 4 x 64, and the server applies
// exactly the rows the workers computed.
TEST_P(WindowsOverTransport, BatchTuningEqualisesComputeAndKeepsTheGlobalBatch) {
  constexpr int kIterations = 40, kFrom = 20, kTo = 35, kNominal = 64;
  const std::string out = dir_ / "tuned";
  std::vector<std::string> job =
      SyntheticJob("r2sp", "round-robin:warmup=5,min-window=50", std::to_string(kIterations));
  const std::string base = slow() ? "0.05" : "0.02";  // fast workers' compute time, s
  job.insert(job.end(),
             {"--straggler", "persistent:workers=1,factor=4,base=" + base, "--batch-tuning"});
  Proc& p = procs_.Start("tuned", RunArgs(out, job));
  ASSERT_EQ(p.Wait(milliseconds(slow() ? 600000 : 120000)), std::optional<int>(0)) << p.err();
  EXPECT_NE(p.err().find("batch tuning: workers' batches"), std::string::npos) << p.err();
  std::vector<double> batch(4), compute(4);
  double rows = 0;
  for (uint32_t w = 0; w < 4; ++w) {
    const Csv csv = ReadCsv(out + "/worker-" + std::to_string(w) + ".csv");
    ASSERT_EQ(csv.rows.size(), static_cast<size_t>(kIterations));
    const int it = csv.Column("iteration"), b = csv.Column("batch"), c = csv.Column("compute_s"),
              d = csv.Column("delay_s");
    ASSERT_TRUE(it >= 0 && b >= 0 && c >= 0 && d >= 0);
    int n = 0;
    for (const auto& r : csv.rows) {
      rows += std::stod(r[b]);
      const int i = std::stoi(r[it]);
      if (i < kFrom || i >= kTo) continue;
      batch[w] += std::stod(r[b]);
      compute[w] += std::stod(r[c]) + std::stod(r[d]);
      ++n;
    }
    batch[w] /= n;
    compute[w] /= n;
  }
  EXPECT_LT(batch[1], 0.4 * kNominal) << "the slow worker's batch";
  for (uint32_t w : {0, 2, 3}) EXPECT_GT(batch[w], 1.1 * kNominal) << "worker " << w;
  EXPECT_NEAR(batch[0] + batch[1] + batch[2] + batch[3], 4 * kNominal, 4);
  const auto [lo, hi] = std::minmax_element(compute.begin(), compute.end());
  EXPECT_LT(*hi / *lo, 1.3) << "compute times per iteration: " << compute[0] << " " << compute[1]
                            << " " << compute[2] << " " << compute[3];
  EXPECT_EQ(SummaryValue(out + "/server-0.csv", "rows_applied"), std::optional<double>(rows));
}

// ---- Coded rounds with windows ----

using CodedWindowsOverTransport = TransportE2e;

// Full-batch linear regression as in ps_coded_e2e_test: every scheme computes the exact
// gradient, so with or without windows each must reach the same loss.
std::vector<std::string> CodedLinregJob(const std::string& coding, const std::string& windows) {
  return {"--num-workers", "4",     "--workload",    "linreg",
          "--linreg-rows", "2048",  "--linreg-dims", "64",
          "--batch",       "2048",  "--lr",          "0.5",
          "--momentum",    "0",     "--iterations",  "12",
          "--coding",      coding,  "--straggler",   "shifted-exp:mu=1,base=0.002",
          "--windows",     windows, "--timeout",     "60"};
}

TEST_P(CodedWindowsOverTransport, WindowsDecodeTheModelOfTheSameJobWithout) {
  auto run = [&](const std::string& coding, const std::string& windows) -> std::optional<double> {
    const std::string name = coding + "-" + windows;
    const std::string out = dir_ / name;
    Proc& p = procs_.Start(name, RunArgs(out, CodedLinregJob(coding, windows)));
    EXPECT_EQ(p.Wait(milliseconds(300000)), std::optional<int>(0)) << name;
    const size_t rounds = 12u * (coding.starts_with("mds") ? 2 : 1);
    EXPECT_EQ(ReadCsv(out + "/rounds.csv").rows.size(), rounds) << name;
    if (windows != "none") {
      EXPECT_EQ(SummaryValue(out + "/server-0.csv", "unwindowed_writes"), std::optional<double>(0))
          << name;
      const auto rows = ReadWindows(out + "/windows.csv");
      EXPECT_GE(rows.size(), rounds) << name << ": every round needs windows to decode";
      for (int w = 0; w < 4; ++w) {
        const Csv writes = ReadCsv(out + "/writes-" + std::to_string(w) + ".csv");
        EXPECT_EQ(writes.Column("gate_s"), 4) << name;
      }
    }
    return SummaryValue(out + "/summary.csv", "test_loss");
  };
  const auto reference = run("uncoded", "none");
  ASSERT_TRUE(reference.has_value());
  ASSERT_GT(*reference, 1e-6) << "after 12 iterations the loss should still be above its floor";
  // Uncoded decodes from every block in block order: the same floats, windows or not.
  EXPECT_EQ(run("uncoded", "round-robin:warmup=5"), reference);
  for (const std::string coding : {"gc-cr:s=1", "mm:r=2", "replication:r=2", "mds:k=3"}) {
    for (const std::string windows : {"none", "round-robin:warmup=5", "burst"}) {
      const auto loss = run(coding, windows);
      ASSERT_TRUE(loss.has_value()) << coding << " " << windows;
      EXPECT_NEAR(*loss, *reference, 1e-3 * *reference) << coding << " with --windows " << windows;
    }
  }
  for (const std::string windows : {"slots:period=8,slot=2", "topology:racks=2"}) {
    const auto loss = run("gc-cr:s=1", windows);
    ASSERT_TRUE(loss.has_value()) << windows;
    EXPECT_NEAR(*loss, *reference, 1e-3 * *reference) << "gc-cr:s=1 with --windows " << windows;
  }
}

// Synthetic messages of 8 parts, stragglers, two messages per round (mm:r=2) and a code that
// closes rounds without one worker (gc-cr:s=1). Under round-robin's turns the server's
// windows overlap only as pipelined turns once the rings run; every write a worker recorded belongs
// to a message the server granted a window for, and the server saw no part land without one. A
// worker's writes are posted only while its gate is open (sched/window_gate.h, unit-tested),
// which lies inside the server's window: it opens when the grant arrives and closes when the
// push's writes are done, before the server sees the last part land and ends the window.
TEST_P(CodedWindowsOverTransport, RoundRobinLetsOneWorkerWriteAtATime) {
  constexpr int kWorkers = 4, kRounds = 20, kPartsPerMessage = 8;
  for (const std::string coding : {"mm:r=2", "gc-cr:s=1"}) {
    SCOPED_TRACE(coding);
    const std::string out = dir_ / coding;
    Proc& p = procs_.Start(
        coding,
        RunArgs(out, {"--num-workers", "4", "--workload", "synthetic", "--grad-bytes", "2M",
                      "--part-bytes", "256K", "--iterations", std::to_string(kRounds), "--coding",
                      coding, "--straggler", "shifted-exp:mu=1,base=0.005", "--windows",
                      "round-robin:warmup=5,min-window=50", "--timeout", "60"}));
    ASSERT_EQ(p.Wait(milliseconds(300000)), std::optional<int>(0));
    EXPECT_EQ(ReadCsv(out + "/rounds.csv").rows.size(), static_cast<size_t>(kRounds));
    EXPECT_EQ(SummaryValue(out + "/server-0.csv", "unwindowed_writes"), std::optional<double>(0));
    const std::vector<WindowRec> rows = ReadWindows(out + "/windows.csv");
    EXPECT_GT(ExpectRingWindowsPipelinedAtMost(rows).checked,
              static_cast<size_t>(2 * (kRounds - 10)))
        << "round-robin's rings should run after the 5 warm-up rounds";
    std::set<std::tuple<uint32_t, uint64_t, uint32_t>> windowed;  // worker, round, message
    int waited_for_a_turn = 0;
    for (const auto& r : rows) {
      EXPECT_LE(r.requested, r.start);
      EXPECT_LE(r.start, r.end);
      windowed.insert({r.worker, r.iteration, r.message});
      if (std::isfinite(r.bound) && r.start > r.requested) ++waited_for_a_turn;
    }
    EXPECT_GT(waited_for_a_turn, 0) << "in turns, some message must have waited for another's";
    double gate = 0;
    for (uint32_t w = 0; w < kWorkers; ++w) {
      const Csv iterations = ReadCsv(out + "/worker-" + std::to_string(w) + ".csv");
      gate += Sum(iterations, "gate_s");
      const Csv writes = ReadCsv(out + "/writes-" + std::to_string(w) + ".csv");
      // Each message the worker sent whole is kPartsPerMessage writes, all recorded.
      EXPECT_GE(writes.rows.size(), kPartsPerMessage * Sum(iterations, "messages"))
          << "worker " << w;
      const int it = writes.Column("iteration"), part = writes.Column("part");
      ASSERT_GE(it, 0);
      ASSERT_GE(part, 0);
      for (const auto& r : writes.rows) {
        const uint64_t round = std::stoull(r.at(static_cast<size_t>(it)));
        const uint32_t message =
            static_cast<uint32_t>(std::stoul(r.at(static_cast<size_t>(part)))) / kPartsPerMessage;
        EXPECT_TRUE(windowed.count({w, round, message}))
            << "worker " << w << " wrote message " << message << " of round " << round
            << " without a window for it";
      }
    }
    EXPECT_GT(gate, 0) << "gate_s: the time from each request to its grant";
  }
}

// A worker SIGSTOPped in the middle of its message push, holding its window (--inject-fault
// stop:8, after the 5 warm-up rounds; the others are 20x slower, so worker 2 asks first and,
// first come, first served, gets the first turn of round 8). Its window is revoked at its bound
// (at least min-window: 1 s, 4 s where everything runs slow), that round decodes without it, and
// the round's close withdraws its still-pending request: later rounds never wait for it. Without
// the withdrawal its request, the oldest, would take the first turn of every later round and
// hold the link for a bound each time. The job's timeout exceeds the bound (no progress while
// the stopped writer holds the link is not a failure).
// The others' delay must dwarf the gradient's compute time, which TSan stretches from ~4 ms to
// 80-220 ms: with 20 ms, worker 2 sometimes came last under TSan, round 8 closed without it, and
// the fault fired in round 9 (its documented fallback, failing the old exact check in CI). A
// later round is accepted too, while enough rounds remain after it to check.
// lead=0: with pipelined turns the next writer is granted at the stopped writer's expected end
// and the round closes without waiting for its bound at all; what this test proves is that a
// writer who does hold the link for a bound does so once.
TEST_P(CodedWindowsOverTransport, StoppedWriterCostsOneBoundNotEveryLaterRound) {
  constexpr uint64_t kStopRound = 8, kRounds = 16;
  constexpr uint64_t kRoundsAfterStop = 4;
  constexpr uint64_t kWarmupRounds = 5;  // round-robin:warmup=5 below
  const std::string min_window = slow() ? "4000" : "1000", timeout = slow() ? "12" : "3";
  const std::string base = slow() ? "0.025" : "0.002";  // the slow ones' delay: 0.5 s / 40 ms
  const std::string out = dir_ / "stop";
  std::vector<std::string> job = {"--num-workers", "4",  "--workload",   "synthetic",
                                  "--grad-bytes",  "8M", "--part-bytes", "256K"};
  job.insert(job.end(),
             {"--iterations", std::to_string(kRounds), "--coding", "gc-cr:s=1", "--straggler",
              "persistent:workers=0+1+3,factor=20,base=" + base, "--windows",
              "round-robin:warmup=" + std::to_string(kWarmupRounds) + ",min-window=" + min_window +
                  ",lead=0",
              "--timeout", timeout});
  uint16_t port = 0;
  Proc& server = StartServer(job, &port, out);
  ASSERT_NE(port, 0) << "the server never listened";
  std::vector<Proc*> workers;
  for (uint32_t w = 0; w < 4; ++w) {
    std::vector<std::string> flags = job;
    if (w == 2) flags.insert(flags.end(), {"--inject-fault", "stop:" + std::to_string(kStopRound)});
    workers.push_back(&StartWorker(w, port, flags, out));
  }
  // The stopped worker is lost once it does not take the final model within --timeout.
  ASSERT_EQ(server.Wait(milliseconds(slow() ? 600000 : 120000)), std::optional<int>(0))
      << server.err();
  const std::string needle = "SIGSTOP in the middle of the push of round ";
  const std::string log = workers[2]->err();
  const size_t at = log.find(needle);
  ASSERT_NE(at, std::string::npos) << log;
  const uint64_t stopped = std::stoull(log.substr(at + needle.size()));
  ASSERT_GE(stopped, kStopRound) << "the fault fires in round " << kStopRound << " or later";
  ASSERT_LE(stopped + kRoundsAfterStop, kRounds)
      << "worker 2 asks first: it should have pushed (and stopped) in round " << kStopRound
      << " or soon after, leaving rounds to show that none waits for it";
  for (int w : {0, 1, 3}) {
    EXPECT_EQ(workers[w]->Wait(milliseconds(60000)), std::optional<int>(0)) << "worker " << w;
  }
  const std::vector<WindowRec> rows = ReadWindows(out + "/windows-0.csv");
  std::optional<double> bound;
  for (const auto& r : rows) {
    if (r.worker != 2) continue;
    EXPECT_LE(r.iteration, stopped) << "the stopped worker was granted a window later";
    if (r.iteration == stopped && r.how == "revoked") {
      bound = r.bound;
      EXPECT_NEAR(r.end - r.start, r.bound, 0.01);
      EXPECT_GE(r.bound, std::stod(min_window) / 1000);
    }
  }
  ASSERT_TRUE(bound.has_value()) << "the stopped writer's window should end at its bound";
  const Csv rounds = ReadCsv(out + "/rounds-0.csv");
  ASSERT_EQ(rounds.rows.size(), kRounds);
  const int duration = rounds.Column("duration_s");
  ASSERT_GE(duration, 0);
  EXPECT_GE(std::stod(rounds.rows[stopped].at(static_cast<size_t>(duration))), *bound * 0.5)
      << "the stopped writer held its window: round " << stopped << " waited for it";
  // A round that waited for the stale request takes a whole bound more than a round before
  // the stop; one that did not stays within their spread. Measured against those rounds, not
  // against the bound alone: in the soft-RoCE VM under load a normal round took 4.19 s, over
  // the 4 s bound.
  double before_stop = 0;
  for (uint64_t r = kWarmupRounds; r < stopped; ++r) {
    before_stop =
        std::max(before_stop, std::stod(rounds.rows[r].at(static_cast<size_t>(duration))));
  }
  for (uint64_t r = stopped + 1; r < kRounds; ++r) {
    EXPECT_LT(std::stod(rounds.rows[r].at(static_cast<size_t>(duration))),
              before_stop + 0.5 * *bound)
        << "round " << r << " waited for the stopped writer's stale request (rounds before the "
        << "stop took at most " << before_stop << " s, the bound is " << *bound << " s)";
  }
  workers[2]->Signal(SIGKILL);
}

INSTANTIATE_TEST_SUITE_P(Transports, CodedWindowsOverTransport,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

INSTANTIATE_TEST_SUITE_P(Transports, WindowsOverTransport,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

}  // namespace
}  // namespace gw::e2e
