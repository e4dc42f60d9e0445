// `gradwire run` as a launcher (issue 20): a stop signal stops its servers and workers instead
// of leaving them re-parented to PID 1, and a job that cannot start ends at once instead of
// after the whole --timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace gw::e2e {
namespace {

using ::testing::HasSubstr;

// A job that runs far longer than any test (minutes at a few thousand iterations per second):
// it only ends by a signal.
const std::vector<std::string> kEndlessJob = {"run",        "--num-workers", "2",
                                              "--workload", "synthetic",     "--grad-bytes",
                                              "4K",         "--iterations",  "1000000"};

// True while pid names a process that has not exited (a zombie has exited).
bool Alive(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// The server and both workers of kEndlessJob once both workers joined; fewer if run ended.
std::set<pid_t> TrainingChildren(Proc& run) {
  std::set<pid_t> children;
  WaitUntil(
      [&] {
        children = ChildrenOf(run.pid);
        return (children.size() == 3 && run.err().find("joined (2/2)") != std::string::npos) ||
               run.Poll();
      },
      milliseconds(60000));
  std::erase_if(children, [](pid_t c) { return !Alive(c); });
  return children;
}

class RunStopSignalTest : public ::testing::TestWithParam<int> {};

// Was: only run died; its server and workers went on under PID 1 until the job's end.
TEST_P(RunStopSignalTest, StopsEveryChildAndSaysItWasInterrupted) {
  const int sig = GetParam();
  TempDir dir;
  Processes procs(dir.path());
  std::vector<std::string> args = kEndlessJob;
  args.push_back("--out=" + (dir / "out"));
  Proc& run = procs.Start("run", args);
  const std::set<pid_t> children = TrainingChildren(run);
  ASSERT_EQ(children.size(), 3u) << procs.DescribeAll();
  // Some iterations done: they must survive the stop.
  ASSERT_TRUE(WaitUntil([&] { return ReadCsv(dir / "out/worker-0.csv").rows.size() >= 5; },
                        milliseconds(30000)));

  run.Signal(sig);
  const auto code = run.Wait(milliseconds(30000));
  ASSERT_TRUE(code.has_value()) << procs.DescribeAll();
  EXPECT_EQ(*code, 128 + sig) << procs.DescribeAll();
  for (pid_t c : children) EXPECT_FALSE(Alive(c)) << "child " << c << " survived";
  EXPECT_THAT(run.err(),
              HasSubstr("interrupted by " + std::string(sig == SIGINT ? "SIGINT" : "SIGTERM")));
  // What the processes wrote is kept.
  EXPECT_TRUE(std::filesystem::exists(dir / "out/command.txt"));
  EXPECT_GE(ReadCsv(dir / "out/iterations.csv").rows.size(), 5u);
  EXPECT_EQ(SummaryCell(dir / "out/summary.csv", "partial"), "1");
}

INSTANTIATE_TEST_SUITE_P(Signals, RunStopSignalTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) {
                           return info.param == SIGINT ? "SIGINT" : "SIGTERM";
                         });

// A launcher killed outright cannot stop anyone: its children end by themselves
// (PR_SET_PDEATHSIG) instead of running on under PID 1.
TEST(RunStopSignalTest, ChildrenEndWhenRunIsKilled) {
  TempDir dir;
  Processes procs(dir.path());
  std::vector<std::string> args = kEndlessJob;
  args.push_back("--out=" + (dir / "out"));
  Proc& run = procs.Start("run", args);
  const std::set<pid_t> children = TrainingChildren(run);
  ASSERT_EQ(children.size(), 3u) << procs.DescribeAll();
  run.Signal(SIGKILL);
  ASSERT_TRUE(run.Wait(milliseconds(30000)).has_value());
  for (pid_t c : children) {
    EXPECT_TRUE(WaitUntil([&] { return !Alive(c); }, milliseconds(30000)))
        << "child " << c << " survived";
  }
}

// Was: both workers failed at once, and run returned after --timeout with the server's
// "alive but silent: stalled?".
TEST(RunFailFastTest, EveryWorkerFailingEndsTheRunAtOnce) {
  TempDir dir;
  Processes procs(dir.path());
  Proc& run = procs.Start("run", {"run", "--num-workers", "2", "--data-dir", dir / "no-such-dir",
                                  "--timeout", "120", "--out", dir / "out"});
  // Far below --timeout even on a loaded machine; the old code took 125 s.
  const auto code = run.Wait(milliseconds(60000));
  ASSERT_TRUE(code.has_value()) << procs.DescribeAll();
  EXPECT_EQ(*code, 1) << procs.DescribeAll();
  EXPECT_LT(Seconds(run.ended - run.started), 60.0);
  const std::string err = run.err();
  EXPECT_THAT(err, HasSubstr("Fashion-MNIST file missing"));
  EXPECT_THAT(err, HasSubstr("every worker failed"));
  EXPECT_THAT(err, ::testing::Not(HasSubstr("alive but silent")));
  EXPECT_THAT(err, HasSubstr("server 0 (stopped)"));
}

}  // namespace
}  // namespace gw::e2e
