// What `gradwire run` (and the binary) says and exits with when the command line is wrong
// (issue 20): one line and exit 2 for a bad flag, the path and the reason for a directory it
// cannot use, and --out never removing a file gradwire did not write.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace gw::e2e {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int code = -1;
  std::string err, out;
  double seconds = 0;
};

// Runs `gradwire args...` to its end (bounded: a test must not hang).
Outcome Gradwire(const TempDir& dir, const std::vector<std::string>& args,
                 milliseconds bound = milliseconds(60000)) {
  Processes procs(dir.path());
  Proc& p = procs.Start("gradwire", args);
  const auto code = p.Wait(bound);
  EXPECT_TRUE(code.has_value()) << procs.DescribeAll();
  return {code.value_or(-1), p.err(), p.out(), Seconds(p.ended - p.started)};
}

void Touch(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Was "unexpected error: std::bad_alloc" from the server run had already started, exit 1.
TEST(RunMessagesTest, NegativeWorkerCountIsOneLineExit2) {
  TempDir dir;
  const Outcome o = Gradwire(dir, {"run", "--num-workers", "-1", "--out", dir / "out"});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_EQ(CountLines(o.err, {}), 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr("--num-workers"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));  // nothing started or written
}

TEST(RunMessagesTest, UnknownWorkloadIsOneLineExit2) {
  TempDir dir;
  const Outcome o = Gradwire(dir, {"run", "--num-workers", "2", "--workload", "resnet"});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_EQ(CountLines(o.err, {}), 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr("--workload resnet"));
}

// Was "unexpected error: filesystem error: cannot create directories: ...".
TEST(RunMessagesTest, UnusableOutDirNamesPathAndReason) {
  TempDir dir;
  Touch(dir / "a-file", "");
  const Outcome o = Gradwire(dir, {"run", "--num-workers", "2", "--out", dir / "a-file/sub"});
  EXPECT_EQ(o.code, 1) << o.err;
  EXPECT_EQ(CountLines(o.err, {}), 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr(dir / "a-file/sub"));
  EXPECT_THAT(o.err, HasSubstr("Not a directory"));  // the errno text
  EXPECT_THAT(o.err, ::testing::Not(HasSubstr("unexpected")));
}

// Was exit 2, the usage on stderr.
TEST(RunMessagesTest, HelpExitsZero) {
  TempDir dir;
  for (const std::string flag : {"--help", "-h"}) {
    const Outcome o = Gradwire(dir, {flag});
    EXPECT_EQ(o.code, 0) << flag << ": " << o.err;
    EXPECT_THAT(o.out, HasSubstr("usage: gradwire")) << flag;
  }
  EXPECT_EQ(Gradwire(dir, {}).code, 2);  // no command at all is still a usage error
}

// Was a fixed 10 s whatever --timeout said.
TEST(RunMessagesTest, WorkerConnectTimeoutFollowsTimeout) {
  // A bound port nobody listens on: every connection attempt is refused until the timeout.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string server = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  TempDir dir;
  const Outcome o = Gradwire(
      dir, {"worker", "--rank", "0", "--num-workers", "1", "--servers", server, "--workload",
            "synthetic", "--grad-bytes", "4K", "--timeout", "1", "--reconnect-timeout", "0"});
  // (--join-timeout, 120 s by default, bounds only the wait for the first parameters.)
  close(fd);
  EXPECT_EQ(o.code, 1) << o.err;
  EXPECT_LT(o.seconds, 8.0) << o.err;  // 1 s and start-up; the old fixed 10 s fails this
}

// Was: "start-up: N s" every 5 s for the first --join-timeout, training or not.
TEST(RunMessagesTest, StartUpProgressStopsOnceTrainingBegins) {
  TempDir dir;
  // ~11 s of training (each iteration waits ~0.1 s for its straggler delay), joins within 1 s.
  const Outcome o = Gradwire(
      dir,
      {"run", "--num-workers", "2", "--workload", "synthetic", "--grad-bytes", "4K", "--iterations",
       "110", "--straggler", "shifted-exp:mu=1,base=0.05", "--out", dir / "out"},
      milliseconds(120000));
  ASSERT_EQ(o.code, 0) << o.err;
  // A slow machine may still be starting at 5 s: one line then; the old run printed two more.
  EXPECT_LE(CountLines(o.out, {"gradwire run: start-up:"}), 1) << o.out;
}

// Was: every *.csv and *.port in --out deleted before the flags were checked.
TEST(RunOutDirTest, ARefusedRunTouchesNothing) {
  TempDir dir;
  std::filesystem::create_directories(dir / "out");
  Touch(dir / "out/mine.csv", "my,data\n");
  Touch(dir / "out/server-0.port", "1234\n");
  const Outcome o =
      Gradwire(dir, {"run", "--num-workers", "2", "--transport", "udp", "--out", dir / "out"});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_EQ(ReadFile(dir / "out/mine.csv"), "my,data\n");
  EXPECT_EQ(ReadFile(dir / "out/server-0.port"), "1234\n");
}

// A directory no run wrote whose files carry an output's name: refused, not overwritten.
TEST(RunOutDirTest, FilesNoRunWroteAreNeverOverwritten) {
  TempDir dir;
  std::filesystem::create_directories(dir / "out");
  Touch(dir / "out/summary.csv", "mine\n");
  const Outcome o =
      Gradwire(dir, {"run", "--num-workers", "1", "--workload", "synthetic", "--grad-bytes", "4K",
                     "--iterations", "3", "--out", dir / "out"});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_THAT(o.err, HasSubstr("summary.csv"));
  EXPECT_EQ(ReadFile(dir / "out/summary.csv"), "mine\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "out/command.txt"));
}

// A previous run's outputs are replaced, by name; the user's files beside them are kept.
TEST(RunOutDirTest, APreviousRunsOutputsAreReplacedAndOthersKept) {
  TempDir dir;
  std::filesystem::create_directories(dir / "out");
  Touch(dir / "out/command.txt", "gradwire run --num-workers 8\n");
  Touch(dir / "out/worker-7.csv", "stale\n");
  Touch(dir / "out/mine.csv", "my,data\n");
  Touch(dir / "out/notes.txt", "notes\n");
  const Outcome o =
      Gradwire(dir, {"run", "--num-workers", "1", "--workload", "synthetic", "--grad-bytes", "4K",
                     "--iterations", "3", "--out", dir / "out"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out/worker-7.csv"));
  EXPECT_THAT(o.err, HasSubstr("worker-7.csv"));  // says what it replaced
  EXPECT_EQ(ReadFile(dir / "out/mine.csv"), "my,data\n");
  EXPECT_EQ(ReadFile(dir / "out/notes.txt"), "notes\n");
  EXPECT_THAT(ReadFile(dir / "out/command.txt"), HasSubstr("--iterations 3"));
}

}  // namespace
}  // namespace gw::e2e
