// A worker SIGKILLed before, during and after its write, or stalled past the timeout, under
// every sync rule, over both transports. The kill is the worker's own (--inject-fault), at an exact
// point of one push:
//   - BSP reports the lost worker and ends the job, or with --continue-without-lost-workers
//     goes on without it;
//   - ASP, SSP and R2SP go on with the others;
// and in every case the server stays up until it decides, counts only whole pushes, and
// applies no partial gradient. And workers late to join (LateWorker): start-up has its own
// --join-timeout.
#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

#include "tests/e2e_transport.h"

namespace gw::e2e {
namespace {

using std::chrono::milliseconds;

enum class Point { kBefore, kMid, kAfter };

struct Rule {
  std::string name;                // test name part
  std::vector<std::string> flags;  // --sync ...
  bool ends_job;                   // BSP without --continue-without-lost-workers
  // A layered model (a trace of 4 layers, the same 1 MiB): BSP updates and releases it part
  // by part, so the victim's parts that landed before it died were counted for parts that
  // may or may not have been applied yet.
  bool layered = false;
};

const Rule kRules[] = {
    {"bsp", {"--sync", "bsp"}, true},
    {"bsp_continue", {"--sync", "bsp", "--continue-without-lost-workers"}, false},
    {"asp", {"--sync", "asp"}, false},
    {"ssp", {"--sync", "ssp:2"}, false},
    {"r2sp", {"--sync", "r2sp", "--windows", "round-robin:warmup=5,min-window=20"}, false},
    {"bsp_continue_layered", {"--sync", "bsp", "--continue-without-lost-workers"}, false, true},
};

const char* Name(Point p) {
  return p == Point::kBefore ? "kill-before-push"
         : p == Point::kMid  ? "kill-mid-push"
                             : "kill-after-push";
}

class KilledWorker : public TransportE2e {
 protected:
  static constexpr uint32_t kWorkers = 4, kVictim = 2;
  static constexpr uint64_t kIterations = 30, kInjectedFault = 10;

  // One job per kill point, the victim dying at iteration kInjectedFault of kIterations. 1 MiB
  // pushes in 16 parts: "kill-mid-push" has writes done and writes to go. Under emulation (the
  // soft-RoCE VM moves ~20 MB/s) a quarter of the bytes in as many parts: the same writes.
  void RunAllPoints(const Rule& rule, std::initializer_list<Point> points = {
                                          Point::kBefore, Point::kMid, Point::kAfter}) {
    for (Point p : points) {
      SCOPED_TRACE(rule.name + ", worker " + std::to_string(kVictim) + " killed " + Name(p));
      RunOne(rule, p);
      if (HasFatalFailure()) return;
    }
  }

  void RunOne(const Rule& rule, Point p) {
    const std::string out = dir_ / (rule.name + "-" + Name(p));
    std::vector<std::string> job = {
        "--num-workers", std::to_string(kWorkers),    "--workload",   "synthetic",
        "--grad-bytes",  slow() ? "256K" : "1M",      "--part-bytes", slow() ? "16K" : "64K",
        "--iterations",  std::to_string(kIterations), "--timeout",    "20"};
    if (rule.layered) {
      const std::string trace = dir_ / "trace.csv";
      std::ofstream(trace) << "layer,params,forward_ms,backward_ms\n"
                              "conv,65536,1,2\nbn,64,0,0\nconv2,131072,1,2\nfc,65472,1,2\n";
      job[3] = "trace:" + trace;
      job.erase(job.begin() + 4, job.begin() + 6);  // --grad-bytes: the trace sizes the model
    }
    job.insert(job.end(), rule.flags.begin(), rule.flags.end());
    uint16_t port = 0;
    Proc& server = StartServer(job, &port, out);
    ASSERT_NE(port, 0) << "the server never listened";
    std::vector<Proc*> workers;
    for (uint32_t w = 0; w < kWorkers; ++w) {
      std::vector<std::string> args = job;
      if (w == kVictim) {
        args.insert(args.end(), {"--inject-fault",
                                 std::string(Name(p)) + ":" + std::to_string(kInjectedFault)});
      }
      workers.push_back(&StartWorker(w, port, args, out));
    }
    const milliseconds bound(slow() ? 600000 : 60000);
    const auto code = server.Wait(bound);
    ASSERT_TRUE(code.has_value()) << "the server hung after the kill";
    ASSERT_EQ(workers[kVictim]->Wait(bound), std::optional<int>(128 + SIGKILL))
        << "the victim did not die by its --inject-fault:\n"
        << workers[kVictim]->err();
    EXPECT_EQ(CountLines(workers[kVictim]->err(), {"--inject-fault: SIGKILL"}), 1);
    const std::string err = server.err();
    EXPECT_GE(CountLines(err, {"worker " + std::to_string(kVictim) + " lost"}), 1) << err;
    for (uint32_t w = 0; w < kWorkers; ++w) {
      if (w != kVictim) {
        EXPECT_EQ(CountLines(err, {"worker " + std::to_string(w) + " lost"}), 0)
            << "a live worker was blamed:\n"
            << err;
      }
    }

    if (rule.ends_job) {
      // BSP: the job ends, saying which worker and how to go on without it.
      EXPECT_NE(*code, 0);
      EXPECT_GE(CountLines(err, {"worker " + std::to_string(kVictim), "lost",
                                 "--continue-without-lost-workers"}),
                1)
          << err;
      for (uint32_t w = 0; w < kWorkers; ++w) {
        if (w != kVictim) {
          EXPECT_TRUE(workers[w]->Wait(bound).has_value()) << "worker " << w;
        }
      }
      return;
    }

    // Every other rule: the job finishes without the victim.
    ASSERT_EQ(*code, 0) << err;
    uint64_t survivors = 0;
    for (uint32_t w = 0; w < kWorkers; ++w) {
      if (w == kVictim) continue;
      ASSERT_EQ(workers[w]->Wait(bound), std::optional<int>(0)) << "worker " << w << ":\n"
                                                                << workers[w]->err();
      const size_t rows = ReadCsv(out + "/worker-" + std::to_string(w) + ".csv").rows.size();
      EXPECT_EQ(rows, kIterations) << "worker " << w;
      survivors += rows;
    }
    // Whole pushes only: the victim's first kInjectedFault pushes, plus the one it was killed in
    // once that one was complete (after: always; mid: if the kernel already held the rest).
    const std::string summary = out + "/server-0.csv";
    const auto received = SummaryValue(summary, "pushes_received");
    ASSERT_TRUE(received.has_value()) << ReadFile(summary);
    const double victim = *received - static_cast<double>(survivors);
    if (p == Point::kBefore) {
      EXPECT_EQ(victim, kInjectedFault);
    } else if (p == Point::kMid) {
      EXPECT_TRUE(victim == kInjectedFault || victim == kInjectedFault + 1) << victim;
    } else {
      EXPECT_EQ(victim, kInjectedFault + 1);
    }
    EXPECT_EQ(SummaryValue(summary, "workers_lost"), std::optional<double>(1));
    // Nothing partial was applied, and nothing whole was lost: ASP, SSP and R2SP apply every
    // whole push; BSP-without-it applies at most every whole push (the victim's last one may
    // have come in a round that closed without it).
    const auto applied = SummaryValue(summary, "gradients_applied");
    ASSERT_TRUE(applied.has_value());
    if (rule.name.starts_with("bsp_continue")) {
      EXPECT_LE(*applied, *received);
      EXPECT_GE(*applied, *received - 1);
      EXPECT_EQ(SummaryValue(summary, "updates"), std::optional<double>(kIterations));
    } else {
      EXPECT_EQ(*applied, *received);
    }
  }
};

TEST_P(KilledWorker, UnderBspTheJobEndsNamingIt) { RunAllPoints(kRules[0]); }

// A worker stopped (SIGSTOP: alive to TCP and RDMA, silent to us) for longer than --timeout,
// under every rule that can go on without it: it is lost by name and the others finish.
class StalledWorker : public TransportE2e {
 protected:
  // Starts the server and n workers of job; the victim gets --inject-fault fault. Returns once
  // the victim has stopped itself.
  void StartWithVictim(const std::vector<std::string>& job, uint32_t n, uint32_t victim,
                       const std::string& fault, Proc** server, std::vector<Proc*>* workers) {
    uint16_t port = 0;
    *server = &StartServer(job, &port);
    ASSERT_NE(port, 0) << "the server never listened";
    for (uint32_t w = 0; w < n; ++w) {
      std::vector<std::string> args = job;
      if (w == victim) args.insert(args.end(), {"--inject-fault", fault});
      workers->push_back(&StartWorker(w, port, args));
    }
    Proc* v = (*workers)[victim];
    ASSERT_TRUE(WaitUntil([&] { return v->err().find("SIGSTOP") != std::string::npos; },
                          milliseconds(slow() ? 600000 : 60000)))
        << "the victim never stopped:\n"
        << v->err();
  }

  void Run(const Rule& rule) {
    constexpr uint32_t kWorkers = 3, kVictim = 1;
    // Under emulation fewer iterations and a quarter of the bytes in as many parts (the
    // soft-RoCE VM moves ~20 MB/s): the victim still stops mid-job, long before the others end.
    const std::string iterations = slow() ? "100" : "300";
    std::vector<std::string> job = {"--num-workers", std::to_string(kWorkers),
                                    "--workload",    "synthetic",
                                    "--grad-bytes",  slow() ? "256K" : "1M",
                                    "--part-bytes",  slow() ? "64K" : "256K",
                                    "--iterations",  iterations,
                                    "--timeout",     slow() ? "20" : "3"};
    job.insert(job.end(), rule.flags.begin(), rule.flags.end());
    // The victim stops itself at iteration 20 (any moment would do; this one is exact).
    Proc* server = nullptr;
    std::vector<Proc*> workers;
    StartWithVictim(job, kWorkers, kVictim, "stop:20", &server, &workers);
    if (HasFatalFailure()) return;
    const auto code = server->Wait(milliseconds(slow() ? 900000 : 120000));
    workers[kVictim]->Signal(SIGCONT);
    ASSERT_EQ(code, std::optional<int>(0)) << server->err();
    EXPECT_GE(CountLines(server->err(), {"worker 1 lost", "silent"}) +
                  CountLines(server->err(), {"worker 1 lost", "did not take the final model"}),
              1)
        << server->err();
    EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(1));
    for (uint32_t w = 0; w < kWorkers; ++w) {
      if (w == kVictim) continue;
      ASSERT_EQ(workers[w]->Wait(milliseconds(60000)), std::optional<int>(0)) << workers[w]->err();
      EXPECT_EQ(ReadCsv(dir_ / ("worker-" + std::to_string(w) + ".csv")).rows.size(),
                std::stoul(iterations));
    }
  }
};

// Under ASP each worker is released on its own while others' parameters may still be on the
// wire. A worker that stops reading in the middle of its parameters (32 MiB cannot all fit in
// loopback TCP's socket buffers) must not hold back the others' updates: they finish every
// iteration while it is stopped and long before the timeout, and it finishes too once resumed.
// Over RDMA the server's writes land in the stopped worker's memory whatever their size, but
// each part's notice needs a receive the worker posts: 32 parts of 256 KiB there (the VM moves
// ~20 MB/s), as many notices as over TCP.
TEST_P(StalledWorker, UnderAspAWorkerNotTakingItsParametersHoldsNobodyBack) {
  constexpr uint32_t kWorkers = 3, kVictim = 1;
  const std::string iterations = slow() ? "12" : "40";
  const std::vector<std::string> job = {"--num-workers", std::to_string(kWorkers),
                                        "--workload",    "synthetic",
                                        "--grad-bytes",  rdma() ? "8M" : "32M",
                                        "--part-bytes",  rdma() ? "256K" : "1M",
                                        "--iterations",  iterations,
                                        "--timeout",     slow() ? "1200" : "300",
                                        "--sync",        "asp"};
  Proc* server = nullptr;
  std::vector<Proc*> workers;
  StartWithVictim(job, kWorkers, kVictim, "stop-mid-pull:3", &server, &workers);
  if (HasFatalFailure()) return;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    if (w == kVictim) continue;
    const auto code = workers[w]->Wait(milliseconds(slow() ? 900000 : 120000));
    if (code != std::optional<int>(0)) workers[kVictim]->Signal(SIGCONT);
    ASSERT_EQ(code, std::optional<int>(0))
        << "worker " << w << " did not finish while worker " << kVictim << " was stopped:\n"
        << workers[w]->err() << "\nserver:\n"
        << server->err();
    EXPECT_EQ(ReadCsv(dir_ / ("worker-" + std::to_string(w) + ".csv")).rows.size(),
              std::stoul(iterations));
  }
  EXPECT_EQ(CountLines(server->err(), {"lost"}), 0) << server->err();
  workers[kVictim]->Signal(SIGCONT);
  ASSERT_EQ(workers[kVictim]->Wait(milliseconds(slow() ? 900000 : 120000)), std::optional<int>(0))
      << workers[kVictim]->err();
  ASSERT_EQ(server->Wait(milliseconds(60000)), std::optional<int>(0)) << server->err();
  EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(0));
}

TEST_P(StalledWorker, UnderBspWithContinueIsLostAndTheOthersFinish) { Run(kRules[1]); }
TEST_P(StalledWorker, UnderAspIsLostAndTheOthersFinish) { Run(kRules[2]); }
TEST_P(StalledWorker, UnderSspIsLostAndTheOthersFinish) { Run(kRules[3]); }
TEST_P(StalledWorker, UnderR2spIsLostAndTheRingGoesOn) { Run(kRules[4]); }

INSTANTIATE_TEST_SUITE_P(Transports, StalledWorker,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

TEST_P(KilledWorker, UnderBspWithContinueTheOthersFinish) { RunAllPoints(kRules[1]); }
TEST_P(KilledWorker, UnderAspTheOthersFinish) { RunAllPoints(kRules[2]); }
TEST_P(KilledWorker, UnderSspTheOthersFinish) { RunAllPoints(kRules[3]); }
TEST_P(KilledWorker, UnderR2spTheRingGoesOn) { RunAllPoints(kRules[4]); }
// Killed with some of its parts landed: they stop counting for the parts not applied yet, the
// others' parts complete without it, and every barrier still ends in one update.
TEST_P(KilledWorker, UnderBspWithContinueALayeredModelGoesOnPartByPart) {
  RunAllPoints(kRules[5], {Point::kMid});
}

INSTANTIATE_TEST_SUITE_P(Transports, KilledWorker,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

// Start-up: workers load their data before they join, which can take far longer than a
// training step's silence. The servers wait --join-timeout for the next join and --timeout
// only once the job runs; a worker that never joins is named after the join timeout, and
// under a rule that can go on without a worker the others train without it.
class LateWorker : public TransportE2e {
 protected:
  // --timeout 1 s: the job must not care that start-up is longer than that.
  std::vector<std::string> Job(const std::string& sync, uint32_t workers,
                               const std::string& join_timeout) const {
    return {"--num-workers",  std::to_string(workers),
            "--workload",     "synthetic",
            "--grad-bytes",   "64K",
            "--iterations",   "20",
            "--sync",         sync,
            "--timeout",      "1",
            "--join-timeout", join_timeout};
  }
  // A join timeout short enough to wait out, long enough for a slow build to start a worker.
  static double ShortJoinSeconds() { return slow() ? 20 : 3; }
  bool WaitJoined(Proc& server, uint32_t w) const {
    const std::string needle = "worker " + std::to_string(w) + " joined";
    return WaitUntil([&] { return server.err().find(needle) != std::string::npos; },
                     milliseconds(slow() ? 300000 : 30000));
  }
};

TEST_P(LateWorker, OneJoiningAfterTheSilenceTimeoutButWithinTheJoinTimeoutStartsTheJob) {
  const auto job = Job("bsp", 2, slow() ? "300" : "60");
  uint16_t port = 0;
  Proc& server = StartServer(job, &port);
  ASSERT_NE(port, 0);
  Proc& early = StartWorker(0, port, job);
  ASSERT_TRUE(WaitJoined(server, 0));
  // Longer than the server's --timeout and the early worker's old bound (twice it).
  std::this_thread::sleep_for(milliseconds(3000));
  Proc& late = StartWorker(1, port, job);
  for (Proc* p : {&server, &early, &late}) {
    EXPECT_EQ(p->Wait(milliseconds(slow() ? 600000 : 60000)), std::optional<int>(0)) << p->err();
  }
  EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(0));
  EXPECT_EQ(ReadCsv(dir_ / "worker-1.csv").rows.size(), 20u);
}

// BSP cannot go on without a worker: the job ends after the join timeout (not the silence
// timeout) naming the one that never joined, and the joined worker ends with the reason.
TEST_P(LateWorker, UnderBspOneThatNeverJoinsEndsTheJobNamingItAfterTheJoinTimeout) {
  const double join_s = ShortJoinSeconds();
  const auto job = Job("bsp", 2, std::to_string(join_s));
  uint16_t port = 0;
  Proc& server = StartServer(job, &port);
  ASSERT_NE(port, 0);
  Proc& joined = StartWorker(0, port, job);
  ASSERT_TRUE(WaitJoined(server, 0));
  const auto joined_at = Clock::now();
  ASSERT_NE(server.Wait(milliseconds(slow() ? 600000 : 60000)), std::optional<int>(0));
  EXPECT_GE(Seconds(server.ended - joined_at), join_s - 0.5) << "gave up before --join-timeout";
  EXPECT_GE(CountLines(server.err(), {"worker 1 never joined"}), 1) << server.err();
  EXPECT_GE(CountLines(server.err(), {"--join-timeout"}), 1) << server.err();
  EXPECT_NE(joined.Wait(milliseconds(30000)), std::optional<int>(0));
  EXPECT_NE(joined.err().find("never joined"), std::string::npos) << joined.err();
}

// ASP goes on without a lost worker, also one that never joined: the joined ones are waiting
// for it, not holding anyone back, and train once it is given up.
TEST_P(LateWorker, UnderAspOneThatNeverJoinsIsGivenUpAndTheOthersTrain) {
  const auto job = Job("asp", 3, std::to_string(ShortJoinSeconds()));
  uint16_t port = 0;
  Proc& server = StartServer(job, &port);
  ASSERT_NE(port, 0);
  std::vector<Proc*> workers = {&StartWorker(0, port, job), &StartWorker(1, port, job)};
  ASSERT_EQ(server.Wait(milliseconds(slow() ? 600000 : 60000)), std::optional<int>(0))
      << server.err();
  EXPECT_GE(CountLines(server.err(), {"worker 2 lost", "never joined"}), 1) << server.err();
  EXPECT_EQ(
      CountLines(server.err(), {"worker 0 lost"}) + CountLines(server.err(), {"worker 1 lost"}), 0)
      << server.err();
  EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(1));
  for (uint32_t w = 0; w < 2; ++w) {
    ASSERT_EQ(workers[w]->Wait(milliseconds(30000)), std::optional<int>(0)) << workers[w]->err();
    EXPECT_EQ(ReadCsv(dir_ / ("worker-" + std::to_string(w) + ".csv")).rows.size(), 20u);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, LateWorker,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

}  // namespace
}  // namespace gw::e2e
