// The gradwire command line (apps/gradwire/flags.h): sizes, the job a command line makes, and
// the flags forwarded to child processes. Regressions from fuzzing (tests/fuzz/).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "apps/gradwire/flags.h"

namespace gw::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The job and the forwarded flags of `gradwire run <args>` with no launcher variables.
struct Parsed {
  JobConfig job;
  std::vector<std::string> forwarded;
};

Parsed RunArgs(const std::vector<std::string>& args) {
  const po::options_description job = JobFlags(), conn = ConnectionFlags();
  po::options_description all;
  all.add(job).add(conn);
  const auto vm = Parse("run", "", all, args);
  if (!vm) throw UsageError("--help");
  return {JobFrom(*vm, LauncherEnv{}), Forwarded(*vm, {job, conn})};
}

std::string UsageErrorOf(const std::vector<std::string>& args) {
  try {
    RunArgs(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// The connection flags of a server or worker (source kGiven) or of a launcher (kMadeHere),
// with GRADWIRE_TOKEN = env_token; the UsageError's text, or "" if they were taken.
std::string DeviceErrorOf(const std::vector<std::string>& args, TokenSource source,
                          std::optional<std::string> env_token = std::nullopt) {
  const auto vm = Parse("server", "", ConnectionFlags(), args);
  LauncherEnv env;
  env.token = std::move(env_token);
  try {
    DeviceFrom(*vm, env, source);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// A server or worker without a token would let anyone in: it refuses to start unless told
// --insecure-no-token; a launcher makes its own. A job id or token longer than the handshake
// carries would never match: refused when parsed, not at every connect.
TEST(FlagsTest, AServerOrWorkerNeedsATokenThatFitsTheHandshake) {
  EXPECT_THAT(DeviceErrorOf({}, TokenSource::kGiven), HasSubstr("no token: set GRADWIRE_TOKEN"));
  EXPECT_THAT(DeviceErrorOf({}, TokenSource::kGiven, ""), HasSubstr("no token"));
  EXPECT_EQ(DeviceErrorOf({}, TokenSource::kGiven, "s3cret"), "");
  EXPECT_EQ(DeviceErrorOf({"--token", "s3cret"}, TokenSource::kGiven), "");
  EXPECT_EQ(DeviceErrorOf({"--insecure-no-token"}, TokenSource::kGiven), "");
  EXPECT_EQ(DeviceErrorOf({}, TokenSource::kMadeHere), "");
  const std::string longest(128, 't'), too_long(129, 't');
  EXPECT_EQ(DeviceErrorOf({"--token", longest, "--job-id", longest}, TokenSource::kGiven), "");
  EXPECT_THAT(DeviceErrorOf({"--token", too_long}, TokenSource::kGiven),
              HasSubstr("is 129 bytes; at most 128"));
  EXPECT_THAT(DeviceErrorOf({}, TokenSource::kGiven, too_long), HasSubstr("GRADWIRE_TOKEN"));
  EXPECT_THAT(DeviceErrorOf({"--job-id", too_long}, TokenSource::kMadeHere),
              HasSubstr("--job-id is 129 bytes; at most 128"));
}

TEST(FlagsTest, ParseBytesReadsUnits) {
  EXPECT_EQ(ParseBytes("4096", "x"), 4096u);
  EXPECT_EQ(ParseBytes("64K", "x"), 64u << 10);
  EXPECT_EQ(ParseBytes("100M", "x"), 100u << 20);
  EXPECT_EQ(ParseBytes("3GiB", "x"), 3ull << 30);
  EXPECT_EQ(ParseBytes("17179869183G", "x"), 17179869183ull << 30);  // the largest in G
  EXPECT_THROW(ParseBytes("4T", "x"), UsageError);
  EXPECT_THROW(ParseBytes("M", "x"), UsageError);
}

// Was 18446744073709551615G == 2^64 - 2^30: the product wrapped silently.
TEST(FlagsTest, ParseBytesRefusesSizesBeyond64Bits) {
  EXPECT_THROW(ParseBytes("17179869184G", "x"), UsageError);
  EXPECT_THROW(ParseBytes("18446744073709551615G", "x"), UsageError);
  EXPECT_THROW(ParseBytes("18014398509481984K", "x"), UsageError);
  EXPECT_EQ(ParseBytes("18446744073709551615", "x"), UINT64_MAX);
}

// Was undefined behaviour (a double beyond int64 converted to milliseconds).
TEST(FlagsTest, TimeoutIsBounded) {
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--timeout=1e300"}), HasSubstr("--timeout"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--timeout=inf"}), HasSubstr("--timeout"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--timeout=0"}), HasSubstr("--timeout"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--join-timeout=0"}), HasSubstr("--join-timeout"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--join-timeout=nan"}), HasSubstr("--join-timeout"));
  EXPECT_EQ(RunArgs({"--num-workers=2", "--timeout=1e6"}).job.timeout,
            std::chrono::milliseconds(1'000'000'000));
}

// Start-up waits --join-timeout for each join, never less than the silence --timeout.
TEST(FlagsTest, StartUpWaitsTheJoinTimeoutAndAtLeastTheTimeout) {
  using std::chrono::milliseconds;
  EXPECT_EQ(RunArgs({"--num-workers=2", "--timeout=1"}).job.StartupTimeout(),
            JobConfig::kDefaultJoinTimeout);
  EXPECT_EQ(RunArgs({"--num-workers=2", "--timeout=1", "--join-timeout=5"}).job.StartupTimeout(),
            milliseconds(5000));
  EXPECT_EQ(RunArgs({"--num-workers=2", "--timeout=300"}).job.StartupTimeout(),
            milliseconds(300000));
}

// Was "--job-id=", which the child process refused: `gradwire run --job-id ""` failed.
TEST(FlagsTest, ForwardedEmptyValuesReadBackInTheChild) {
  const Parsed parent = RunArgs({"--num-workers=2", "--job-id", "", "--rdma-device", ""});
  std::vector<std::string> child_args = parent.forwarded;
  child_args.push_back("--num-workers=2");
  const Parsed child = RunArgs(child_args);
  EXPECT_EQ(child.forwarded, parent.forwarded);
  EXPECT_EQ(child.job.Fingerprint(), parent.job.Fingerprint());
}

// Was an endless loop inside boost::program_options while formatting the error message
// (without the fix this test hangs until ctest's timeout).
TEST(FlagsTest, AnUnknownFlagHoldingAPlaceholderIsRefusedNotHung) {
  EXPECT_THAT(UsageErrorOf({"--workloa%original_token%", "--num-workers=2"}),
              HasSubstr("placeholder"));
  EXPECT_THAT(UsageErrorOf({"--no-such-flag=5%"}), HasSubstr("no-such-flag"));
}

// Coded rounds take every window policy (one window per message); --sync r2sp is a sync rule,
// which --coding replaces, so it is refused saying what to give instead.
TEST(FlagsTest, CodingTakesWindowsButNotR2sp) {
  for (const std::string windows :
       {"burst", "round-robin:warmup=5", "slots:period=40,slot=10", "topology:racks=2"}) {
    const Parsed p = RunArgs({"--num-workers=4", "--coding", "gc-cr:s=1", "--windows", windows});
    ASSERT_TRUE(p.job.coding.has_value()) << windows;
    ASSERT_TRUE(p.job.windows.has_value()) << windows;
    EXPECT_EQ(p.job.windows->ToString(), sched::WindowSpec::Parse(windows).ToString());
  }
  EXPECT_FALSE(RunArgs({"--num-workers=4", "--coding", "mm:r=2"}).job.windows.has_value());
  EXPECT_THAT(UsageErrorOf({"--num-workers=4", "--coding", "uncoded", "--sync", "r2sp"}),
              HasSubstr("--windows round-robin"));
}

// Batch tuning rides on R2SP's window requests: other rules and coded rounds are refused with
// what it needs; a batch of 0 rows is refused at the flag, not deep in a workload.
TEST(FlagsTest, BatchTuningNeedsR2sp) {
  const Parsed p = RunArgs({"--num-workers=4", "--sync", "r2sp", "--batch-tuning"});
  EXPECT_TRUE(p.job.batch_tuning);
  EXPECT_NE(p.job.Describe(), RunArgs({"--num-workers=4", "--sync", "r2sp"}).job.Describe())
      << "a worker without tuning must not join a tuned job (the fingerprint)";
  for (const std::string sync : {"bsp", "asp", "ssp:2"}) {
    EXPECT_THAT(UsageErrorOf({"--num-workers=4", "--sync", sync, "--batch-tuning"}),
                HasSubstr("needs --sync r2sp"))
        << sync;
  }
  EXPECT_THAT(UsageErrorOf({"--num-workers=4", "--coding", "uncoded", "--batch-tuning"}),
              HasSubstr("needs --sync r2sp"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=4", "--batch", "0"}), HasSubstr("--batch must be"));
}

// Was sync=coded in the summary: --coding runs its own rounds and silently ignored --sync.
TEST(FlagsTest, CodingRefusesAnotherSyncRule) {
  for (const std::string sync : {"asp", "ssp:2"}) {
    const std::string error =
        UsageErrorOf({"--num-workers=4", "--coding", "uncoded", "--sync", sync});
    EXPECT_THAT(error, HasSubstr("--coding")) << sync;
    EXPECT_THAT(error, HasSubstr("--sync " + sync)) << sync;
  }
  EXPECT_TRUE(RunArgs({"--num-workers=4", "--coding", "uncoded", "--sync", "bsp"}).job.coding);
}

// Was accepted, and the coded run wrote no accuracy.csv.
TEST(FlagsTest, EvalEveryRefusesCoding) {
  EXPECT_THAT(UsageErrorOf({"--num-workers=4", "--coding", "uncoded", "--eval-every", "5"}),
              HasSubstr("--eval-every"));
  EXPECT_EQ(RunArgs({"--num-workers=4", "--eval-every", "5"}).job.eval_every, 5u);
}

// Were accepted: a negative or zero learning rate, or a momentum that never forgets.
TEST(FlagsTest, OptimizerValuesAreInRange) {
  for (const std::string lr : {"-1", "0", "nan", "inf"}) {
    EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--lr", lr}), HasSubstr("--lr")) << lr;
  }
  for (const std::string momentum : {"1", "-0.1", "nan"}) {
    EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--momentum", momentum}), HasSubstr("--momentum"))
        << momentum;
  }
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--weight-decay", "-1"}),
              HasSubstr("--weight-decay"));
  EXPECT_EQ(RunArgs({"--num-workers=2", "--momentum", "0", "--lr", "0.5"}).job.optimizer.momentum,
            0.0);
}

// Were accepted: a straggler model naming a worker the job does not have did nothing.
TEST(FlagsTest, StragglerWorkersAreWithinTheJob) {
  for (const std::string model : {"persistent:workers=0+4,factor=2", "fail-stop:worker=9,at=3"}) {
    const std::string error = UsageErrorOf({"--num-workers=4", "--straggler", model});
    EXPECT_THAT(error, HasSubstr("--straggler")) << model;
    EXPECT_THAT(error, HasSubstr("--num-workers 4")) << model;
  }
  EXPECT_THAT(UsageErrorOf({"--num-workers=4", "--straggler", "fail-stop:worker=9,at=3"}),
              HasSubstr("worker 9"));
  RunArgs({"--num-workers=4", "--straggler", "persistent:workers=0+3,factor=2"});
}

// Were accepted: no iteration to run, and a timeout that rounds to 0 ms.
TEST(FlagsTest, IterationsAndTimeoutArePositive) {
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--iterations", "0"}), HasSubstr("--iterations"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--timeout", "0.0001"}), HasSubstr("--timeout"));
}

// Were accepted here and refused only once the servers or workers had started.
TEST(FlagsTest, ModelSizeIsCheckedBeforeStarting) {
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--num-servers=3", "--workload", "synthetic",
                            "--grad-bytes", "8"}),
              HasSubstr("fewer servers"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--workload", "nonesuch"}),
              HasSubstr("--workload nonesuch"));
  // A coded round of the softmax model in parts of one float needs more writes than the
  // immediate numbers.
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--coding", "uncoded", "--part-bytes", "4"}),
              HasSubstr("--part-bytes"));
}

// Was ignored: `gradwire bench` runs over TCP on loopback.
TEST(FlagsTest, BenchRefusesRdmaOptions) {
  for (const std::string flag : {"--rdma-device=rxe0", "--rdma-busy-poll"}) {
    const std::string command = std::string(GW_BINARY) + " bench " + flag + " 2>&1";
    FILE* out = popen(command.c_str(), "r");
    ASSERT_NE(out, nullptr);
    std::string text;
    char buf[256];
    while (fgets(buf, sizeof buf, out) != nullptr) text += buf;
    const int status = pclose(out);
    ASSERT_TRUE(WIFEXITED(status)) << text;
    EXPECT_EQ(WEXITSTATUS(status), 2) << text;
    EXPECT_THAT(text, HasSubstr(flag.substr(0, flag.find('=')) + " does not apply")) << text;
  }
}

// Was 4294967295 workers (Boost reads -1 into an unsigned flag) and "unexpected error:
// std::bad_alloc" from the server it started.
TEST(FlagsTest, NegativeCountsAreRefused) {
  EXPECT_THAT(UsageErrorOf({"--num-workers", "-1"}), HasSubstr("--num-workers"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=-1"}), HasSubstr("not -1"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--iterations=-3"}), HasSubstr("--iterations"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--batch", " -5"}), HasSubstr("--batch"));
  EXPECT_EQ(UsageErrorOf({"--num-workers=2", "--lr=0.5"}), "");  // a number that may be signed
}

// The completion queue's spin before sleeping: microseconds, at most a second, none by default.
TEST(FlagsTest, CompletionSpinIsBoundedAndReachesTheDevice) {
  auto spin_of = [](const std::vector<std::string>& args) {
    const auto vm = Parse("server", "", ConnectionFlags(), args);
    return DeviceFrom(*vm, LauncherEnv{}, TokenSource::kMadeHere).completion_spin;
  };
  EXPECT_EQ(spin_of({}), std::chrono::nanoseconds::zero());
  EXPECT_EQ(spin_of({"--completion-spin-us", "50"}), std::chrono::microseconds(50));
  EXPECT_THAT(DeviceErrorOf({"--completion-spin-us", "1000001"}, TokenSource::kMadeHere),
              HasSubstr("--completion-spin-us must be at most 1000000"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--completion-spin-us=-1"}),
              HasSubstr("--completion-spin-us must be a whole number >= 0"));
}

// Was two whole descriptions for a refused worker to compare by eye.
TEST(FlagsTest, DiffFlagsNamesOnlyTheFlagsThatDiffer) {
  const JobConfig server = RunArgs({"--num-workers=2", "--batch=64"}).job;
  const JobConfig worker = RunArgs({"--num-workers=2", "--batch=32", "--lr=0.2"}).job;
  EXPECT_EQ(server.DiffFlags(worker.Describe(), "server", "worker"),
            "--batch: server 64, worker 32; --lr: server 0.1, worker 0.2");
  EXPECT_EQ(server.DiffFlags(server.Describe(), "server", "worker"), "");
  const JobConfig mlp = RunArgs({"--num-workers=2", "--batch=64", "--workload=mlp"}).job;
  EXPECT_EQ(server.DiffFlags(mlp.Describe(), "server", "worker"),
            "--hidden: server (not set), worker 128; --workload: server softmax, worker mlp");
  EXPECT_THAT(server.DiffFlags(RunArgs({"--num-workers=3"}).job.Describe(), "a", "b"),
              HasSubstr("--num-workers: a 2, b 3"));
}

TEST(FlagsTest, ModelWorkloadsAndTheirFlags) {
  const Parsed p = RunArgs({"--num-workers=2", "--workload", "model:resnet50", "--device-tflops",
                            "14", "--push-order", "priority:inflight=2"});
  EXPECT_EQ(p.job.workload.kind, "model");
  EXPECT_EQ(p.job.workload.model, "resnet50");
  EXPECT_EQ(p.job.workload.device_tflops, 14);
  EXPECT_EQ(p.job.push_order.name, "priority");
  EXPECT_EQ(p.job.push_order.inflight, 2u);
  const std::string described = p.job.Describe();
  EXPECT_THAT(described, HasSubstr("workload=model:resnet50 "));
  EXPECT_THAT(described, HasSubstr("device_tflops=14"));
  EXPECT_THAT(described, HasSubstr("push_order=priority:inflight=2"));
  // A child process gets the same job.
  std::vector<std::string> child = p.forwarded;
  child.push_back("--num-workers=2");
  EXPECT_EQ(RunArgs(child).job.Fingerprint(), p.job.Fingerprint());
  // The default device and order.
  const JobConfig plain = RunArgs({"--num-workers=2", "--workload", "model:alexnet"}).job;
  EXPECT_EQ(plain.workload.device_tflops, kDefaultDeviceTflops);
  EXPECT_EQ(plain.push_order, sched::PushOrderSpec{});
  EXPECT_EQ(p.job.DiffFlags(plain.Describe(), "a", "b"),
            "--device-tflops: a 14, b 1; --push-order: a priority:inflight=2, b (not set); "
            "--workload: a model:resnet50, b model:alexnet");
}

TEST(FlagsTest, ModelWorkloadRefusals) {
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--workload", "model:resnet"}),
              HasSubstr("unknown model 'resnet' (known: resnet18, resnet50"));
  EXPECT_THAT(
      UsageErrorOf({"--num-workers=2", "--workload", "model:alexnet", "--device-tflops", "0"}),
      HasSubstr("--device-tflops"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--push-order", "priority"}),
              HasSubstr("--workload softmax has none"));
  EXPECT_THAT(
      UsageErrorOf({"--num-workers=2", "--workload", "model:alexnet", "--push-order", "lifo"}),
      HasSubstr("--push-order"));
  EXPECT_THAT(
      UsageErrorOf({"--num-workers=2", "--workload", "model:alexnet", "--part-bytes", "1K"}),
      HasSubstr("--part-bytes 1024 with --workload model:alexnet"));
  EXPECT_THAT(
      UsageErrorOf({"--num-workers=2", "--workload", "model:alexnet", "--part-bytes", "1G"}),
      HasSubstr("the model's 244403360 bytes"));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--workload", "trace:/nonexistent/t.csv"}),
              HasSubstr("--workload trace:/nonexistent/t.csv: /nonexistent/t.csv"));
}

// A tensors: model (Python workers' passes) whose layout file, not just its name, is part of
// the job: hosts holding different files under one name are told apart by the fingerprint.
// Its parts may be ordered, within the partition bounds a layered model has.
TEST(FlagsTest, ATensorsModelIsKnownByItsLayoutFileAndItsPartsMayBeOrdered) {
  const std::string dir = ::testing::TempDir() + "gw-flags-tensors";
  std::filesystem::remove_all(dir);  // a run killed mid-test leaves its FIFO, which open() waits on
  std::filesystem::create_directories(dir);
  const std::string prefix = dir + "/m";
  const auto write = [&](const char* csv) {
    std::ofstream(prefix + ".csv") << csv;
    const std::vector<float> zeros(4096);
    std::ofstream(prefix + ".f32", std::ios::binary)
        .write(reinterpret_cast<const char*>(zeros.data()),
               static_cast<std::streamsize>(zeros.size() * sizeof(float)));
  };
  const std::vector<std::string> args = {
      "--num-workers=2", "--workload", "tensors:" + prefix, "--push-order", "priority",
      "--part-bytes",    "4K"};
  write("layer,params\na,2048\nb,2048\n");
  const Parsed first = RunArgs(args);
  EXPECT_EQ(first.job.push_order.name, "priority");
  EXPECT_THAT(first.job.Describe(), HasSubstr(" layout_file="));
  std::vector<std::string> child = first.forwarded;
  child.push_back("--num-workers=2");
  EXPECT_EQ(RunArgs(child).job.Fingerprint(), first.job.Fingerprint());
  write("layer,params\na,2047\nb,2049\n");  // the same size and name, another layout
  const JobConfig second = RunArgs(args).job;
  EXPECT_NE(second.Fingerprint(), first.job.Fingerprint());
  EXPECT_THAT(second.DiffFlags(first.job.Describe(), "server", "worker 1"),
              HasSubstr("--workload's file (its content's digest): server "));
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--workload", "tensors:" + prefix, "--push-order",
                            "priority", "--part-bytes", "1M"}),
              HasSubstr("the model's 16384 bytes"));
  // Unordered, a tensors: model takes any part size (the default 4M: the whole model).
  EXPECT_EQ(RunArgs({"--num-workers=2", "--workload", "tensors:" + prefix}).job.part_bytes,
            4u << 20);
  EXPECT_THAT(RunArgs({"--num-workers=2"}).job.Describe(), Not(HasSubstr("layout_file")));
  // A FIFO under the name is refused by the trace reader, not waited on for a writer.
  std::filesystem::remove(prefix + ".csv");
  ASSERT_EQ(mkfifo((prefix + ".csv").c_str(), 0600), 0);
  EXPECT_THAT(UsageErrorOf({"--num-workers=2", "--workload", "tensors:" + prefix}),
              HasSubstr("not a regular file"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gw::cli
