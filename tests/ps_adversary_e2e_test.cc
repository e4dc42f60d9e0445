// The trust boundary replayed against live jobs (issue 19): an insider worker holding the
// token and a real rank (tests/adversary.h) and strangers do what was observed to poison,
// flood or crash a job. Each job either finishes with the undisturbed run's accuracy or ends
// with a clear error naming the peer or file; the server's memory and log stay bounded.
#include <gtest/gtest.h>  // first, as everywhere: Boost.Asio's awaitable.hpp needs <utility>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio.hpp>
#include <fstream>
#include <limits>
#include <thread>

#include "apps/gradwire/flags.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "ps/checkpoint.h"
#include "ps/messages.h"
#include "tests/adversary.h"
#include "tests/e2e_transport.h"

namespace gw::e2e {
namespace {

using adversary::InsiderWorker;
using Push = InsiderWorker::Push;

JobConfig JobOf(const std::vector<std::string>& flags) {
  const auto vm = cli::Parse("worker", "", cli::JobFlags(), flags);
  return cli::JobFrom(*vm, cli::LauncherEnv{});
}

DeviceOptions InsiderDevice(uint32_t rank) {
  auto o = testing::Options({Role::kWorker, rank}, kTestToken);
  o.job_id = "gradwire";
  return o;
}

// The largest resident set (VmHWM) a process reached, sampled every 20 ms while it runs.
class PeakMemory {
 public:
  explicit PeakMemory(pid_t pid)
      : thread_([this, pid] {
          while (!stop_) {
            std::ifstream status("/proc/" + std::to_string(pid) + "/status");
            std::string key;
            double kib = 0;
            while (status >> key) {
              if (key == "VmHWM:" && status >> kib)
                peak_mib_ = std::max<double>(peak_mib_, kib / 1024);
            }
            std::this_thread::sleep_for(milliseconds(20));
          }
        }) {}
  ~PeakMemory() { Stop(); }
  double Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return peak_mib_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<double> peak_mib_{0};
  std::thread thread_;
};

size_t LineCount(const std::string& text) { return Lines(text).size(); }

class AdversaryTest : public TransportE2e {
 protected:
  // Softmax on Fashion-MNIST, BSP: workers 0-2 real, worker 3 the insider. Parts of 8 KiB so
  // that a push is several writes (a misplaced part can exist).
  std::vector<std::string> Job() const {
    return {"--num-workers",
            "4",
            "--iterations",
            std::to_string(kIterations),
            "--part-bytes",
            "8K",
            "--timeout",
            slow() ? "60" : "20",  // under TSan, four processes loading Fashion-MNIST join late
            "--continue-without-lost-workers"};
  }
  static constexpr uint64_t kIterations = 200;
  static constexpr uint64_t kLeavesAt = 60;  // the insider's early done

  struct Outcome {
    std::optional<double> accuracy;
    std::string server_log;
    double server_peak_mib = 0;
    std::string out;
  };

  // One job with the insider pushing `schedule(i)` for i < kLeavesAt, then saying done early;
  // `meanwhile` runs once the insider has joined.
  Outcome RunJob(const std::string& name, const std::function<Push(uint64_t)>& schedule,
                 const std::function<void(uint16_t port)>& meanwhile) {
    Outcome o;
    o.out = dir_ / name;
    uint16_t port = 0;
    Proc& server = StartServer(Job(), &port, o.out);
    EXPECT_NE(port, 0);
    if (port == 0) return o;
    PeakMemory memory(server.pid);
    std::vector<Proc*> workers;
    for (uint32_t w = 0; w < 3; ++w) workers.push_back(&StartWorker(w, port, Job(), o.out));
    InsiderWorker insider(JobOf(Job()), 3, InsiderDevice(3));
    std::string insider_error;
    std::thread attack([&] {
      try {
        insider.Join(testing::Loopback(GetParam(), port));
        for (uint64_t i = 0; i < kLeavesAt; ++i) {
          const Push kind = schedule(i);
          if (i == 9) {
            // Unknown control messages, and one known type of the wrong size, 500 each.
            for (int k = 0; k < 500; ++k) insider.SendRaw(999, {1, 2, 3});
            for (int k = 0; k < 500; ++k) insider.Send(MsgType::kWindowRequest, {7});
          }
          insider.Iterate(i, kind);
        }
        insider.Send(MsgType::kDone);
        std::this_thread::sleep_for(milliseconds(200));
        insider.Shutdown();
      } catch (const std::exception& e) {
        insider_error = e.what();
      }
    });
    // Strangers come once every worker joined (a rank claimed before its worker would take it:
    // the threat model in the README says so).
    if (WaitAllJoined(server, 4, milliseconds(120000))) meanwhile(port);
    attack.join();
    EXPECT_EQ(insider_error, "") << "the insider could not play its part";
    EXPECT_EQ(server.Wait(milliseconds(300000)), std::optional<int>(0)) << server.err();
    for (Proc* w : workers)
      EXPECT_EQ(w->Wait(milliseconds(60000)), std::optional<int>(0)) << w->err();
    o.server_peak_mib = memory.Stop();
    o.server_log = server.err();
    o.accuracy = SummaryValue(o.out + "/summary.csv", "test_accuracy");
    return o;
  }
};

// The insider pushes NaN, one NaN, Inf and 1e38 gradients, a part twice (the second holding
// NaN), zero-length and misplaced parts, floods unknown and malformed control messages and
// says done early; strangers claim the server's identity, a rank the job lacks and a live
// worker's, try a wrong token, no token with a job id carrying a newline and escape codes,
// and hold 200 raw connections. The job ends as the undisturbed one does (the insider's
// pushes honest and its early leave the same), every refusal names the peer, memory and log
// stay bounded.
TEST_P(AdversaryTest, AnInsiderAndStrangersNeitherCorruptTheModelNorFloodTheServer) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    GTEST_SKIP() << "Fashion-MNIST missing (apt-get install dataset-fashion-mnist)";
  }
  const Outcome calm = RunJob(
      "calm", [](uint64_t) { return Push::kZeros; }, [](uint16_t) {});
  ASSERT_TRUE(calm.accuracy.has_value());

  // Never three dropped pushes in a row: --lose-after-rejected's 3 would lose it sooner.
  const auto schedule = [](uint64_t i) {
    switch (i % 8) {
      case 1:
        return Push::kNan;
      case 2:
        return Push::kOneNan;
      case 4:
        return i % 16 == 4 ? Push::kInf : Push::kHuge;
      case 5:
        return Push::kDuplicateNan;
      case 7:
        return Push::kEmptyAndMisplaced;
      default:
        return Push::kZeros;
    }
  };
  const std::string hostile_job_id = "x\nerror: forged line\x1b[2J";
  const Outcome attacked = RunJob("attacked", schedule, [&](uint16_t port) {
    const Address at = testing::Loopback(GetParam(), port);
    const auto try_connect = [&](PeerId claim, const std::string& token,
                                 const std::string& job_id) {
      auto o = testing::Options(claim, token);
      o.job_id = job_id;
      o.connect_timeout = milliseconds(1000);
      std::string why;
      auto stranger = testing::MakeDevice(GetParam(), o, &why);
      ASSERT_TRUE(stranger) << why;
      EXPECT_THROW(stranger->Connect(at, {Role::kServer, 0}), Error)
          << PsRoles().Name(claim) << " was let in";
    };
    try_connect({Role::kServer, 0}, kTestToken, "gradwire");
    try_connect({Role::kWorker, 9}, kTestToken, "gradwire");
    try_connect({Role::kWorker, 0}, kTestToken, "gradwire");
    try_connect({Role::kWorker, 1}, "not-the-token", "gradwire");
    try_connect({Role::kWorker, 2}, "", hostile_job_id);
    if (GetParam() == TransportKind::kTcp) {
      boost::asio::io_context io;
      std::vector<boost::asio::ip::tcp::socket> held;
      for (int i = 0; i < 200; ++i) {
        held.emplace_back(io);
        boost::system::error_code ec;
        held.back().connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
      }
      std::this_thread::sleep_for(milliseconds(500));
    }
  });
  ASSERT_TRUE(attacked.accuracy.has_value());
  EXPECT_NEAR(*attacked.accuracy, *calm.accuracy, 0.02) << "the model was not corrupted";

  const std::string& log = attacked.server_log;
  const std::string csv = attacked.out + "/server-0.csv";
  // NaN, one NaN, Inf or 1e38 (x2 in 60 iterations each); parts twice may taint or be caught.
  EXPECT_GE(SummaryValue(csv, "rejected_nonfinite").value_or(0), 20) << log;
  EXPECT_EQ(SummaryValue(csv, "workers_lost"), std::optional<double>(1)) << log;
  EXPECT_EQ(CountLines(log, {"worker 3 lost at iteration 60", "said done after 60 of 200"}), 1)
      << log;
  EXPECT_GE(
      CountLines(log, {"worker 3", "NaN, Inf or values large enough to overflow the sum, dropped"}),
      1);
  EXPECT_GE(CountLines(log, {"claims to be server 0, this process itself"}), 1) << log;
  EXPECT_GE(CountLines(log, {"worker 9 may not connect here"}), 1) << log;
  EXPECT_GE(CountLines(log, {"worker 0 is already connected"}), 1) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << "an escape code reached the log";
  EXPECT_EQ(log.find("\nerror: forged"), std::string::npos) << "a peer forged a log line";
  EXPECT_LE(LineCount(log), LineCount(calm.server_log) + 150) << log;
  EXPECT_LE(attacked.server_peak_mib, calm.server_peak_mib + 64)
      << "calm " << calm.server_peak_mib << " MiB";
}

INSTANTIATE_TEST_SUITE_P(Transports, AdversaryTest,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         TransportName);

// --- TCP only: a peer that stops reading, which takes a raw socket. ---

class RawPeer {
 public:
  RawPeer(uint16_t port) : socket_(io_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  }
  void Send(FrameType type, uint32_t imm, std::span<const uint8_t> payload, uint32_t region = 0,
            uint64_t offset = 0, boost::system::error_code* ec = nullptr) {
    const auto head = EncodeHeader(
        {.type = type, .imm = imm, .region = region, .offset = offset, .length = payload.size()});
    const std::array<boost::asio::const_buffer, 2> bufs = {
        boost::asio::buffer(head), boost::asio::buffer(payload.data(), payload.size())};
    if (ec) {
      boost::asio::write(socket_, bufs, *ec);
    } else {
      boost::asio::write(socket_, bufs);
    }
  }
  // Reads frames until one of `type` (control: of control type `control`) and returns its
  // payload; a write's payload is read and dropped.
  std::vector<uint8_t> ReadUntil(FrameType type, uint16_t control = 0) {
    while (true) {
      HeaderBytes head;
      boost::asio::read(socket_, boost::asio::buffer(head));
      std::string why;
      const auto h = ParseHeader(head, &why);
      if (!h) throw Error("bad frame from the server: " + why);
      std::vector<uint8_t> payload(h->length);
      boost::asio::read(socket_, boost::asio::buffer(payload));
      if (h->type == type && (type != FrameType::kControl || h->imm == control)) return payload;
    }
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
};

// A worker that joins, pushes once and then stops reading its parameters while it floods
// 64 KiB control messages: the server held its release for it and queued what it sent. It is
// dropped once it queued more than the bound, with the reason, the server's memory stays
// within tens of MiB of where it was, and the job goes on with the other worker.
TEST(AdversaryTcpTest, AStalledReaderFloodingControlMessagesIsDroppedNotBuffered) {
  TempDir dir;
  Processes procs(dir.path());
  const std::vector<std::string> job = {"--num-workers",
                                        "2",
                                        "--sync",
                                        "asp",
                                        "--workload",
                                        "synthetic",
                                        "--grad-bytes",
                                        "32M",
                                        "--iterations",
                                        "50",
                                        "--timeout",
                                        "20",
                                        "--continue-without-lost-workers"};
  const std::string port_file = dir / "server.port";
  std::vector<std::string> args = {
      "server",      "--rank",  "0",     "--listen", "tcp://127.0.0.1:0",
      "--port-file", port_file, "--out", dir.path()};
  args.insert(args.end(), job.begin(), job.end());
  Proc& server = procs.Start("server", args);
  const uint16_t port = WaitForPort(server, port_file, milliseconds(60000));
  ASSERT_NE(port, 0);
  std::vector<std::string> wargs = {
      "worker", "--rank",  "0", "--servers", "tcp://127.0.0.1:" + std::to_string(port),
      "--out",  dir.path()};
  wargs.insert(wargs.end(), job.begin(), job.end());
  Proc& worker0 = procs.Start("worker 0", wargs);

  const JobConfig config = JobOf(job);
  const size_t shard_bytes =
      config.Layout(*MakeWorkload(config.workload, 1, 2, false)).shard_size(0) * sizeof(float);
  RawPeer raw(port);
  Hello hello;
  hello.peer = {Role::kWorker, 1};
  hello.job_id = "gradwire";
  hello.token = kTestToken;
  raw.Send(FrameType::kHello, 0, EncodeHello(hello));
  raw.ReadUntil(FrameType::kHelloAccept);
  JoinMsg join;
  join.fingerprint = config.Fingerprint();
  join.params.id = 1;
  join.params.length = shard_bytes;
  raw.Send(FrameType::kControl, static_cast<uint16_t>(MsgType::kJoin), Encode(join));
  const auto welcome = Decode<WelcomeMsg>(
      raw.ReadUntil(FrameType::kControl, static_cast<uint16_t>(MsgType::kWelcome)));
  ASSERT_TRUE(welcome.has_value());
  // One honest push of zeros, part by part; from here on nothing is read.
  const auto parts = config.Layout(*MakeWorkload(config.workload, 1, 2, false)).parts(0);
  for (uint32_t p = 0; p < parts.size(); ++p) {
    const std::vector<uint8_t> zeros(parts[p].size * sizeof(float), 0);
    raw.Send(FrameType::kWrite, Imm::Encode(0, p), zeros, welcome->slot.id,
             parts[p].begin * sizeof(float));
  }
  PeakMemory memory(server.pid);
  std::this_thread::sleep_for(milliseconds(300));
  const double before_mib = memory.Stop();
  PeakMemory during(server.pid);
  const std::vector<uint8_t> big(Connection::kMaxControlBytes, 7);
  int sent = 0;
  boost::system::error_code ec;
  for (; sent < 4096 && !ec; ++sent) {  // 256 MiB if nothing stopped it
    raw.Send(FrameType::kControl, 999, big, 0, 0, &ec);
  }
  EXPECT_TRUE(ec) << "the server still read after " << sent << " messages of 64 KiB";
  EXPECT_LT(sent, 1024);
  EXPECT_EQ(server.Wait(milliseconds(120000)), std::optional<int>(0)) << server.err();
  EXPECT_EQ(worker0.Wait(milliseconds(60000)), std::optional<int>(0)) << worker0.err();
  const double peak_mib = during.Stop();
  EXPECT_LE(peak_mib, before_mib + 64) << "before the flood " << before_mib << " MiB";
  EXPECT_EQ(CountLines(server.err(), {"worker 1 lost", "sent more than 4 MiB"}), 1) << server.err();
}

// A server (a fake one here) that floods a worker with parameter writes of wrong tags and
// then drops it: the worker's log stays bounded and it ends with an error, not a crash.
TEST(AdversaryTcpTest, AServerWritingWrongTagsThenDroppingTheWorkerEndsItCleanly) {
  TempDir dir;
  Processes procs(dir.path());
  auto o = testing::Options({Role::kServer, 0}, kTestToken);
  o.job_id = "gradwire";
  auto fake = CreateDevice(TransportKind::kTcp, o);
  fake->Listen(testing::Loopback(TransportKind::kTcp, 0));
  Region& slot = fake->RegisterRegion(64 * 1024, {Role::kWorker, 0});
  std::vector<float> junk(16 * 1024, std::numeric_limits<float>::quiet_NaN());
  fake->RegisterMemory(std::as_writable_bytes(std::span(junk)), {Role::kServer, 0});
  const std::vector<std::string> job = {"--num-workers", "1",   "--workload",   "synthetic",
                                        "--grad-bytes",  "64K", "--iterations", "5",
                                        "--timeout",     "2"};
  std::vector<std::string> args = {"worker",
                                   "--rank",
                                   "0",
                                   "--servers",
                                   "tcp://127.0.0.1:" + std::to_string(fake->bound_port()),
                                   "--out",
                                   dir.path()};
  args.insert(args.end(), job.begin(), job.end());
  Proc& worker = procs.Start("worker", args);
  bool flooded = false;
  std::vector<Completion> batch;
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(30000);
  while (!worker.Poll() && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    fake->cq().Wait(batch, milliseconds(50));
    for (const Completion& c : batch) {
      if (flooded || c.kind != CompletionKind::kControl ||
          c.control_type != static_cast<uint16_t>(MsgType::kJoin)) {
        continue;
      }
      const auto join = Decode<JoinMsg>(c.payload);
      auto conn = fake->Find(c.peer);
      if (!join || !conn) continue;
      WelcomeMsg welcome;
      welcome.slot = slot.Describe();
      welcome.shard_size = junk.size();
      conn->Send(static_cast<uint16_t>(MsgType::kWelcome), Encode(welcome));
      for (uint32_t k = 0; k < 20000; ++k) {
        conn->Write(std::as_bytes(std::span(junk)).first(4096), join->params, 0,
                    Imm::Encode(1000 + k, k % 7), k);
      }
      conn->Close();
      flooded = true;
    }
  }
  fake->Shutdown();
  ASSERT_TRUE(flooded) << worker.err();
  ASSERT_TRUE(worker.exit_code.has_value()) << "the worker still runs after 30 s";
  EXPECT_EQ(*worker.exit_code, 1) << worker.err();
  EXPECT_LE(LineCount(worker.err()), 40u) << worker.err();
}

// Checkpoints are input too: planted beside a real one, a forged checkpoint of this job with
// a valid checksum holding NaN, a FIFO, a link to /dev/zero and a name whose iteration does
// not fit 64 bits are each refused by name, and the server resumes from the real one.
TEST(AdversaryTcpTest, PlantedCheckpointsAreRefusedByNameAndTheRealOneResumes) {
  TempDir dir;
  Processes procs(dir.path());
  const std::string ckpt = dir / "ckpt";
  const std::vector<std::string> job = {"--num-workers", "1",   "--workload",   "synthetic",
                                        "--grad-bytes",  "64K", "--iterations", "40",
                                        "--timeout",     "10"};
  const auto run = [&](const std::string& name, std::vector<std::string> server_flags) -> Proc& {
    const std::string port_file = dir / (name + ".port");
    std::vector<std::string> args = {
        "server",  "--rank",           "0",  "--listen", "tcp://127.0.0.1:0", "--port-file",
        port_file, "--checkpoint-dir", ckpt, "--out",    dir / name};
    args.insert(args.end(), server_flags.begin(), server_flags.end());
    args.insert(args.end(), job.begin(), job.end());
    Proc& server = procs.Start(name, args);
    const uint16_t port = WaitForPort(server, port_file, milliseconds(60000));
    std::vector<std::string> wargs = {"worker", "--rank", "0", "--servers",
                                      "tcp://127.0.0.1:" + std::to_string(port)};
    wargs.insert(wargs.end(), job.begin(), job.end());
    procs.Start(name + " worker", wargs);
    return server;
  };
  Proc& first = run("first", {"--checkpoint-every", "10"});
  ASSERT_EQ(first.Wait(milliseconds(60000)), std::optional<int>(0)) << first.err();
  const std::string newest = CheckpointPath(ckpt, 0, 40);
  ASSERT_TRUE(std::filesystem::exists(newest)) << first.err();
  ASSERT_TRUE(std::filesystem::exists(CheckpointPath(ckpt, 0, 30))) << first.err();
  // Forged from the newest: this job's, a valid checksum, and one NaN.
  Checkpoint forged = ReadCheckpoint(newest);
  forged.params[5] = std::numeric_limits<float>::quiet_NaN();
  std::filesystem::remove(newest);
  ASSERT_EQ(SaveCheckpoint(ckpt, forged, 100), newest);
  ASSERT_EQ(mkfifo(CheckpointPath(ckpt, 0, 35).c_str(), 0600), 0);
  std::filesystem::create_symlink("/dev/zero", CheckpointPath(ckpt, 0, 36));
  const std::string stray = ckpt + "/server-0-99999999999999999999999.ckpt";
  std::ofstream(stray) << "x";
  Proc& resumed = run("resumed", {"--resume"});
  ASSERT_EQ(resumed.Wait(milliseconds(60000)), std::optional<int>(0)) << resumed.err();
  const std::string log = resumed.err();
  EXPECT_EQ(CountLines(log, {newest, "parameter 5 is nan"}), 1) << log;
  EXPECT_EQ(CountLines(log, {CheckpointPath(ckpt, 0, 35), "not a regular file"}), 1) << log;
  EXPECT_EQ(CountLines(log, {CheckpointPath(ckpt, 0, 36), "not a regular file"}), 1) << log;
  EXPECT_EQ(CountLines(log, {stray, "iteration is out"}), 1) << log;
  EXPECT_EQ(SummaryValue(dir / "resumed/server-0.csv", "resumed_from"), std::optional<double>(30))
      << log;
}

}  // namespace
}  // namespace gw::e2e
