// `gradwire sim`: the job of `gradwire run` on a simulated fabric, with the same servers and
// workers (ps/) as SimGrid actors. Deterministic (the same flags give byte-identical results),
// timed by the fabric, and it refuses a fabric that cannot hold the job in one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace gw::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr milliseconds kSimTimeout{120000};

// Runs `gradwire sim` with args into out; its exit code (the test fails if it hangs).
int Sim(Processes& procs, const std::string& out, std::vector<std::string> args,
        Proc** proc = nullptr) {
  args.insert(args.begin(), {"sim", "--out", out});
  Proc& p = procs.Start("sim", args);
  const auto code = p.Wait(kSimTimeout);
  EXPECT_TRUE(code) << p.Describe();
  if (proc != nullptr) *proc = &p;
  return code.value_or(-1);
}

const std::vector<std::string> kSmallJob = {"--num-workers", "4",  "--workload",   "synthetic",
                                            "--grad-bytes",  "1M", "--iterations", "6"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Two servers, each with its ring of turns: each streams its own windows-<s>.csv (into one
// windows.csv they tore each other's rows), merged into windows.csv with a server column.
TEST(SimCli, TheSameJobTwiceGivesByteIdenticalResults) {
  TempDir dir;
  Processes procs(dir.path());
  const auto job = With(kSmallJob, {"--sync", "r2sp", "--num-servers", "2"});
  Proc* p = nullptr;
  ASSERT_EQ(Sim(procs, dir / "a", job, &p), 0) << p->Describe();
  ASSERT_EQ(Sim(procs, dir / "b", job), 0);
  for (const char* f : {"iterations.csv", "server-0.csv", "server-1.csv", "windows.csv",
                        "worker-0.csv", "worker-3.csv", "summary.csv"}) {
    const std::string a = ReadFile(dir / "a/" + f);
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_EQ(a, ReadFile(dir / "b/" + f)) << f << " differs between two runs of one job";
  }
  EXPECT_EQ(SummaryCell(dir / "a/summary.csv", "partial"), "0");
  EXPECT_THAT(ReadFile(dir / "a/command.txt"), HasSubstr("gradwire sim"));

  const Csv windows = ReadCsv(dir / "a/windows.csv");
  const int server = windows.Column("server");
  ASSERT_EQ(server, 0) << "windows.csv leads with the server's rank";
  size_t rows_of[2] = {0, 0};
  for (const auto& row : windows.rows) {
    ASSERT_EQ(row.size(), windows.header.size()) << "a torn row";
    ASSERT_TRUE(row[0] == "0" || row[0] == "1") << row[0];
    ++rows_of[row[0] == "1"];
  }
  for (int s = 0; s < 2; ++s) {
    // Every push of the server's part went in a window of its own ring.
    EXPECT_EQ(rows_of[s], ReadCsv(dir / ("a/windows-" + std::to_string(s) + ".csv")).rows.size());
    EXPECT_GE(rows_of[s], 4u * 6u) << "server " << s;
  }
}

// Four workers push 1 MiB each through the server's one 1 Gbit/s link: an iteration takes at
// least the pushes' and the pulls' wire time, 2 x 4 x 1 MiB at 1 Gbit/s; at 100 Mbit/s ten
// times that. The simulated clock, not the machine, sets the pace.
TEST(SimCli, AnIterationTakesTheFabricsWireTime) {
  TempDir dir;
  Processes procs(dir.path());
  ASSERT_EQ(Sim(procs, dir / "fast", kSmallJob), 0);
  ASSERT_EQ(Sim(procs, dir / "slow", With(kSmallJob, {"--topology", "star:rate=100Mbps"})), 0);
  const double wire = 2 * 4 * (1 << 20) * 8 / 1e9;
  const auto per_it = [&](const std::string& run) {
    return *SummaryValue(dir / (run + "/summary.csv"), "train_s") /
           *SummaryValue(dir / (run + "/summary.csv"), "iterations_done");
  };
  EXPECT_GT(per_it("fast"), wire);
  EXPECT_LT(per_it("fast"), 1.5 * wire);
  EXPECT_GT(per_it("slow"), 9 * per_it("fast"));
  EXPECT_LT(per_it("slow"), 11 * per_it("fast"));
}

// A slow worker's own link (100 Mbit/s of a 1 Gbit/s star) sets its pushes' pace: its writes
// take several times a fast worker's, which share the server's link four ways.
TEST(SimCli, ASlowWorkersLinkSetsItsPushesPace) {
  TempDir dir;
  Processes procs(dir.path());
  ASSERT_EQ(Sim(procs, dir / "run",
                With(kSmallJob, {"--sync", "asp", "--topology", "star:slow=1,slow_rate=100Mbps"})),
            0);
  const auto write_s = [&](int w) {
    const Csv csv = ReadCsv(dir / ("run/worker-" + std::to_string(w) + ".csv"));
    const int col = csv.Column("write_s");
    double sum = 0;
    for (const auto& row : csv.rows) sum += std::stod(row.at(col));
    return sum / csv.rows.size();
  };
  EXPECT_GT(write_s(1), 3 * write_s(0));
  EXPECT_GT(write_s(1), (1 << 20) * 8 / 1e8) << "at least the slow link's wire time";
}

TEST(SimCli, AFabricThatCannotHoldTheJobIsRefusedInOneLine) {
  TempDir dir;
  Processes procs(dir.path());
  for (const auto& [topology, says] : std::vector<std::pair<std::string, std::string>>{
           {"ring", "unknown topology 'ring'"},
           {"tree:racks=3", "does not divide the 4 workers"},
           {"tree:racks=8", "more racks than the 4 workers"},
           {"star:rate=fast", "rate=fast"},
           {"tree", "needs racks"},
           {"star:slow=4,slow_rate=1Mbps", "slow worker 4 is not one of the 4 workers"}}) {
    Proc* p = nullptr;
    EXPECT_EQ(Sim(procs, dir / "bad", With(kSmallJob, {"--topology", topology}), &p), 2)
        << topology;
    EXPECT_THAT(p->err(), HasSubstr(says)) << topology;
    EXPECT_EQ(Lines(p->err()).size(), 1u) << p->err();
  }
}

// A worker that stops at iteration 3 under BSP: the server gives up on it as a real one does,
// the run ends with exit 1 and says who failed, and what was measured is kept (partial=1).
TEST(SimCli, AJobThatCannotGoOnFailsAsARealOneDoesAndKeepsWhatItMeasured) {
  TempDir dir;
  Processes procs(dir.path());
  Proc* p = nullptr;
  EXPECT_EQ(Sim(procs, dir / "run",
                With(kSmallJob, {"--straggler", "fail-stop:worker=1,at=3", "--timeout", "5"}), &p),
            1);
  EXPECT_THAT(p->err(), HasSubstr("worker 1 lost at iteration 3"));
  EXPECT_THAT(p->err(), HasSubstr("the simulated job failed"));
  EXPECT_EQ(SummaryCell(dir / "run/summary.csv", "partial"), "1");
  EXPECT_EQ(ReadCsv(dir / "run/worker-0.csv").rows.size(), 3u);
}

// A worker that stays silent (a persistent straggler 1000x slow): the server gives up after
// --timeout of simulated time without progress, with a real job's message, and the run fails.
// The line says when: 1 s of compute plus the 5 s timeout.
TEST(SimCli, ASilentWorkerEndsTheJobAtTheTimeoutInSimulatedTime) {
  TempDir dir;
  Processes procs(dir.path());
  Proc* p = nullptr;
  EXPECT_EQ(
      Sim(procs, dir / "run",
          With(kSmallJob, {"--straggler", "persistent:workers=1,factor=1000", "--timeout", "5"}),
          &p),
      1);
  const std::string err = p->err();
  const std::string says = " sim server 0] error: no progress for 5000 ms: worker 1";
  const size_t at = err.find(says);
  ASSERT_NE(at, std::string::npos) << err;
  const size_t open = err.rfind('[', at);
  ASSERT_NE(open, std::string::npos);
  const double when = std::stod(err.substr(open + 1, at - open - 1));
  EXPECT_GE(when, 6.0);
  EXPECT_LT(when, 6.5);
}

// Phantom payloads carry sizes without bytes: the same job takes the same simulated time
// with them as with its bytes, to the nanosecond, whatever path its server takes (one update
// per barrier, per-worker updates from snapshots under ASP, per-part updates of a layered
// model in priority order).
TEST(SimCli, PhantomPayloadsTakeTheTimeOfTheSameJobWithItsBytes) {
  TempDir dir;
  Processes procs(dir.path());
  const std::vector<std::vector<std::string>> jobs = {
      kSmallJob,
      With(kSmallJob, {"--sync", "asp"}),
      {"--num-workers", "2", "--workload", "model:resnet18", "--iterations", "3", "--push-order",
       "priority", "--part-bytes", "1M"}};
  for (size_t j = 0; j < jobs.size(); ++j) {
    const std::string real = dir / ("real-" + std::to_string(j));
    const std::string phantom = dir / ("phantom-" + std::to_string(j));
    Proc* p = nullptr;
    ASSERT_EQ(Sim(procs, real, jobs[j], &p), 0) << p->Describe();
    ASSERT_EQ(Sim(procs, phantom, With(jobs[j], {"--phantom-payloads"}), &p), 0) << p->Describe();
    for (const char* f : {"iterations.csv", "server-0.csv", "worker-0.csv", "worker-1.csv"}) {
      const std::string a = ReadFile(real + "/" + f);
      EXPECT_FALSE(a.empty()) << f;
      EXPECT_EQ(a, ReadFile(phantom + "/" + f)) << "job " << j << ": " << f;
    }
  }
}

// The server's arithmetic takes simulated time at --aggregate-rate: at 1 MB/s a BSP barrier of
// four 1 MiB gradients costs four passes to sum and one to step, 5 x 1 MiB / 1 MB/s = 5.24 s
// per iteration more than free arithmetic.
TEST(SimCli, TheServersArithmeticTakesSimulatedTimeAtTheAggregationRate) {
  TempDir dir;
  Processes procs(dir.path());
  ASSERT_EQ(Sim(procs, dir / "free", With(kSmallJob, {"--aggregate-rate", "0"})), 0);
  ASSERT_EQ(Sim(procs, dir / "slow", With(kSmallJob, {"--aggregate-rate", "0.001"})), 0);
  const auto per_it = [&](const std::string& run) {
    return *SummaryValue(dir / (run + "/summary.csv"), "train_s") /
           *SummaryValue(dir / (run + "/summary.csv"), "iterations_done");
  };
  const double charged = 5.0 * (1 << 20) / 1e6;
  EXPECT_NEAR(per_it("slow") - per_it("free"), charged, 0.02 * charged);
}

TEST(SimCli, PhantomPayloadsRefuseAJobThatComputesOnRealValues) {
  TempDir dir;
  Processes procs(dir.path());
  for (const auto& [job, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--num-workers", "2", "--workload", "softmax"}, "--workload softmax computes on real"},
           {{"--num-workers", "4", "--workload", "synthetic", "--coding", "replication:r=2"},
            "--coding replication:r=2 decodes real values"},
           {With(kSmallJob, {"--aggregate-rate", "-1"}), "--aggregate-rate must be"}}) {
    Proc* p = nullptr;
    std::vector<std::string> args = job;
    if (says.find("aggregate") == std::string::npos) args.push_back("--phantom-payloads");
    EXPECT_EQ(Sim(procs, dir / "bad", args, &p), 2) << says;
    EXPECT_THAT(p->err(), HasSubstr(says));
    EXPECT_EQ(Lines(p->err()).size(), 1u) << p->err();
  }
}

// Twelve workers stalled together: the no-progress line names eight and counts the rest, and
// the errors the workers end with are printed a few times each, not once per worker.
TEST(SimCli, ManyStalledWorkersDoNotFloodTheLog) {
  TempDir dir;
  Processes procs(dir.path());
  std::string all = "0";
  for (int w = 1; w < 12; ++w) all += "+" + std::to_string(w);
  Proc* p = nullptr;
  EXPECT_EQ(
      Sim(procs, dir / "run",
          {"--num-workers", "12", "--workload", "synthetic", "--grad-bytes", "64K", "--iterations",
           "3", "--timeout", "5", "--straggler", "persistent:workers=" + all + ",factor=1000"},
          &p),
      1);
  const std::string err = p->err();
  EXPECT_THAT(err, HasSubstr("worker 7 is at iteration 0; and 4 more;"));
  EXPECT_THAT(err, Not(HasSubstr("worker 8 is at iteration")));
  EXPECT_THAT(err, HasSubstr("more processes ended with an error shown above"));
  size_t error_lines = 0;
  for (const std::string& line : Lines(err))
    error_lines += line.find("error:") != std::string::npos;
  // The server's log line and its end, three workers' ends, the job's verdict.
  EXPECT_LE(error_lines, 6u) << err;
}

TEST(SimCli, HelpNamesTheTopologies) {
  TempDir dir;
  Processes procs(dir.path());
  Proc& p = procs.Start("help", {"sim", "--help"});
  ASSERT_EQ(p.Wait(kSimTimeout), 0);
  EXPECT_THAT(p.out(), HasSubstr("--topology"));
  EXPECT_THAT(p.out(), HasSubstr("tree:racks=K"));
}

// The simulation is gradwire-sim, built beside gradwire (only it loads SimGrid), which
// `gradwire sim` runs in its place (every case above goes through it). A gradwire copied
// without it fails saying where it looked and what to do, not with a loader's message.
TEST(SimCli, ACopiedGradwireWithoutItsSimulationSaysWhereItLooked) {
  TempDir dir;
  const std::string copy = dir / "gradwire";
  std::filesystem::copy_file(Binary(), copy);
  const std::string err = dir / "err";
  const int status = std::system((copy + " sim --num-workers 2 2>" + err).c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_THAT(ReadFile(err), HasSubstr("cannot start " + (dir / "gradwire-sim")));
  EXPECT_THAT(ReadFile(err), HasSubstr("copied too"));
}

}  // namespace
}  // namespace gw::e2e
