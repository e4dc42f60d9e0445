// Throughput of one-sided TCP writes over loopback, beside iperf3 as the reference.
//
// One connection between a server and a client device in this process (each runs its own I/O
// thread). A write counts once it has landed: the server's cq reported kWriteLanded for it.
// kWindow writes stay in flight (all into one slot, see kWindow), so the pipe never
// drains between writes. The reference is iperf3, single stream on loopback with the same
// congestion control, measured in the same run just before the benchmarks.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
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

constexpr char kCongestionControl[] = "cubic";
constexpr int kIperfSeconds = 2;
// Loopback throughput on 2 shared cores swings by +-20% between runs: both sides of the ratio
// are medians (iperf3 runs, and --benchmark_repetitions of each row).
constexpr int kIperfRuns = 3;
constexpr size_t kMinBytes = 4 << 10;
constexpr size_t kMaxBytes = 64 << 20;
// Writes in flight, all into one slot: the receiver's destination footprint stays one write's
// size. Distinct slots per in-flight write (4 x 64 MiB) measure this VM's memory bandwidth
// instead: the same path drops from ~70 to ~27 Gbit/s there (notes in results/bench/).
constexpr size_t kWindow = 4;
constexpr std::chrono::milliseconds kStallTimeout{10000};

const PeerId kServerId{Role::kServer, 0};
const PeerId kClientId{Role::kWorker, 0};

using bench::Capture;
using bench::FreeLoopbackPort;
using bench::Median;

// end.sum_received.bits_per_second of iperf3's JSON report: the first bits_per_second after
// the "sum_received" key, which is an object of numbers only.
std::optional<double> ReceivedBitsPerSecond(const std::string& json) {
  const size_t sum = json.find("\"sum_received\"");
  if (sum == std::string::npos) return std::nullopt;
  const std::string key = "\"bits_per_second\":";
  const size_t at = json.find(key, sum);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = json.c_str() + at + key.size();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  return v;
}

// Single-stream iperf3 over loopback with the same congestion control: the bits/s received.
// Throws gw::Error when iperf3 is missing or fails.
double Iperf3Reference() {
  const std::string port = std::to_string(FreeLoopbackPort());
  // -1: the server serves one test and exits.
  const char* args[] = {"iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", port.c_str(), nullptr};
  const pid_t server = bench::SpawnQuiet(args, "iperf3");

  const std::string client = "iperf3 -c 127.0.0.1 -p " + port + " -C " + kCongestionControl +
                             " -t " + std::to_string(kIperfSeconds) + " -J 2>&1";
  std::string out;
  int status = -1;
  // The server may still be starting: retry refused connections for a few seconds.
  for (int attempt = 0; attempt < 50 && status != 0; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = Capture(client, &status);
  }
  if (status != 0) kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  const auto bps = status == 0 ? ReceivedBitsPerSecond(out) : std::nullopt;
  if (!bps) throw Error("iperf3 client failed (" + client + "):\n" + out);
  return *bps;
}

// A server and a client device connected over loopback, with a region the client writes into
// and the source buffer it writes from.
class LoopbackPair {
 public:
  LoopbackPair()
      : server_(CreateDevice(TransportKind::kTcp, Options(kServerId))),
        client_(CreateDevice(TransportKind::kTcp, Options(kClientId))),
        region_(server_->RegisterRegion(kMaxBytes, kClientId)),
        src_(kMaxBytes) {
    // Fault every page in now, so that no timed write pays for it.
    for (size_t i = 0; i < src_.size(); ++i) src_[i] = static_cast<std::byte>(i * 131 + 7);
    std::fill(region_.bytes().begin(), region_.bytes().end(), std::byte{1});
    Address addr;
    addr.host = "127.0.0.1";
    server_->Listen(addr);
    addr.port = server_->bound_port();
    conn_ = client_->Connect(addr, kServerId);
  }

  ~LoopbackPair() {
    client_->Shutdown();
    server_->Shutdown();
  }

  // Writes `bytes` at a time, kWindow in flight; one iteration per landed write.
  void Run(benchmark::State& state, size_t bytes, double reference_gbps) {
    const RemoteRegion dst = region_.Describe();
    const std::span<const std::byte> src(src_.data(), bytes);
    uint64_t posted = 0;
    uint64_t landed = 0;
    auto post = [&] {
      conn_->Write(src, dst, 0, 0, posted);
      ++posted;
    };
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < kWindow; ++i) post();
    bool ok = true;
    for (auto _ : state) {
      ok = AwaitLanded(landed + 1, &landed) && CheckDone();
      if (!ok) break;
      post();
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    // Untimed: let the writes still in flight land before the next size starts.
    if (!ok || !AwaitLanded(posted, &landed) || !CheckDone()) {
      failed_ = true;
      state.SkipWithError(error_.c_str());
      return;
    }
    const auto total = static_cast<int64_t>(state.iterations() * bytes);
    state.SetBytesProcessed(total);
    const double gbps = static_cast<double>(total) * 8 / elapsed.count() / 1e9;
    state.counters["Gbit/s"] = gbps;
    state.counters["vs_iperf3"] = gbps / reference_gbps;
  }

  // Gbit/s of the last run with writes of `bytes`, if any ran.

  bool failed() const { return failed_; }

 private:
  static DeviceOptions Options(PeerId self) {
    DeviceOptions o = bench::PairOptions(self, "tcp_write_bench");
    o.congestion_control = kCongestionControl;
    return o;
  }

  // Waits until `target` writes have landed in total (counted in *landed).
  bool AwaitLanded(uint64_t target, uint64_t* landed) {
    while (*landed < target) {
      batch_.clear();
      if (server_->cq().Wait(batch_, kStallTimeout) == 0) {
        error_ = "no write landed for 10 s";
        return false;
      }
      for (const Completion& c : batch_) {
        if (c.kind == CompletionKind::kPeerClosed) {
          error_ = "server lost the connection: " + c.error;
          return false;
        }
        if (c.kind == CompletionKind::kWriteLanded) ++*landed;
      }
    }
    return true;
  }

  // Drains the client's completions without waiting; false if a write failed.
  bool CheckDone() {
    batch_.clear();
    client_->cq().Poll(batch_, SIZE_MAX);
    for (const Completion& c : batch_) {
      if (!c.ok) {
        error_ = "write failed: " + c.error;
        return false;
      }
    }
    return true;
  }

  std::unique_ptr<Device> server_;
  std::unique_ptr<Device> client_;
  Region& region_;
  std::vector<std::byte> src_;
  std::shared_ptr<Connection> conn_;
  std::vector<Completion> batch_;
  std::string error_;
  bool failed_ = false;
};

int Run(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::cout << "iperf3 reference: single stream over loopback, " << kCongestionControl
            << ", median of " << kIperfRuns << " x " << kIperfSeconds << " s ..." << std::flush;
  std::vector<double> runs;
  for (int i = 0; i < kIperfRuns; ++i) runs.push_back(Iperf3Reference() / 1e9);
  const double reference_gbps = Median(runs);
  std::printf(" %.2f Gbit/s\n", reference_gbps);
  std::printf("one-sided writes, %zu in flight, counted when landed (kWriteLanded)\n", kWindow);
  std::fflush(stdout);

  LoopbackPair pair;
  benchmark::RegisterBenchmark("BM_TcpWrite",
                               [&](benchmark::State& state) {
                                 pair.Run(state, static_cast<size_t>(state.range(0)),
                                          reference_gbps);
                               })
      ->RangeMultiplier(4)
      ->Range(kMinBytes, kMaxBytes)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  bench::Collector collector({"Gbit/s"});  // reported runs only, not calibration trials
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();

  if (const auto gbps = collector.Get("BM_TcpWrite/" + std::to_string(kMaxBytes))) {
    std::printf("TCP 64 MiB write: %.1f Gbit/s = %.2f x iperf3 single stream (%.1f Gbit/s, %s)\n",
                *gbps, *gbps / reference_gbps, reference_gbps, kCongestionControl);
  } else {
    std::printf("TCP 64 MiB write: not run\n");
  }
  return pair.failed() ? 1 : 0;
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) { return gw::bench::Main(argc, argv, "tcp_write_bench", gw::Run); }
