// Coded jobs end to end over each transport: coded training follows the uncoded trajectory,
// a round never waits for the stragglers its code ignores, a worker SIGKILLed mid-run costs
// no iteration under mds, gradient coding and multi-message (but does end an uncoded job), and
// a message holding NaN is left out like a straggler's.
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/e2e_transport.h"

namespace gw::e2e {
namespace {

using CodedOverTransport = TransportE2e;

// Full-batch linear regression (each block's batch is the whole block), 4 workers: every
// scheme computes the exact gradient, so all must reach the same loss. Random delays make
// the survivor sets vary from round to round. Small enough to start in seconds in the
// emulated soft-RoCE VM; the timeout only bounds failures (start-up there is slow).
std::vector<std::string> LinregJob(const std::string& coding, const std::string& iterations,
                                   const std::string& straggler) {
  return {"--num-workers", "4",       "--workload",   "linreg",   "--linreg-rows", "2048",
          "--linreg-dims", "64",      "--batch",      "2048",     "--lr",          "0.5",
          "--momentum",    "0",       "--iterations", iterations, "--coding",      coding,
          "--straggler",   straggler, "--timeout",    "60"};
}

double Sum(const Csv& csv, const std::string& column) {
  const int c = csv.Column(column);
  double s = 0;
  for (const auto& row : csv.rows) s += std::stod(row.at(static_cast<size_t>(c)));
  return s;
}

TEST_P(CodedOverTransport, CodedTrainingReachesTheUncodedLoss) {
  const std::string straggler = "shifted-exp:mu=1,base=0.002";
  auto run = [&](const std::string& coding) -> std::optional<double> {
    const std::string out = dir_ / coding;
    Proc& p = procs_.Start(coding, RunArgs(out, LinregJob(coding, "6", straggler)));
    EXPECT_EQ(p.Wait(milliseconds(300000)), std::optional<int>(0)) << coding;
    const Csv rounds = ReadCsv(out + "/rounds.csv");
    const int rounds_per_iteration = coding.starts_with("mds") ? 2 : 1;
    EXPECT_EQ(rounds.rows.size(), 6u * rounds_per_iteration) << coding;
    if (coding.starts_with("mds") || coding.starts_with("gc-")) {
      // mds:k=3 and gc with s=1 decode from 3 of the 4 workers, never waiting for the 4th.
      EXPECT_EQ(Sum(rounds, "workers_used"), 3.0 * static_cast<double>(rounds.rows.size()))
          << coding;
    }
    return SummaryValue(out + "/summary.csv", "test_loss");
  };
  const auto uncoded = run("uncoded");
  ASSERT_TRUE(uncoded.has_value());
  ASSERT_GT(*uncoded, 1e-3) << "after 6 iterations the loss should still be far from its floor";
  for (const std::string coding :
       {"mds:k=3", "gc-fr:s=1", "gc-cr:s=1", "mm:r=2", "replication:r=2"}) {
    const auto loss = run(coding);
    ASSERT_TRUE(loss.has_value()) << coding;
    EXPECT_NEAR(*loss, *uncoded, 1e-3 * *uncoded) << coding << " left the uncoded trajectory";
  }
}

// Worker 3 is 1000x slower every round: the code must never wait for it. If a round did, this
// job would take minutes; it takes well under a second of rounds.
TEST_P(CodedOverTransport, PersistentStragglerIsNeverWaitedFor) {
  const std::string out = dir_ / "run";
  Proc& p = procs_.Start(
      "run",
      RunArgs(out, LinregJob("mds:k=3", "20", "persistent:workers=3,factor=1000,base=0.002")));
  ASSERT_EQ(p.Wait(milliseconds(300000)), std::optional<int>(0));
  const Csv rounds = ReadCsv(out + "/rounds.csv");
  ASSERT_EQ(rounds.rows.size(), 40u);
  EXPECT_EQ(Sum(rounds, "workers_used"), 3.0 * 40);
  const Csv straggler = ReadCsv(out + "/worker-3.csv");
  ASSERT_FALSE(straggler.rows.empty());
  EXPECT_EQ(Sum(straggler, "messages"), 0.0)
      << "the straggler was told to stop before it ever finished a round";
  EXPECT_LT(Sum(rounds, "duration_s"), 40 * 2.0) << "rounds waited for the 2.7 s straggler";
}

// One worker SIGKILLed mid-run: every update is still made, in the same number of rounds,
// and the survivors finish normally. Uncoded, the same kill ends the job with the reason.
TEST_P(CodedOverTransport, KilledWorkerCostsNoIteration) {
  // Long enough to be killed mid-run (a round takes a few ms, ~20x more in the emulated VM).
  const std::string iterations = rdma() ? "40" : "150";
  for (const std::string coding : {"mds:k=3", "gc-cr:s=1", "mm:r=2", "uncoded"}) {
    SCOPED_TRACE(coding);
    const bool tolerated = coding != "uncoded";
    const std::string out = dir_ / coding;
    const auto job = LinregJob(coding, iterations, "shifted-exp:mu=1,base=0.003");
    Proc* started = nullptr;
    std::vector<Proc*> workers;
    ASSERT_TRUE(StartJob(job, 4, &started, &workers, out));
    Proc& server = *started;
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_FALSE(server.Poll()) << "the job ended before the kill: make it longer";
    kill(workers[1]->pid, SIGKILL);
    const auto code = server.Wait(milliseconds(600000));
    ASSERT_TRUE(code.has_value());
    if (!tolerated) {
      EXPECT_NE(*code, 0);
      EXPECT_GE(CountLines(server.err(), {"worker 1", "cannot"}), 1) << server.err();
      continue;
    }
    EXPECT_EQ(*code, 0) << server.err();
    EXPECT_NE(server.err().find("worker 1 lost"), std::string::npos) << server.err();
    EXPECT_EQ(SummaryValue(out + "/server-0.csv", "updates"), std::stod(iterations));
    EXPECT_EQ(SummaryValue(out + "/server-0.csv", "workers_lost"), std::optional<double>(1));
    const size_t rounds = std::stoul(iterations) * (coding.starts_with("mds") ? 2 : 1);
    EXPECT_EQ(ReadCsv(out + "/rounds-0.csv").rows.size(), rounds);
    for (int w : {0, 2, 3}) {
      EXPECT_EQ(workers[w]->Wait(milliseconds(60000)), std::optional<int>(0)) << "worker " << w;
    }
  }
}

// Worker 1's messages hold NaN from round 5 on. Under replication:r=2 (block 1 on workers 1
// and 3, worker 3 persistently slower, so worker 1's copy always lands first) each is left out
// of its round, named, and the twin decodes it: every update is made and the model stays
// finite. Uncoded cannot decode round 5 without it and ends at once, naming the worker, the
// message and the round. Was: the NaN was decoded into the model, and the job failed later
// on a non-finite model without naming anyone.
TEST_P(CodedOverTransport, NonFiniteMessagesAreLeftOutAndNamed) {
  for (const std::string coding : {"replication:r=2", "uncoded"}) {
    SCOPED_TRACE(coding);
    const std::string out = dir_ / coding;
    const auto job = LinregJob(coding, "20", "persistent:workers=3,factor=50,base=0.002");
    uint16_t port = 0;
    Proc& server = StartServer(job, &port, out);
    ASSERT_NE(port, 0) << "the server never listened";
    for (uint32_t w = 0; w < 4; ++w) {
      auto flags = job;
      if (w == 1) flags.insert(flags.end(), {"--inject-fault", "nan-gradient:5"});
      StartWorker(w, port, flags, out);
    }
    const auto code = server.Wait(milliseconds(300000));
    ASSERT_TRUE(code.has_value()) << "the server still runs";
    const std::string err = server.err();
    if (coding == "uncoded") {
      EXPECT_NE(*code, 0) << err;
      EXPECT_GE(CountLines(err, {"uncoded cannot decode round 5 without worker 1's message 0, "
                                 "which held NaN or Inf"}),
                1)
          << err;
      continue;
    }
    EXPECT_EQ(*code, 0) << err;
    EXPECT_GE(CountLines(err, {"worker 1", "of round 5 held NaN or Inf, left out of the round"}), 1)
        << err;
    const std::string csv = out + "/server-0.csv";
    EXPECT_EQ(SummaryValue(csv, "updates"), std::optional<double>(20)) << err;
    EXPECT_GE(SummaryValue(csv, "rejected_nonfinite").value_or(0), 10) << err;
    const auto loss = SummaryValue(out + "/summary.csv", "test_loss");
    ASSERT_TRUE(loss.has_value());
    EXPECT_TRUE(std::isfinite(*loss)) << "the model took in the NaN";
  }
}

// Two of four workers stop (SIGSTOP: alive to the transport, silent) mid-run: mds:k=3 cannot
// decode from two, the rounds stop, and the server ends the job naming both and the round.
// Was: "every worker is at iteration 0" after many completed rounds, naming nobody useful.
TEST_P(CodedOverTransport, SilentWorkersAreNamedWhenTheRoundsStop) {
  const std::string out = dir_ / "run";
  std::vector<std::string> job = LinregJob("mds:k=3", "100000", "shifted-exp:mu=1,base=0.003");
  // --timeout: the server's no-progress bound, and its deadline for the joins (slow builds
  // start four workers in more than 3 s).
  job.back() = slow() ? "20" : "3";
  Proc* started = nullptr;
  std::vector<Proc*> workers;
  ASSERT_TRUE(StartJob(job, 4, &started, &workers, out));
  Proc& server = *started;
  ASSERT_TRUE(WaitUntil([&] { return ReadCsv(out + "/worker-2.csv").rows.size() >= 5; },
                        milliseconds(120000)));
  kill(workers[1]->pid, SIGSTOP);
  kill(workers[2]->pid, SIGSTOP);
  const auto code = server.Wait(milliseconds(300000));
  kill(workers[1]->pid, SIGCONT);
  kill(workers[2]->pid, SIGCONT);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1) << server.err();
  const std::vector<std::string> lines = Lines(server.err());
  const auto verdict = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("no progress for") != std::string::npos;
  });
  ASSERT_NE(verdict, lines.end()) << server.err();
  EXPECT_NE(verdict->find("worker 1 "), std::string::npos) << *verdict;
  EXPECT_NE(verdict->find("worker 2 "), std::string::npos) << *verdict;
  EXPECT_NE(verdict->find("round "), std::string::npos) << *verdict;
  EXPECT_EQ(verdict->find("worker 0 "), std::string::npos)
      << "worker 0 is not behind: " << *verdict;
  EXPECT_EQ(verdict->find("iteration 0"), std::string::npos) << *verdict;
  // What the job did before it stopped is kept: its rounds, and the server's partial row.
  EXPECT_GE(ReadCsv(out + "/rounds-0.csv").rows.size(), 5u);
  EXPECT_EQ(SummaryCell(out + "/server-0.csv", "partial"), "1");
}

INSTANTIATE_TEST_SUITE_P(Transports, CodedOverTransport,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

}  // namespace
}  // namespace gw::e2e
