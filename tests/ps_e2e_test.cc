// End-to-end tests of the gradwire binary: whole jobs as separate processes over loopback,
// their results, and how they behave when a worker dies, a stranger connects, or flags are
// wrong. Every child runs in its own process group and is killed and reaped in teardown.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cmath>
#include <filesystem>

#include "ps/messages.h"
#include "ps/roles.h"
#include "tests/e2e_util.h"
#include "tests/net_test_util.h"

namespace gw::e2e {
namespace {

constexpr const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

bool HaveFashionMnist() {
  return std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz") ||
         std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte");
}

#define SKIP_WITHOUT_FASHION_MNIST()                                 \
  do {                                                               \
    if (!HaveFashionMnist()) {                                       \
      GTEST_SKIP() << "Fashion-MNIST not found in " << kFashionMnist \
                   << " (apt-get install dataset-fashion-mnist)";    \
    }                                                                \
  } while (0)

class PsE2eTest : public ::testing::Test {
 protected:
  // How long a `gradwire run` of these tests may take before it counts as hung: a guard, not
  // a speed claim (a 4-worker Fashion-MNIST run took up to ~25 s under ASan on a busy machine).
  static constexpr milliseconds kRunBound{120000};

  void TearDown() override {
    procs_.KillAll();
    if (HasFailure()) {
      std::cerr << "=== output of the processes of this test (kept in " << dir_.path() << ") ===\n"
                << procs_.DescribeAll();
    }
  }

  // `gradwire run` with the given flags and its own out dir; returns the exit code (nullopt
  // if it did not finish within the bound, then it is killed).
  std::optional<int> Run(const std::string& name, const std::string& out,
                         std::vector<std::string> flags, milliseconds bound) {
    std::vector<std::string> args = {"run", "--out", out};
    args.insert(args.end(), flags.begin(), flags.end());
    Proc& p = procs_.Start(name, args);
    auto code = p.Wait(bound);
    if (!code) p.KillAndReap();
    last_ = &p;
    return code;
  }

  // A server started by hand: rank 0 of one, listening on an ephemeral loopback port.
  Proc& StartServer(const std::vector<std::string>& job, const std::vector<std::string>& env,
                    uint16_t* port) {
    const std::string port_file = dir_ / "server-0.port";
    std::vector<std::string> args = {
        "server",      "--rank",  "0",     "--listen", "tcp://127.0.0.1:0",
        "--port-file", port_file, "--out", dir_.path()};
    args.insert(args.end(), job.begin(), job.end());
    Proc& s = procs_.Start("server 0", args, env);
    *port = WaitForPort(s, port_file, milliseconds(10000));
    return s;
  }

  Proc& StartWorker(uint32_t rank, uint16_t port, const std::vector<std::string>& job,
                    const std::vector<std::string>& env, const std::string& name = "") {
    std::vector<std::string> args = {"worker",
                                     "--rank",
                                     std::to_string(rank),
                                     "--servers",
                                     "tcp://127.0.0.1:" + std::to_string(port),
                                     "--out",
                                     dir_.path()};
    args.insert(args.end(), job.begin(), job.end());
    return procs_.Start(name.empty() ? "worker " + std::to_string(rank) : name, args, env);
  }

  // Server 0 and workers 0 and 1 of job, worker 1 with --inject-fault `fault`, and the
  // server's exit code within 20 s (nullopt: it still runs).
  struct FaultyJob {
    Proc* server;
    Proc* w0;
    Proc* w1;
    std::optional<int> code;
  };
  FaultyJob RunWithFaultyWorker1(const std::vector<std::string>& job, const std::string& fault) {
    auto faulty = job;
    faulty.insert(faulty.end(), {"--inject-fault", fault});
    uint16_t port = 0;
    FaultyJob j{&StartServer(job, {}, &port), nullptr, nullptr, std::nullopt};
    EXPECT_NE(port, 0);
    j.w0 = &StartWorker(0, port, job, {});
    j.w1 = &StartWorker(1, port, faulty, {});
    j.code = j.server->Wait(milliseconds(20000));
    return j;
  }

  // Waits until the server's log says every one of n workers joined.
  static bool WaitAllJoined(Proc& server, int n, milliseconds bound) {
    const std::string needle = "joined (" + std::to_string(n) + "/" + std::to_string(n) + ")";
    return WaitUntil(
               [&] { return server.err().find(needle) != std::string::npos || server.Poll(); },
               bound) &&
           server.err().find(needle) != std::string::npos;
  }

  TempDir dir_;
  Processes procs_{dir_.path()};
  Proc* last_ = nullptr;
};

// Loss per worker from iterations.csv, in iteration order.
std::map<int, std::vector<double>> LossByWorker(const Csv& csv) {
  std::map<int, std::vector<std::pair<int, double>>> tmp;
  const int w = csv.Column("worker"), it = csv.Column("iteration"), loss = csv.Column("loss");
  for (const auto& row : csv.rows) {
    if (row.size() != csv.header.size()) continue;
    tmp[std::stoi(row[w])].emplace_back(std::stoi(row[it]), std::stod(row[loss]));
  }
  std::map<int, std::vector<double>> out;
  for (auto& [worker, v] : tmp) {
    std::sort(v.begin(), v.end());
    for (const auto& [i, l] : v) out[worker].push_back(l);
  }
  return out;
}

double Mean(const std::vector<double>& v, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += v[i];
  return s / static_cast<double>(end - begin);
}

// ---------------------------------------------------------------------------------------
// Whole jobs through `gradwire run`.

TEST_F(PsE2eTest, RunTrainsSoftmaxAndWritesResults) {
  SKIP_WITHOUT_FASHION_MNIST();
  const std::string out = dir_ / "run";
  const auto code = Run(
      "run", out, {"--num-workers", "4", "--iterations", "300", "--eval-every", "100"}, kRunBound);
  ASSERT_EQ(code, std::optional<int>(0)) << "gradwire run did not finish with exit 0";
  // The printed table has a row per worker with all its iterations.
  const std::vector<std::string> printed = Lines(last_->out());
  for (int w = 0; w < 4; ++w) {
    const auto rows = std::count_if(printed.begin(), printed.end(), [&](const std::string& l) {
      return l.starts_with(std::to_string(w) + " ") && l.find(" 300 ") != std::string::npos;
    });
    EXPECT_EQ(rows, 1) << "worker " << w << "'s row missing from the table:\n" << last_->out();
  }

  const Csv it = ReadCsv(out + "/iterations.csv");
  ASSERT_EQ(Lines(ReadFile(out + "/iterations.csv")).at(0),
            "worker,iteration,compute_s,write_s,wait_s,bytes,loss,delay_s,messages,gate_s,batch");
  ASSERT_EQ(it.rows.size(), 4u * 300u);
  for (const auto& row : it.rows) {
    ASSERT_EQ(row.size(), 11u) << "a row with a wrong cell count";
    ASSERT_EQ(row.back(), "64") << "every minibatch is --batch's default without tuning";
  }

  const auto losses = LossByWorker(it);
  ASSERT_EQ(losses.size(), 4u);
  for (const auto& [w, l] : losses) {
    ASSERT_EQ(l.size(), 300u) << "worker " << w;
    for (double x : l) ASSERT_TRUE(std::isfinite(x)) << "worker " << w;
    const double first = Mean(l, 0, 20), last = Mean(l, l.size() - 20, l.size());
    EXPECT_GT(first, last) << "worker " << w << ": loss did not go down";
  }

  const auto acc = SummaryValue(out + "/summary.csv", "test_accuracy");
  ASSERT_TRUE(acc.has_value()) << ReadFile(out + "/summary.csv");
  EXPECT_GE(*acc, 0.78);
  EXPECT_TRUE(SummaryValue(out + "/summary.csv", "test_loss").has_value());
  const auto ips = SummaryValue(out + "/summary.csv", "iterations_per_s");
  ASSERT_TRUE(ips.has_value());
  EXPECT_GT(*ips, 0);
  EXPECT_TRUE(std::filesystem::exists(out + "/server-0.csv"));

  // --eval-every 100: the models iterations 0, 100, 200 started from and the final one,
  // evaluated after the run; the last is the model the summary evaluated.
  const Csv kept = ReadCsv(out + "/accuracy.csv");
  ASSERT_EQ(kept.rows.size(), 4u);
  const int iteration = kept.Column("iteration"), elapsed = kept.Column("elapsed_s"),
            accuracy = kept.Column("test_accuracy");
  ASSERT_GE(iteration, 0);
  ASSERT_GE(elapsed, 0);
  ASSERT_GE(accuracy, 0);
  double last_elapsed = -1;
  for (size_t i = 0; i < kept.rows.size(); ++i) {
    EXPECT_EQ(std::stoul(kept.rows[i].at(iteration)), 100 * i);
    const double e = std::stod(kept.rows[i].at(elapsed));
    EXPECT_GT(e, last_elapsed);
    last_elapsed = e;
  }
  EXPECT_LT(std::stod(kept.rows[0].at(accuracy)), 0.3) << "the initial model should be a guess";
  EXPECT_DOUBLE_EQ(std::stod(kept.rows[3].at(accuracy)), *acc);
}

TEST_F(PsE2eTest, TwoShardsTrainLikeOne) {
  SKIP_WITHOUT_FASHION_MNIST();
  const std::vector<std::string> job = {"--num-workers", "4", "--iterations", "300", "--seed", "7"};
  auto two = job;
  two.insert(two.end(), {"--num-servers", "2"});
  ASSERT_EQ(Run("run 1 server", dir_ / "one", job, kRunBound), std::optional<int>(0));
  ASSERT_EQ(Run("run 2 servers", dir_ / "two", two, kRunBound), std::optional<int>(0));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "two/server-0.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "two/server-1.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "two/server-2.csv"));
  EXPECT_EQ(ReadCsv(dir_ / "two/iterations.csv").rows.size(), 4u * 300u);

  const auto a1 = SummaryValue(dir_ / "one/summary.csv", "test_accuracy");
  const auto a2 = SummaryValue(dir_ / "two/summary.csv", "test_accuracy");
  ASSERT_TRUE(a1 && a2);
  EXPECT_GE(*a1, 0.78);
  EXPECT_NEAR(*a1, *a2, 0.01) << "BSP with 2 shards trains differently from 1 shard";
}

// --straggler under a sync rule: the slow worker sleeps its model's time every iteration and
// says so in delay_s; the others wait for it (BSP).
TEST_F(PsE2eTest, InjectedStragglerDelayIsRecorded) {
  const std::string out = dir_ / "run";
  ASSERT_EQ(Run("run", out,
                {"--num-workers", "3", "--workload", "linreg", "--iterations", "20", "--straggler",
                 "persistent:workers=1,factor=10,base=0.002"},
                milliseconds(60000)),
            std::optional<int>(0));
  const Csv csv = ReadCsv(out + "/iterations.csv");
  const int w = csv.Column("worker"), d = csv.Column("delay_s");
  ASSERT_GE(d, 0);
  std::map<int, double> delay;
  for (const auto& row : csv.rows) delay[std::stoi(row[w])] += std::stod(row[d]) / 20;
  // Worker 1 takes 20 ms per iteration, the others 2 ms (less their compute time). The delay
  // recorded is the time slept, which a loaded machine stretches (a bound of 2.5 ms failed
  // once under ctest -j2): the others are held well under the straggler's delay and a factor
  // below it, not to 2 ms.
  EXPECT_GT(delay[1], 0.015);
  for (int fast : {0, 2}) {
    EXPECT_LT(delay[fast], 0.008) << "worker " << fast;
    EXPECT_GT(delay[1], 4 * delay[fast]) << "worker " << fast;
  }
}

TEST_F(PsE2eTest, AspAndSspTrain) {
  SKIP_WITHOUT_FASHION_MNIST();
  // Asynchronous updates with momentum 0.9 are noisy at the default lr 0.1 (test accuracy
  // 0.66..0.80 in trials); a smaller lr and more iterations make the bound meaningful and
  // stable (0.80..0.82 in trials).
  for (const std::string sync : {"asp", "ssp:2"}) {
    SCOPED_TRACE(sync);
    const std::string out = dir_ / ("run-" + sync);
    ASSERT_EQ(Run("run " + sync, out,
                  {"--num-workers", "4", "--iterations", "600", "--sync", sync, "--lr", "0.02"},
                  kRunBound),
              std::optional<int>(0));
    EXPECT_EQ(ReadCsv(out + "/iterations.csv").rows.size(), 4u * 600u);
    const Csv summary = ReadCsv(out + "/summary.csv");
    ASSERT_EQ(summary.rows.size(), 1u);
    ASSERT_GE(summary.Column("sync"), 0);
    EXPECT_EQ(summary.rows[0][static_cast<size_t>(summary.Column("sync"))], sync);
    const auto acc = SummaryValue(out + "/summary.csv", "test_accuracy");
    ASSERT_TRUE(acc.has_value());
    EXPECT_GE(*acc, 0.7);
  }
}

// ---------------------------------------------------------------------------------------
// Processes started by hand: lost workers, strangers, wrong flags. These use the synthetic
// workload (1 MiB gradients, a few hundred iterations per second on loopback), which needs
// no data set.

const std::vector<std::string> kLongSyntheticJob = {
    "--num-workers", "3",       "--workload", "synthetic", "--grad-bytes", "1M",
    "--iterations",  "1000000", "--timeout",  "3"};

TEST_F(PsE2eTest, KilledWorkerUnderBspIsReportedWithinTimeout) {
  const double timeout_s = 3;
  uint16_t port = 0;
  Proc& server = StartServer(kLongSyntheticJob, {}, &port);
  ASSERT_NE(port, 0) << "server did not write its port";
  std::vector<Proc*> workers;
  for (uint32_t w = 0; w < 3; ++w) workers.push_back(&StartWorker(w, port, kLongSyntheticJob, {}));
  ASSERT_TRUE(WaitAllJoined(server, 3, milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(500));  // training runs (1M iterations: for long)
  for (Proc* w : workers) ASSERT_FALSE(w->Poll()) << w->name << " ended early";

  const auto killed_at = Clock::now();
  kill(workers[1]->pid, SIGKILL);
  const auto code = server.Wait(milliseconds(static_cast<int>((timeout_s + 4) * 1000)));
  ASSERT_TRUE(code.has_value()) << "server still runs " << timeout_s + 4
                                << " s after worker 1 was killed";
  const double took = Seconds(server.ended - killed_at);
  RecordProperty("server_exit_after_kill_s", std::to_string(took));
  std::cout << "server exited " << took << " s after worker 1 was killed\n";
  EXPECT_NE(*code, 0);
  EXPECT_LE(took, timeout_s + 3) << "reported too late";
  const std::string err = server.err();
  EXPECT_GE(CountLines(err, {"error", "worker 1", "lost"}), 1)
      << "the server's error does not name the lost worker:\n"
      << err;
  EXPECT_EQ(CountLines(err, {"worker 0 lost"}) + CountLines(err, {"worker 2 lost"}), 0)
      << "the server blames a worker that is alive:\n"
      << err;

  for (int w : {0, 2}) {
    SCOPED_TRACE("worker " + std::to_string(w));
    const auto wc = workers[w]->Wait(milliseconds(static_cast<int>((timeout_s + 4) * 1000)));
    ASSERT_TRUE(wc.has_value()) << "survivor still runs";
    EXPECT_NE(*wc, 0);
    EXPECT_NE(workers[w]->err().find("ended the job"), std::string::npos)
        << "the survivor does not say the server ended the job:\n"
        << workers[w]->err();
    EXPECT_NE(workers[w]->err().find("worker 1"), std::string::npos)
        << "the survivor's message does not say why (worker 1 lost):\n"
        << workers[w]->err();
  }
}

// A worker that is alive but silent (stopped) is only noticed by the timeout, and the server
// (which knows who is missing) must speak before the survivors give up waiting.
TEST_F(PsE2eTest, StoppedWorkerUnderBspIsReportedAfterTimeout) {
  const double timeout_s = 3;
  uint16_t port = 0;
  Proc& server = StartServer(kLongSyntheticJob, {}, &port);
  ASSERT_NE(port, 0);
  std::vector<Proc*> workers;
  for (uint32_t w = 0; w < 3; ++w) workers.push_back(&StartWorker(w, port, kLongSyntheticJob, {}));
  ASSERT_TRUE(WaitAllJoined(server, 3, milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(300));

  const auto stopped_at = Clock::now();
  kill(workers[1]->pid, SIGSTOP);  // teardown's SIGKILL ends it even while stopped
  const auto code = server.Wait(milliseconds(static_cast<int>((timeout_s + 5) * 1000)));
  ASSERT_TRUE(code.has_value()) << "server still runs long after worker 1 stopped";
  const double took = Seconds(server.ended - stopped_at);
  RecordProperty("server_exit_after_stop_s", std::to_string(took));
  std::cout << "server exited " << took << " s after worker 1 was stopped\n";
  EXPECT_NE(*code, 0);
  EXPECT_GE(took, timeout_s - 0.5) << "reported before the timeout passed";
  EXPECT_LE(took, timeout_s + 3) << "reported too late";
  const std::string err = server.err();
  EXPECT_GE(CountLines(err, {"error", "worker 1"}), 1)
      << "the server's error does not name the stopped worker:\n"
      << err;
  EXPECT_EQ(CountLines(err, {"worker 0 lost"}) + CountLines(err, {"worker 2 lost"}), 0)
      << "the server blames a worker that is alive:\n"
      << err;
  for (int w : {0, 2}) {
    const auto wc = workers[w]->Wait(milliseconds(5000));
    ASSERT_TRUE(wc.has_value()) << "worker " << w << " still runs";
    EXPECT_NE(*wc, 0);
    EXPECT_NE(workers[w]->err().find("ended the job"), std::string::npos) << workers[w]->err();
  }
}

TEST_F(PsE2eTest, ContinueWithoutLostWorker) {
  // ~4 s of training for the survivors; worker 1 dies half a second in.
  const std::vector<std::string> job = {"--num-workers",
                                        "3",
                                        "--workload",
                                        "synthetic",
                                        "--grad-bytes",
                                        "1M",
                                        "--iterations",
                                        "1500",
                                        "--timeout",
                                        "3",
                                        "--continue-without-lost-workers"};
  uint16_t port = 0;
  Proc& server = StartServer(job, {}, &port);
  ASSERT_NE(port, 0);
  std::vector<Proc*> workers;
  for (uint32_t w = 0; w < 3; ++w) workers.push_back(&StartWorker(w, port, job, {}));
  ASSERT_TRUE(WaitAllJoined(server, 3, milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_FALSE(workers[1]->Poll()) << "worker 1 finished before it could be killed";
  kill(workers[1]->pid, SIGKILL);

  EXPECT_EQ(server.Wait(milliseconds(40000)), std::optional<int>(0));
  EXPECT_EQ(workers[0]->Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(workers[2]->Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(workers[1]->Wait(milliseconds(1000)), std::optional<int>(128 + SIGKILL));
  EXPECT_GE(CountLines(server.err(), {"worker 1", "lost"}), 1) << server.err();

  // Survivors did all their iterations; the server counted one lost worker.
  EXPECT_EQ(ReadCsv(dir_ / "worker-0.csv").rows.size(), 1500u);
  EXPECT_EQ(ReadCsv(dir_ / "worker-2.csv").rows.size(), 1500u);
  // The killed worker's rows up to its last completed iteration (streamed as it went).
  const size_t kept = ReadCsv(dir_ / "worker-1.csv").rows.size();
  EXPECT_GE(kept, 1u);
  EXPECT_LT(kept, 1500u);
  EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(1));
}

// Sends bytes that are not a gradwire handshake; keeps the socket open until done() holds.
template <typename Pred>
bool SendGarbage(uint16_t port, Pred done) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (ok) {
    std::string junk = "GET / HTTP/1.1\r\nHost: gradwire\r\n\r\n";
    junk += std::string(64, '\xa5');
    ok = send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(junk.size());
  }
  if (ok) WaitUntil(done, milliseconds(5000));
  close(fd);
  return ok;
}

TEST_F(PsE2eTest, GarbageAndWrongTokenLeaveTrainingUnharmed) {
  const std::vector<std::string> env = {"GRADWIRE_TOKEN=e2e-secret-token"};
  const std::vector<std::string> job = {"--num-workers", "2",  "--workload",   "synthetic",
                                        "--grad-bytes",  "1M", "--iterations", "2000",
                                        "--timeout",     "10"};
  uint16_t port = 0;
  Proc& server = StartServer(job, env, &port);
  ASSERT_NE(port, 0);
  Proc& w0 = StartWorker(0, port, job, env);
  Proc& w1 = StartWorker(1, port, job, env);
  ASSERT_TRUE(WaitAllJoined(server, 2, milliseconds(10000)));

  ASSERT_TRUE(SendGarbage(port, [&] {
    return server.err().find("bad magic") != std::string::npos || server.Poll();
  })) << "could not send the garbage";

  auto wrong_job = job;
  wrong_job.insert(wrong_job.end(), {"--token", "wrong"});
  Proc& intruder = StartWorker(0, port, wrong_job, {}, "worker 0 with a wrong token");
  EXPECT_EQ(intruder.Wait(milliseconds(10000)), std::optional<int>(1));
  const std::string ierr = intruder.err();
  EXPECT_TRUE(ierr.find("refused") != std::string::npos ||
              ierr.find("wrong token") != std::string::npos)
      << ierr;

  // Both strangers came while the job trained.
  EXPECT_FALSE(w0.Poll() && w1.Poll()) << "training ended before the strangers were done";

  EXPECT_EQ(server.Wait(milliseconds(40000)), std::optional<int>(0));
  EXPECT_EQ(w0.Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(w1.Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(ReadCsv(dir_ / "worker-0.csv").rows.size(), 2000u);
  EXPECT_EQ(ReadCsv(dir_ / "worker-1.csv").rows.size(), 2000u);

  const std::string err = server.err();
  EXPECT_EQ(CountLines(err, {"bad magic"}), 1) << err;
  EXPECT_EQ(CountLines(err, {"wrong token", "worker 0"}), 1) << err;
  // Nothing else was refused or dropped, and no worker was lost.
  EXPECT_EQ(CountLines(err, {"refused connection"}) + CountLines(err, {"dropped connection"}), 2)
      << err;
  EXPECT_EQ(CountLines(err, {" lost at "}), 0) << err;
  EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(0));
}

// ---------------------------------------------------------------------------------------
// Flags.

// Coding and straggler flags are checked before anything starts: one line naming the
// problem, exit 2, nothing created.
TEST_F(PsE2eTest, BadCodingFlagsExitTwoBeforeAnythingStarts) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"--coding", "mds:k=9"}, {"mds:k=9", "k <= n"}},
      {{"--coding", "gc-fr:s=2"}, {"gc-fr:s=2", "gc-cr"}},
      {{"--coding", "mds:k=2", "--workload", "softmax"}, {"linreg"}},
      {{"--coding", "mm:r=2", "--num-servers", "2"}, {"one server"}},
      {{"--coding", "fancy"}, {"fancy", "uncoded", "mds:k=K"}},
      {{"--straggler", "shifted-exp:mu=0"}, {"mu > 0"}},
      {{"--straggler", "slow"}, {"slow", "shifted-exp"}},
  };
  int i = 0;
  for (const auto& [flags, needles] : cases) {
    const std::string out = dir_ / ("x" + std::to_string(i++));
    std::vector<std::string> args = {"run", "--num-workers", "4", "--out", out};
    args.insert(args.end(), flags.begin(), flags.end());
    Proc& p = procs_.Start("run " + flags.back(), args);
    EXPECT_EQ(p.Wait(milliseconds(10000)), std::optional<int>(2)) << flags.back();
    const std::string err = p.err();
    EXPECT_EQ(Lines(err).size(), 1u) << err;
    for (const auto& n : needles) EXPECT_NE(err.find(n), std::string::npos) << n << ": " << err;
    EXPECT_FALSE(std::filesystem::exists(out)) << "a bad flag still created the out dir";
  }
}

// gradwire model: the Monte Carlo agrees with the closed form, and the model on a job's
// draws is printed when asked.
TEST_F(PsE2eTest, ModelPrintsClosedFormsBesideMonteCarlo) {
  Proc& p = procs_.Start(
      "model", {"model", "--num-workers", "8", "--straggler", "shifted-exp:mu=1,base=0.01",
                "--coding", "uncoded,mds:k=6,mm", "--trials", "4000", "--rounds", "50"});
  ASSERT_EQ(p.Wait(milliseconds(60000)), std::optional<int>(0)) << p.err();
  const auto lines = Lines(p.out());
  ASSERT_EQ(lines.size(), 1u + 2u + 8u) << p.out();  // header, uncoded, mds:k=6, mm:r=1..8
  ASSERT_EQ(lines[0], "scheme,workers,closed_form_s,monte_carlo_s,monte_carlo_se_s,same_draws_s");
  const Csv model = ParseCsv(p.out());
  const auto cell = [&](size_t row, const std::string& column) {
    return model.rows.at(row).at(static_cast<size_t>(model.Column(column)));
  };
  for (size_t i = 0; i < 2; ++i) {
    const double closed = std::stod(cell(i, "closed_form_s")),
                 mc = std::stod(cell(i, "monte_carlo_s")),
                 se = std::stod(cell(i, "monte_carlo_se_s"));
    EXPECT_NEAR(mc, closed, 4 * se) << lines[i + 1];
    EXPECT_GT(std::stod(cell(i, "same_draws_s")), 0) << lines[i + 1];
  }
  EXPECT_EQ(cell(2, "closed_form_s"), "") << "multi-message has no closed form";
  EXPECT_EQ(model.rows.at(2).size(), model.header.size()) << "the empty cell is there";
  Proc& bad = procs_.Start(
      "model bad", {"model", "--num-workers", "4", "--straggler", "none", "--coding", "mds:k=5"});
  EXPECT_EQ(bad.Wait(milliseconds(10000)), std::optional<int>(2));
  EXPECT_NE(bad.err().find("k <= n"), std::string::npos) << bad.err();
}

TEST_F(PsE2eTest, BadFlagsExitTwo) {
  {
    Proc& p = procs_.Start("run --bogus", {"run", "--bogus"});
    EXPECT_EQ(p.Wait(milliseconds(10000)), std::optional<int>(2));
    const auto lines = Lines(p.err());
    EXPECT_EQ(lines.size(), 1u) << p.err();
    EXPECT_NE(p.err().find("bogus"), std::string::npos) << p.err();
  }
  {
    Proc& p = procs_.Start("run --sync nope",
                           {"run", "--num-workers", "2", "--sync", "nope", "--out", dir_ / "x"});
    EXPECT_EQ(p.Wait(milliseconds(10000)), std::optional<int>(2));
    const std::string err = p.err();
    EXPECT_EQ(Lines(err).size(), 1u) << err;
    for (const char* form : {"nope", "bsp", "asp", "ssp"}) {
      EXPECT_NE(err.find(form), std::string::npos) << form << " not in: " << err;
    }
    EXPECT_FALSE(std::filesystem::exists(dir_ / "x")) << "a bad flag still created the out dir";
  }
  {
    Proc& p = procs_.Start("worker without data",
                           {"worker", "--num-workers", "2", "--rank", "0", "--workload", "softmax",
                            "--data-dir", "/nonexistent", "--servers", "tcp://127.0.0.1:1"});
    EXPECT_EQ(p.Wait(milliseconds(10000)), std::optional<int>(1));
    EXPECT_NE(p.err().find("dataset-fashion-mnist"), std::string::npos) << p.err();
    EXPECT_NE(p.err().find("/nonexistent"), std::string::npos) << p.err();
  }
  {
    Proc& p = procs_.Start("no command", {});
    EXPECT_EQ(p.Wait(milliseconds(10000)), std::optional<int>(2));
    EXPECT_NE(p.err().find("usage"), std::string::npos) << p.err();
  }
}

// A worker whose job flags differ from its server's must be refused, saying why: the one flag
// that differs with both values (it used to print two whole configurations to compare).
void ExpectRefusedForFlags(Proc& worker, const std::string& flag, const std::string& ours,
                           const std::string& theirs) {
  const auto code = worker.Wait(milliseconds(15000));
  ASSERT_TRUE(code.has_value()) << "the mismatched worker was not refused (still runs)";
  EXPECT_EQ(*code, 1);
  const std::string err = worker.err();
  EXPECT_NE(err.find("different job configuration: " + flag + ": this worker " + ours +
                     ", server " + theirs),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("momentum"), std::string::npos) << "a flag that agrees was named: " << err;
}

const std::vector<std::string> kShortSyntheticJob = {
    "--num-workers", "2",   "--workload", "synthetic", "--grad-bytes", "64K",
    "--iterations",  "200", "--timeout",  "5"};

TEST_F(PsE2eTest, FlagMismatchIsRefused) {
  uint16_t port = 0;
  Proc& server = StartServer(kShortSyntheticJob, {}, &port);
  ASSERT_NE(port, 0);
  auto job = kShortSyntheticJob;
  job.insert(job.end(), {"--lr", "0.2"});  // the server has the default, 0.1
  Proc& w = StartWorker(0, port, job, {}, "worker 0 with --lr 0.2");
  ExpectRefusedForFlags(w, "--lr", "0.2", "0.1");
  EXPECT_GE(CountLines(server.err(), {"refused: ", "(worker 0)"}), 1) << server.err();
}

// Same with a flag the fingerprint does cover (the batch size).
TEST_F(PsE2eTest, BatchMismatchIsRefused) {
  uint16_t port = 0;
  Proc& server = StartServer(kShortSyntheticJob, {}, &port);
  ASSERT_NE(port, 0);
  auto job = kShortSyntheticJob;
  job.insert(job.end(), {"--batch", "32"});
  Proc& w = StartWorker(0, port, job, {}, "worker 0 with --batch 32");
  ExpectRefusedForFlags(w, "--batch", "32", "64");
  EXPECT_GE(CountLines(server.err(), {"refused: ", "(worker 0)"}), 1) << server.err();
}

// No token, no job: a server or worker started without one refuses to start (exit 2, naming
// GRADWIRE_TOKEN) rather than letting any peer in; --insecure-no-token runs it, warning once.
TEST_F(PsE2eTest, WithoutATokenNothingStartsUnlessToldInsecure) {
  const std::vector<std::string> no_token = {"GRADWIRE_TOKEN="};
  for (const char* role : {"server", "worker"}) {
    std::vector<std::string> args = {role, "--rank", "0", "--servers", "tcp://127.0.0.1:1"};
    if (std::string(role) == "server")
      args = {role, "--rank", "0", "--listen", "tcp://127.0.0.1:0"};
    args.insert(args.end(), kShortSyntheticJob.begin(), kShortSyntheticJob.end());
    Proc& p = procs_.Start(std::string(role) + " without a token", args, no_token);
    EXPECT_EQ(p.Wait(milliseconds(10000)), std::optional<int>(2)) << p.err();
    EXPECT_NE(p.err().find("no token: set GRADWIRE_TOKEN"), std::string::npos) << p.err();
    EXPECT_EQ(Lines(p.err()).size(), 1u) << p.err();
  }
  auto job = kShortSyntheticJob;
  job.push_back("--insecure-no-token");
  uint16_t port = 0;
  Proc& server = StartServer(job, no_token, &port);
  ASSERT_NE(port, 0);
  Proc& w0 = StartWorker(0, port, job, no_token);
  Proc& w1 = StartWorker(1, port, job, no_token);
  EXPECT_EQ(server.Wait(milliseconds(20000)), std::optional<int>(0)) << server.err();
  EXPECT_EQ(w0.Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(w1.Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(CountLines(server.err(), {"--insecure-no-token: any peer"}), 1) << server.err();
}

// A worker that says it is done before its last iteration is lost by name, not dropped as if
// it had finished: under BSP the job fails naming it (a model missing a worker's share never
// ends with exit 0); told to go on without lost workers, the others finish and it is counted.
class DoneEarly : public PsE2eTest {
 protected:
  void RunWithAWorkerDoneEarly(bool go_on);
};

void DoneEarly::RunWithAWorkerDoneEarly(bool go_on) {
  auto job = kShortSyntheticJob;
  if (go_on) job.push_back("--continue-without-lost-workers");
  const FaultyJob j = RunWithFaultyWorker1(job, "done-early:50");
  ASSERT_TRUE(j.code.has_value()) << "the server still runs";
  const std::string err = j.server->err();
  // Once in the log (and, when it ends the job, again as the exit message).
  EXPECT_GE(CountLines(err, {"worker 1 lost at iteration 50: said done after 50 of 200"}), 1)
      << err;
  EXPECT_EQ(j.w1->Wait(milliseconds(5000)), std::optional<int>(0)) << j.w1->err();
  if (go_on) {
    EXPECT_EQ(*j.code, 0) << err;
    EXPECT_EQ(j.w0->Wait(milliseconds(5000)), std::optional<int>(0));
    EXPECT_EQ(ReadCsv(dir_ / "worker-0.csv").rows.size(), 200u);
    EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(1));
  } else {
    EXPECT_NE(*j.code, 0) << err;
    EXPECT_GE(CountLines(err, {"under BSP the job cannot go on without it"}), 1) << err;
  }
}

TEST_F(DoneEarly, UnderBspTheJobEndsNamingTheWorker) { RunWithAWorkerDoneEarly(/*go_on=*/false); }

TEST_F(DoneEarly, WithContinueTheWorkerIsCountedLostAndTheOthersFinish) {
  RunWithAWorkerDoneEarly(/*go_on=*/true);
}

// A worker pushing NaN (from iteration 50 on) has each such push dropped and is named; after
// 3 in a row (--lose-after-rejected) it is lost: a strict BSP job then ends with an error
// naming it, one told to go on finishes with the others and a finite model.
class PoisonedWorker : public PsE2eTest {
 protected:
  void Run(bool go_on) {
    auto job = kShortSyntheticJob;
    if (go_on) job.push_back("--continue-without-lost-workers");
    const FaultyJob j = RunWithFaultyWorker1(job, "nan-gradient:50");
    ASSERT_TRUE(j.code.has_value()) << "the server still runs";
    const std::string err = j.server->err();
    EXPECT_EQ(CountLines(err, {"worker 1",
                               "NaN, Inf or values large enough to overflow the sum, dropped"}),
              3)
        << err;
    EXPECT_GE(CountLines(err, {"worker 1 lost at", "sent 3 dropped gradients in a row"}), 1) << err;
    EXPECT_TRUE(j.w1->Wait(milliseconds(10000)).has_value()) << "worker 1 still runs";
    if (go_on) {
      EXPECT_EQ(*j.code, 0) << err;
      EXPECT_EQ(j.w0->Wait(milliseconds(5000)), std::optional<int>(0));
      EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "rejected_nonfinite"),
                std::optional<double>(3));
      EXPECT_EQ(SummaryValue(dir_ / "server-0.csv", "workers_lost"), std::optional<double>(1));
    } else {
      EXPECT_NE(*j.code, 0) << err;
      const auto w0 = j.w0->Wait(milliseconds(10000));
      ASSERT_TRUE(w0.has_value());
      EXPECT_NE(*w0, 0) << "worker 0 ended as if the job had succeeded";
    }
  }
};

TEST_F(PoisonedWorker, UnderBspTheJobEndsNamingIt) { Run(/*go_on=*/false); }

TEST_F(PoisonedWorker, WithContinueItIsLostAndTheOthersFinish) { Run(/*go_on=*/true); }

// Too few descriptors for the job is one clear error at start, not the (N+1)-th peer's accept
// failing: a server of 64 workers under `ulimit -n 64` refuses to start, saying what to raise.
TEST_F(PsE2eTest, ADescriptorLimitTooLowForTheJobIsOneClearErrorAtStart) {
  Proc& p = procs_.Start("server under ulimit -n 64",
                         {"server", "--rank", "0", "--listen", "tcp://127.0.0.1:0", "--num-workers",
                          "64", "--workload", "synthetic", "--grad-bytes", "64K"},
                         {}, 64);
  EXPECT_EQ(p.Wait(milliseconds(10000)), std::optional<int>(1)) << p.err();
  EXPECT_GE(CountLines(p.err(),
                       {"server 0 needs 128 file descriptors", "its limit is 64", "ulimit -n 128"}),
            1)
      << p.err();
}

// Out of descriptors while peers keep connecting (here 100 that never say hello, against a
// server allowed 70), the acceptor waits instead of retrying in a loop: a few log lines, not
// hundreds of thousands, and once the strangers are gone the workers join and finish.
TEST_F(PsE2eTest, OutOfDescriptorsTheAcceptorBacksOffAndLogsOnce) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan checks a vptr by probing memory through a pipe (sanitizer_common): with no
  // descriptor left that probe fails, and it reports boost's error category as invalid.
  GTEST_SKIP() << "the sanitizers' own checks need file descriptors: runs in the plain build";
#endif
  uint16_t port = 0;
  const std::string port_file = dir_ / "server-0.port";
  std::vector<std::string> args = {
      "server",      "--rank",  "0",     "--listen", "tcp://127.0.0.1:0",
      "--port-file", port_file, "--out", dir_.path()};
  args.insert(args.end(), kShortSyntheticJob.begin(), kShortSyntheticJob.end());
  Proc& server = procs_.Start("server 0", args, {}, 70);
  port = WaitForPort(server, port_file, milliseconds(10000));
  ASSERT_NE(port, 0) << server.err();
  std::vector<int> held;
  for (int i = 0; i < 100; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      break;  // the backlog is full
    }
    held.push_back(fd);
  }
  EXPECT_TRUE(
      WaitUntil([&] { return server.err().find("Too many open files") != std::string::npos; },
                milliseconds(5000)))
      << server.err();
  std::this_thread::sleep_for(milliseconds(1500));  // a retry loop would log thousands by now
  for (int fd : held) close(fd);
  Proc& w0 = StartWorker(0, port, kShortSyntheticJob, {});
  Proc& w1 = StartWorker(1, port, kShortSyntheticJob, {});
  EXPECT_EQ(server.Wait(milliseconds(30000)), std::optional<int>(0)) << server.err();
  EXPECT_EQ(w0.Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(w1.Wait(milliseconds(5000)), std::optional<int>(0));
  const std::string err = server.err();
  EXPECT_LE(CountLines(err, {"accept failed"}), 3) << err.substr(0, 4000);
  EXPECT_EQ(CountLines(err, {"accept failed: Too many open files (this process may open 70 file"}),
            1)
      << err.substr(0, 4000);
}

// A server that welcomes a worker and drops it at once, every time: the worker neither aborts
// (the drop came during its join) nor reconnects forever; it gives up after
// --reconnect-timeout with an error saying so.
TEST_F(PsE2eTest, AServerThatDropsRightAfterTheWelcomeEndsTheWorkerCleanly) {
  auto o = testing::Options({Role::kServer, 0}, kTestToken);
  o.job_id = "gradwire";
  std::string why;
  auto fake = testing::MakeDevice(TransportKind::kTcp, o, &why);
  ASSERT_TRUE(fake) << why;
  Address listen;
  listen.host = "127.0.0.1";
  listen.port = 0;
  fake->Listen(listen);
  const uint16_t port = fake->bound_port();
  Region& slot = fake->RegisterRegion(64 * 1024, {Role::kWorker, 0});
  std::vector<std::string> job = {"--num-workers", "1",   "--workload",          "synthetic",
                                  "--grad-bytes",  "64K", "--iterations",        "5",
                                  "--timeout",     "5",   "--reconnect-timeout", "2"};
  Proc& worker = StartWorker(0, port, job, {});
  int welcomed = 0;
  std::vector<Completion> batch;
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(20000);
  while (!worker.Poll() && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    fake->cq().Wait(batch, milliseconds(50));
    for (const Completion& c : batch) {
      if (c.kind != CompletionKind::kControl ||
          c.control_type != static_cast<uint16_t>(MsgType::kJoin))
        continue;
      auto conn = fake->Find(c.peer);
      if (!conn) continue;
      WelcomeMsg welcome;
      welcome.slot = slot.Describe();
      welcome.shard_size = 16 * 1024;
      conn->Send(static_cast<uint16_t>(MsgType::kWelcome), Encode(welcome));
      conn->Close();
      ++welcomed;
    }
  }
  fake->Shutdown();
  ASSERT_TRUE(worker.exit_code.has_value()) << "the worker still runs after 20 s";
  EXPECT_EQ(*worker.exit_code, 1) << worker.err();
  EXPECT_GE(welcomed, 2) << "it reconnected at least once";
  EXPECT_GE(CountLines(worker.err(), {"got no parameters from it within 2000 ms"}), 1)
      << worker.err();
}

// Refusing a misconfigured worker must not end the job: the right workers can still come.
TEST_F(PsE2eTest, RefusedWorkerDoesNotEndTheJob) {
  uint16_t port = 0;
  Proc& server = StartServer(kShortSyntheticJob, {}, &port);
  ASSERT_NE(port, 0);
  auto bad = kShortSyntheticJob;
  bad.insert(bad.end(), {"--batch", "32"});
  Proc& intruder = StartWorker(0, port, bad, {}, "worker 0 with --batch 32");
  ASSERT_TRUE(intruder.Wait(milliseconds(15000)).has_value());
  Proc& w0 = StartWorker(0, port, kShortSyntheticJob, {});
  Proc& w1 = StartWorker(1, port, kShortSyntheticJob, {});
  ASSERT_EQ(server.Wait(milliseconds(20000)), std::optional<int>(0));
  EXPECT_EQ(w0.Wait(milliseconds(5000)), std::optional<int>(0));
  EXPECT_EQ(w1.Wait(milliseconds(5000)), std::optional<int>(0));
}

}  // namespace
}  // namespace gw::e2e
