// What `gradwire run` keeps (issue 20): every process streams its rows as iterations finish, so
// a run that fails, or a process killed mid-run, leaves what was measured up to then, and the
// summary of a run that did not end as it should says partial=1. A job that goes on without a
// dead worker (ASP, coded rounds) is not cut short by run, and ends with exit 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "apps/gradwire/run_results.h"
#include "e2e_util.h"

namespace gw::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The worker process of `rank` among run's children, by its command line.
std::optional<pid_t> WorkerOf(pid_t run, int rank) {
  for (pid_t child : ChildrenOf(run)) {
    const std::string cmdline = CommandLineOf(child);
    if (cmdline.find(" worker ") != std::string::npos &&
        cmdline.find("--rank=" + std::to_string(rank) + " ") != std::string::npos) {
      return child;
    }
  }
  return std::nullopt;
}

// Rows of a CSV whose every cell is there (a row cut short by a kill would not be).
size_t WholeRows(const std::string& path) {
  const Csv csv = ReadCsv(path);
  size_t n = 0;
  for (const auto& row : csv.rows) n += row.size() == csv.header.size();
  EXPECT_EQ(n, csv.rows.size()) << path << " has a row cut short";
  return n;
}

// The iteration cells of a worker's CSV, in file order.
std::vector<long> Iterations(const std::string& path) {
  const Csv csv = ReadCsv(path);
  const int col = csv.Column("iteration");
  std::vector<long> out;
  if (col < 0) return out;
  for (const auto& row : csv.rows) out.push_back(std::stol(row[static_cast<size_t>(col)]));
  return out;
}

// The servers' own windows files merge into windows.csv in rank order, each row led by its
// server; a server killed mid-row leaves a torn last row, which the merge leaves out. A job
// without windows gets no windows.csv.
TEST(RunResultsTest, TheServersWindowsMergeWithTheirRankAndWithoutATornRow) {
  TempDir dir;
  auto write = [](const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  };
  write(dir / "windows-0.csv", "worker,iteration,end\n0,0,landed\n1,0,landed\n2,0,lan");
  write(dir / "windows-1.csv", "worker,iteration,end\n3,0,landed\n");
  cli::MergeServerCsvs(dir.path(), 3);  // server 2 wrote nothing
  EXPECT_EQ(ReadFile(dir / "windows.csv"),
            "server,worker,iteration,end\n0,0,0,landed\n0,1,0,landed\n1,3,0,landed\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "rounds.csv"));
}

// Was: a fail-stop straggler under BSP left command.txt, an empty iterations.csv and a port
// file; the last line still listed iterations.csv, summary.csv and server-*.csv.
TEST(RunResultsTest, AFailedRunKeepsEveryCompletedIterationAndSaysItIsPartial) {
  TempDir dir;
  Processes procs(dir.path());
  const std::string out = dir / "out";
  Proc& run =
      procs.Start("run", {"run", "--num-workers", "2", "--workload", "synthetic", "--grad-bytes",
                          "64K", "--iterations", "200", "--straggler",
                          "fail-stop:worker=1,at=5,base=0.01", "--timeout", "20", "--out", out});
  const auto code = run.Wait(milliseconds(120000));
  ASSERT_TRUE(code.has_value()) << procs.DescribeAll();
  EXPECT_EQ(*code, 1) << procs.DescribeAll();
  // Iterations 0-4 of both workers: update 5 needed worker 1's fifth push, which never came.
  EXPECT_EQ(Iterations(out + "/worker-0.csv"), (std::vector<long>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Iterations(out + "/worker-1.csv"), (std::vector<long>{0, 1, 2, 3, 4}));
  EXPECT_EQ(WholeRows(out + "/iterations.csv"), 10u);
  EXPECT_EQ(SummaryCell(out + "/summary.csv", "partial"), "1");
  EXPECT_EQ(SummaryValue(out + "/summary.csv", "iterations_done"), 5.0);
  EXPECT_EQ(SummaryCell(out + "/summary.csv", "sync"), "bsp");
  // The server wrote its row on the way out: what it did before the job failed.
  EXPECT_EQ(SummaryCell(out + "/server-0.csv", "partial"), "1");
  EXPECT_EQ(SummaryValue(out + "/server-0.csv", "updates"), 5.0);
  EXPECT_EQ(SummaryValue(out + "/server-0.csv", "workers_lost"), 1.0);
  // The last line names the files that are there, and only those.
  EXPECT_THAT(run.out(), HasSubstr("iterations.csv, summary.csv, server-*.csv, worker-*.csv)"));
  EXPECT_THAT(run.out(), Not(HasSubstr("accuracy.csv")));
  EXPECT_THAT(run.err(), HasSubstr("partial=1"));
}

// A worker SIGKILLed mid-run keeps every row up to its last completed iteration (each row is
// in the kernel's hands once its iteration ended), and ASP goes on without it: run waits for
// the job instead of stopping it, and reports success with the worker named.
TEST(RunResultsTest, AKilledWorkerKeepsItsRowsAndAnAsynchronousJobGoesOn) {
  TempDir dir;
  Processes procs(dir.path());
  const std::string out = dir / "out";
  Proc& run = procs.Start(
      "run", {"run", "--num-workers", "2", "--workload", "synthetic", "--grad-bytes", "64K",
              "--sync", "asp", "--iterations", "300", "--straggler",
              "persistent:workers=0+1,factor=1,base=0.01", "--timeout", "20", "--out", out});
  const std::string victim_csv = out + "/worker-1.csv";
  ASSERT_TRUE(WaitUntil([&] { return ReadCsv(victim_csv).rows.size() >= 20 || run.Poll(); },
                        milliseconds(60000)))
      << procs.DescribeAll();
  const std::optional<pid_t> victim = WorkerOf(run.pid, 1);
  ASSERT_TRUE(victim.has_value()) << procs.DescribeAll();
  kill(*victim, SIGKILL);
  const auto code = run.Wait(milliseconds(120000));
  ASSERT_TRUE(code.has_value()) << procs.DescribeAll();
  EXPECT_EQ(*code, 0) << procs.DescribeAll();
  const std::vector<long> kept = Iterations(victim_csv);
  ASSERT_GE(kept.size(), 20u);
  EXPECT_LT(kept.size(), 300u);
  for (size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i], static_cast<long>(i));
  WholeRows(victim_csv);
  EXPECT_EQ(Iterations(out + "/worker-0.csv").size(), 300u);
  EXPECT_EQ(SummaryCell(out + "/summary.csv", "partial"), "0");
  EXPECT_EQ(SummaryValue(out + "/server-0.csv", "workers_lost"), 1.0);
  EXPECT_THAT(run.out(), HasSubstr("the servers finished the job without worker 1"));
}

// Was: run stopped every process --timeout + 5 s after a coded job's worker died, exited 1
// and wrote no results, though the job (started by hand) lost no round. Rounds keep coming
// (rounds.csv and the other workers' rows grow), so run lets the job finish.
TEST(RunResultsTest, ACodedJobThatGoesOnWithoutADeadWorkerIsNotCutShort) {
  TempDir dir;
  Processes procs(dir.path());
  const std::string out = dir / "out";
  // 1,000 rounds (two per MDS iteration) of ~15 ms in a Release build: well past --timeout +
  // run's 5 s margin. --timeout is also the servers' deadline for the joins, which sanitizer
  // builds reach slowly; their rounds are slower too, so the job still outlives the margin.
  const int timeout_s = kSanitized ? 10 : 4;
  const int iterations = kSanitized ? 800 : 500;
  Proc& run =
      procs.Start("run", {"run", "--num-workers", "4", "--workload", "linreg", "--linreg-rows",
                          "2048", "--linreg-dims", "64", "--coding", "mds:k=3", "--iterations",
                          std::to_string(iterations), "--straggler", "shifted-exp:mu=1,base=0.004",
                          "--timeout", std::to_string(timeout_s), "--out", out});
  ASSERT_TRUE(
      WaitUntil([&] { return ReadCsv(out + "/worker-2.csv").rows.size() >= 10 || run.Poll(); },
                milliseconds(60000)))
      << procs.DescribeAll();
  const std::optional<pid_t> victim = WorkerOf(run.pid, 2);
  ASSERT_TRUE(victim.has_value()) << procs.DescribeAll();
  kill(*victim, SIGKILL);
  const auto killed_at = Clock::now();
  const auto code = run.Wait(milliseconds(300000));
  ASSERT_TRUE(code.has_value()) << procs.DescribeAll();
  EXPECT_EQ(*code, 0) << procs.DescribeAll();
  // The check means something only if the job outlived run's old grace.
  EXPECT_GT(Seconds(Clock::now() - killed_at), timeout_s + 5.0) << "the job was too short to tell";
  EXPECT_EQ(SummaryCell(out + "/summary.csv", "partial"), "0");
  EXPECT_EQ(SummaryValue(out + "/server-0.csv", "updates"), iterations);
  EXPECT_EQ(SummaryValue(out + "/server-0.csv", "workers_lost"), 1.0);
  // Coded jobs count their messages: they used to show 0 pushes beside every update. Each
  // round's decoding used k = 3 of them.
  const double used = SummaryValue(out + "/server-0.csv", "gradients_applied").value_or(0);
  EXPECT_EQ(used, 3 * 2 * iterations);
  EXPECT_GE(SummaryValue(out + "/server-0.csv", "pushes_received").value_or(0), used);
  EXPECT_EQ(WholeRows(out + "/rounds.csv"), 2u * iterations);
}

}  // namespace
}  // namespace gw::e2e
