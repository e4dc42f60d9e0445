// Small-message latency of the TCP transport over loopback, beside sockperf's ping-pong as the
// reference (issue 21: grants, requests, write notices and small tensors all pay it).
//
// One connection between a server and a client device in this process, each with its own
// application thread, as sockperf's server and client are two processes: this thread is the
// client, an echo thread the server (as a server's and a worker's application threads are).
// Two rows per size, each half the median round trip of a ping-pong, as sockperf reports it:
// - control: the client Sends a control message of `size` payload bytes, the server's cq
//   reports it (kControl), the echo thread Sends one back, the client's cq reports it;
// - write: the client writes `size` bytes one-sided into the server's region, the server's cq
//   reports it landed (kWriteLanded), the echo thread writes back, the client's cq reports that.
// Each row in three modes: the default (event: a waiting thread runs its device's I/O itself,
// DeviceOptions::wait_runs_io, so the message wakes the thread that takes it); hand-off (the
// I/O thread receives and wakes the sleeping application thread: the path before, kept to show
// what the default saves); and spin (DeviceOptions::completion_spin: the waiting thread watches
// its queue for up to --spin_us before it runs the I/O).
// Reference: `sockperf ping-pong --tcp` over loopback with the same payload size, its median
// (percentile 50.000) one-way latency, measured in the same run just before.
// Rows run size by size, each size's sockperf run right before them, in --rounds rounds; a
// line gives the median over the rounds of the ratio and its range (this host's loopback
// latency drifts by tens of percent within a minute: one reference for all rows misjudged them).
// Options: --iters=N ping-pongs per row (default 20000; sizes above 4 KiB get fewer),
// --ref_seconds=S sockperf's run per size (default 2), --spin_us=US the spin rows' spin
// (default 50; 0 leaves them out), --rounds=N (default 3), plus Google Benchmark's.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "bench/bench_util.h"
#include "net/device.h"
#include "ps/roles.h"

namespace gw {
namespace {

using Clock = std::chrono::steady_clock;
using bench::Capture;
using bench::FreeLoopbackPort;
using bench::Median;

// Payload sizes: a window request or grant (16 B; sockperf's smallest message is 14) up to a
// small tensor (32 KiB).
constexpr size_t kSizes[] = {16, 64, 512, 4096, 32768};
constexpr size_t kMaxBytes = 32768;
static_assert(kMaxBytes <= Connection::kMaxControlBytes, "control rows send whole payloads");
// Control message types of this benchmark only (no ps/ logic reads them here).
constexpr uint16_t kPing = 1;
constexpr uint16_t kPong = 2;
constexpr uint16_t kStop = 3;  // the client is done: the echo thread ends
constexpr std::chrono::milliseconds kStallTimeout{10000};
// Untimed ping-pongs before each row: the first ones pay for cold caches and wake-up paths.
constexpr int kWarmUp = 200;

const PeerId kServerId{Role::kServer, 0};
const PeerId kClientId{Role::kWorker, 0};

struct Settings {
  int iters = 20000;
  int ref_seconds = 2;
  // Longer than a loopback round trip (~20-40 us), so a waiting thread rarely sleeps.
  int spin_us = 50;
  // Rounds of (reference, rows) per size; lines give the median ratio and the rounds' range.
  int rounds = 3;
};

// Ping-pongs for a row of `bytes`: fewer above 4 KiB, whose round trips take longer.
int Iters(const Settings& s, size_t bytes) {
  return std::max(100, s.iters / static_cast<int>(std::max<size_t>(1, bytes / 4096)));
}

// The median one-way latency (us) of sockperf's report: "---> percentile 50.000 =   10.229".
std::optional<double> SockperfMedian(const std::string& report) {
  const std::string key = "percentile 50.000 =";
  const size_t at = report.find(key);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = report.c_str() + at + key.size();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || !(v > 0)) return std::nullopt;
  return v;
}

// sockperf's TCP server on loopback, for the life of this object.
class SockperfServer {
 public:
  SockperfServer() : port_(std::to_string(FreeLoopbackPort())) {
    const char* args[] = {"sockperf",  "server", "--tcp",       "-i",
                          "127.0.0.1", "-p",     port_.c_str(), nullptr};
    pid_ = bench::SpawnQuiet(args, "sockperf");
  }
  ~SockperfServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  SockperfServer(const SockperfServer&) = delete;
  SockperfServer& operator=(const SockperfServer&) = delete;

  // The client's median one-way latency for `bytes` payloads, in us.
  double Median(size_t bytes, int seconds) const {
    const std::string client = "sockperf ping-pong --tcp -i 127.0.0.1 -p " + port_ + " -m " +
                               std::to_string(bytes) + " -t " + std::to_string(seconds) + " 2>&1";
    std::string out;
    int status = -1;
    // The server may still be starting: retry refused connections for a few seconds.
    for (int attempt = 0; attempt < 50 && status != 0; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      out = Capture(client, &status);
    }
    const auto us = status == 0 ? SockperfMedian(out) : std::nullopt;
    if (!us) throw Error("sockperf client failed (" + client + "):\n" + out);
    return *us;
  }

 private:
  std::string port_;
  pid_t pid_ = -1;
};

// How the application threads wait (a row's mode).
struct WaitMode {
  std::string name;  // in rows and the summary
  std::chrono::nanoseconds spin{0};
  bool wait_runs_io = true;
};

// A server and a client device connected over loopback, each with a region the other writes
// into and a source buffer; the server's application thread echoes every ping (a control
// message or a landed write) with one of the same size, until the client's kStop.
class LoopbackPair {
 public:
  explicit LoopbackPair(const WaitMode& mode)
      : server_(CreateDevice(TransportKind::kTcp, Options(kServerId, mode))),
        client_(CreateDevice(TransportKind::kTcp, Options(kClientId, mode))),
        server_dst_(server_->RegisterRegion(kMaxBytes, kClientId)),
        client_dst_(client_->RegisterRegion(kMaxBytes, kServerId)),
        src_(kMaxBytes, std::byte{7}),
        echo_src_(kMaxBytes, std::byte{9}),
        payload_(kMaxBytes, 7) {
    Address addr;
    addr.host = "127.0.0.1";
    server_->Listen(addr);
    addr.port = server_->bound_port();
    to_server_ = client_->Connect(addr, kServerId);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while ((to_client_ = server_->Find(kClientId)) == nullptr) {
      if (Clock::now() > deadline) throw Error("the server never saw the client connect");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    echo_ = std::thread([this] { Echo(); });
  }
  ~LoopbackPair() {
    stop_ = true;
    if (to_server_->open()) to_server_->Send(kStop, {});
    echo_.join();
    client_->Shutdown();
    server_->Shutdown();
  }
  LoopbackPair(const LoopbackPair&) = delete;
  LoopbackPair& operator=(const LoopbackPair&) = delete;

  // Half round trips of `bytes` ping-pongs (manual time): their median in us, or nullopt after
  // reporting an error on state.
  std::optional<double> Latency(benchmark::State& state, size_t bytes, bool control) {
    // Described once: a descriptor per round trip would be timed work no transport needs.
    const RemoteRegion to_server = server_dst_.Describe();
    auto round_trip = [&]() -> std::optional<double> {
      const auto t0 = Clock::now();
      if (control) {
        to_server_->Send(kPing, std::span(payload_).first(bytes));
      } else {
        to_server_->Write(std::span(src_).first(bytes), to_server, 0, 0, 0);
      }
      if (!Await(*client_, control ? CompletionKind::kControl : CompletionKind::kWriteLanded)) {
        return std::nullopt;
      }
      return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    for (int i = 0; i < kWarmUp; ++i) {
      if (!round_trip()) return Fail(state);
    }
    std::vector<double> half_us;
    half_us.reserve(state.max_iterations);
    for (auto _ : state) {
      const auto rtt = round_trip();
      if (!rtt) return Fail(state);
      state.SetIterationTime(*rtt / 2);
      half_us.push_back(*rtt / 2 * 1e6);
    }
    return Median(half_us);
  }

  bool failed() const { return failed_; }
  // Times the two application threads ran their device's I/O while they waited.
  uint64_t drives() const { return server_->cq().drives() + client_->cq().drives(); }

 private:
  static DeviceOptions Options(PeerId self, const WaitMode& mode) {
    DeviceOptions o = bench::PairOptions(self, "tcp_latency_bench");
    o.completion_spin = mode.spin;
    o.wait_runs_io = mode.wait_runs_io;
    return o;
  }

  // The server's application thread: answers each ping in kind, until kStop or a failure
  // (which the client then meets as a stall). Idle it waits on: every pair is made before the
  // first row runs, and a later mode's rows start minutes after its pair.
  void Echo() {
    const RemoteRegion to_client = client_dst_.Describe();
    std::vector<Completion> batch;
    while (!stop_) {
      batch.clear();
      if (server_->cq().Wait(batch, kStallTimeout, 1) == 0) continue;
      const Completion& c = batch.front();
      if (c.kind == CompletionKind::kPeerClosed || !c.ok) return;
      if (c.kind == CompletionKind::kControl) {
        if (c.control_type == kStop) return;
        to_client_->Send(kPong, std::span(payload_).first(c.payload.size()));
      } else if (c.kind == CompletionKind::kWriteLanded) {
        to_client_->Write(std::span(echo_src_).first(c.length), to_client, 0, 0, 0);
      }
    }
  }

  // Waits for a completion of `kind` on dev (a write's own kWriteDone on the way is skipped);
  // false (error_ set) on a failure, a lost connection or a stall.
  bool Await(Device& dev, CompletionKind kind) {
    while (true) {
      batch_.clear();
      if (dev.cq().Wait(batch_, kStallTimeout, 1) == 0) {
        error_ = "nothing arrived for 10 s";
        return false;
      }
      const Completion& c = batch_.front();
      if (c.kind == CompletionKind::kPeerClosed || !c.ok) {
        error_ = "lost the connection or a write failed: " + c.error;
        return false;
      }
      if (c.kind == kind) return true;
    }
  }

  std::optional<double> Fail(benchmark::State& state) {
    failed_ = true;
    state.SkipWithError(error_.c_str());
    return std::nullopt;
  }

  std::unique_ptr<Device> server_;
  std::unique_ptr<Device> client_;
  Region& server_dst_;
  Region& client_dst_;
  std::vector<std::byte> src_;
  std::vector<std::byte> echo_src_;  // the echo thread's own source: the client's may be in use
  std::vector<uint8_t> payload_;     // read-only: both threads send from it
  std::shared_ptr<Connection> to_server_;
  std::shared_ptr<Connection> to_client_;
  std::atomic<bool> stop_{false};  // the destructor's: the echo thread ends even without kStop
  std::thread echo_;
  std::vector<Completion> batch_;
  std::string error_;
  bool failed_ = false;
};

Settings ParseSettings(int* argc, char** argv) {
  Settings s;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string a = argv[i];
    if (a.starts_with("--iters=")) {
      s.iters = std::max(100, std::atoi(a.c_str() + 8));
    } else if (a.starts_with("--ref_seconds=")) {
      s.ref_seconds = std::max(1, std::atoi(a.c_str() + 14));
    } else if (a.starts_with("--rounds=")) {
      s.rounds = std::clamp(std::atoi(a.c_str() + 9), 1, 100);
    } else if (a.starts_with("--spin_us=")) {
      s.spin_us = std::clamp(std::atoi(a.c_str() + 10), 0, 1'000'000);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return s;
}

int Run(int argc, char** argv) {
  const Settings s = ParseSettings(&argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<WaitMode> modes = {{.name = "event"}, {.name = "hand-off", .wait_runs_io = false}};
  if (s.spin_us > 0) {
    modes.push_back({.name = "spin " + std::to_string(s.spin_us) + " us",
                     .spin = std::chrono::microseconds(s.spin_us)});
  }
  std::printf(
      "sockperf reference: TCP ping-pong over loopback, median one-way latency, %d s per size, "
      "right before that size's rows; gradwire: half the round trip of a ping-pong (median), an "
      "echo thread as the server; %d rounds of both\n",
      s.ref_seconds, s.rounds);
  std::fflush(stdout);
  const SockperfServer server;
  std::vector<std::unique_ptr<LoopbackPair>> pairs;
  std::transform(modes.begin(), modes.end(), std::back_inserter(pairs),
                 [](const WaitMode& mode) { return std::make_unique<LoopbackPair>(mode); });

  // Per round: sockperf's median per size, and each row's median (us) by row name.
  std::vector<std::map<size_t, double>> ref(s.rounds);
  std::vector<std::map<std::string, double>> median_us(s.rounds);
  auto row_of = [](const WaitMode& mode, bool control, size_t bytes) {
    std::string tag = mode.name == "event" ? "" : mode.name.substr(0, mode.name.find(' ')) + "/";
    return std::string(control ? "BM_TcpControlLat/" : "BM_TcpWriteLat/") + tag +
           std::to_string(bytes);
  };
  // Registered (and so run) round by round, size by size: the reference right before the rows
  // it is set against, since this host's latencies drift by tens of percent within a minute.
  for (int round = 0; round < s.rounds; ++round) {
    for (size_t bytes : kSizes) {
      const std::string ref_row = "Sockperf/" + std::to_string(bytes);
      benchmark::RegisterBenchmark(ref_row.c_str(),
                                   [&, round, bytes](benchmark::State& state) {
                                     for (auto _ : state) {
                                       ref[round][bytes] = server.Median(bytes, s.ref_seconds);
                                     }
                                     state.counters["median_us"] = ref[round][bytes];
                                   })
          ->Iterations(1)
          ->Unit(benchmark::kMicrosecond);
      for (size_t m = 0; m < modes.size(); ++m) {
        for (const bool control : {true, false}) {
          const std::string row = row_of(modes[m], control, bytes);
          LoopbackPair& pair = *pairs[m];
          benchmark::RegisterBenchmark(row.c_str(),
                                       [&, round, row, bytes, control](benchmark::State& state) {
                                         const auto us = pair.Latency(state, bytes, control);
                                         if (!us) return;
                                         median_us[round][row] = *us;
                                         state.counters["median_us"] = *us;
                                         state.counters["vs_sockperf"] = *us / ref[round][bytes];
                                       })
              ->Iterations(Iters(s, bytes))
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  // A row's line: the medians over the rounds of its latency, of the reference and of the
  // ratio of the two in each round, with the rounds' range of that ratio.
  bool failed = false;
  for (size_t m = 0; m < modes.size(); ++m) {
    const WaitMode& mode = modes[m];
    for (const bool control : {true, false}) {
      for (size_t bytes : kSizes) {
        const std::string row = row_of(mode, control, bytes);
        std::vector<double> us, refs, ratios;
        for (int round = 0; round < s.rounds; ++round) {
          const auto it = median_us[round].find(row);
          const auto r = ref[round].find(bytes);
          if (it == median_us[round].end() || r == ref[round].end()) continue;
          us.push_back(it->second);
          refs.push_back(r->second);
          ratios.push_back(it->second / r->second);
        }
        if (ratios.empty()) continue;
        const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
        std::printf(
            "TCP %s latency %zu B (%s): %.1f us = %.2f x sockperf ping-pong (%.1f us), "
            "%zu rounds %.2f-%.2f x\n",
            control ? "control" : "write", bytes, mode.name.c_str(), Median(us), Median(ratios),
            Median(refs), ratios.size(), *lo, *hi);
      }
    }
    // A mode that runs the I/O on waiting threads and never did measured the hand-off instead.
    if (mode.wait_runs_io && pairs[m]->drives() == 0) {
      std::printf("TCP latency (%s): the waiting threads never ran the I/O\n", mode.name.c_str());
      failed = true;
    }
  }
  for (const auto& pair : pairs) failed = failed || pair->failed();
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) {
  return gw::bench::Main(argc, argv, "tcp_latency_bench", gw::Run);
}
