// One-sided RDMA writes through gradwire's RDMA backend, beside perftest on the same device
// as the reference, measured in the same run.
//
// One RC connection between a server and a client device in this process (each with its own
// CM and poll threads), over the RDMA netdev's address (GW_RDMA_TEST_ADDR or --addr).
// - Bandwidth: each repetition is one run shaped like an ib_write_bw run: from an idle
//   connection, the same number of writes as the reference (RefBwIters: 32 MiB, at least 32
//   writes), up to --window in flight (default 128, ib_write_bw's default tx depth; capped at
//   --max_inflight_mib of data), all into one destination slot, timed from the first post to
//   the last landing. A write counts once it has landed: the server's cq reported
//   kWriteLanded for it. Runs never overlap: a steady-state pipe kept full across Google
//   Benchmark's trials counted writes posted (untimed) in one trial as landed in the next, and
//   on soft-RoCE, where ibv_post_send itself moves the data, that reported bursts of GB/s.
//   Reference: ib_write_bw (RC, RDMA_WRITE, tx depth 128, busy polling, completions counted
//   at the sender, i.e. when the responder acknowledged the data, start and end of the run
//   included). Rows run size by size (all bandwidth rows, then all latency rows), each size's
//   reference right before its rows, with no pair of ours alive meanwhile: on a shared host a
//   reference taken minutes apart from our rows made the ratios drift.
// - Latency: half the round trip of a write ping-pong, as ib_write_lat reports it: the client
//   writes the message into the server's region, the server's own thread (on kWriteLanded)
//   writes it back into the client's region, the client waits for its kWriteLanded; median
//   over the row.
//   Reference: ib_write_lat's t_typical (its median), same message size.
// Each row runs with the backend's poll mode: "event" (completion channel, the default) and
// "busy" (DeviceOptions::rdma_busy_poll on both devices), in both the poll thread hands each
// completion to the waiting application thread (RdmaDevice::kWaitRunsIoByDefault);
// "event_runio" and "busy_runio" have the waiting thread run the poll loop itself
// (DeviceOptions::wait_runs_io, TCP's default; event_runio measured slower here; busy_runio
// spins in the application thread while the poll thread parks, one spinning thread per side as
// in ib_write_lat's two processes); "event_spin" and
// "busy_spin" (the application threads watch their completion queues for kSpin first:
// DeviceOptions::completion_spin), and optionally "busy_sender" (busy client, event server: the
// shape of ib_write_bw, whose server does not poll). MB/s here is perftest's unit: 2^20 bytes per
// second. Rows also report the device's port counters over the row (rnr_naks, seq_naks, retries,
// dup_reqs; rxe's hw_counters).
//
// Flags besides Google Benchmark's: --addr=HOST --rdma_device=NAME (default
// $GW_RDMA_DEVICE) --modes=event,busy,event_runio,busy_runio,event_spin,busy_spin[,busy_sender]
// --window=N
// --max_inflight_mib=N
// --reference=perftest|cm|none (perftest: TCP side channel on 127.0.0.1 with --gid_index=N;
// cm: perftest's -R, rdma_cm on --addr) --ref_runs=N --lat_iters=N, and reference figures
// given instead of measured: --ref_bw=BYTES:MBPS,... --ref_lat=BYTES:US,...
//
// It needs an RDMA device: run it through `make bench-rdma` (a soft-RoCE VM on machines whose
// kernel has no RDMA, see experiments/softroce-vm/README.md); without one it exits with 2.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "bench/bench_util.h"
#include "net/device.h"
#include "ps/roles.h"

namespace gw {
namespace {

using bench::Median;
using Clock = std::chrono::steady_clock;

constexpr size_t kMinBytes = 4 << 10;
constexpr size_t kMaxBytes = 4 << 20;
// net/rdma posts a write as two work requests (RDMA_WRITE + the SEND notice) on a send
// queue of 256: at most 128 writes are ever on the wire; more only wait in its queue.
constexpr size_t kMaxWindow = 128;
constexpr std::chrono::milliseconds kStallTimeout{30000};
// perftest bandwidth runs move about this much data per size (at least kRefMinIters writes).
constexpr size_t kRefBytes = 32 << 20;
constexpr int kRefMinIters = 32;
constexpr int kPerftestTimeoutS = 120;

const PeerId kServerId{Role::kServer, 0};
const PeerId kClientId{Role::kWorker, 0};
// The *_spin modes' completion-queue spin: longer than a soft-RoCE round trip in the VM
// (~100-250 us), so a ping-pong's waiter rarely sleeps.
constexpr std::chrono::microseconds kSpin{300};

// Command-line settings of this bench (Google Benchmark's own flags pass through).
struct Settings {
  std::string addr;    // host of the RDMA netdev
  std::string device;  // RDMA device name ("" = the one holding addr)
  std::vector<std::string> modes = {"event",      "busy",       "event_runio",
                                    "busy_runio", "event_spin", "busy_spin"};
  size_t window = kMaxWindow;
  size_t max_inflight_mib = 64;
  std::string reference = "perftest";  // perftest | cm | none
  int ref_runs = 1;
  int gid_index = 0;
  int lat_iters = 200;               // ping-pongs per latency row at 4 KiB (fewer for larger sizes)
  std::map<size_t, double> ref_bw;   // given with --ref_bw
  std::map<size_t, double> ref_lat;  // given with --ref_lat
};

std::string SizeName(size_t bytes) {
  return bytes >= (1 << 20) ? std::to_string(bytes >> 20) + " MiB"
                            : std::to_string(bytes >> 10) + " KiB";
}

// A hardware counter of the RDMA device's port 1 (rxe: rcvd_rnr_err = RNR NAKs the requester
// got, rcvd_seq_err = NAKs for packets out of sequence, i.e. retransmissions); 0 if unknown.
double PortCounter(const std::string& device, const char* name) {
  if (device.empty()) return 0;
  const std::string path =
      "/sys/class/infiniband/" + device + "/ports/1/hw_counters/" + std::string(name);
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return 0;
  unsigned long long v = 0;
  if (std::fscanf(f, "%llu", &v) != 1) v = 0;
  std::fclose(f);
  return static_cast<double>(v);
}

// Port counters over one benchmark row, reported as its counters: rnr_naks (rcvd_rnr_err),
// seq_naks (rcvd_seq_err), retries (completer_retry_err: the requester went back and resent,
// after a NAK or its retransmit timer) and dup_reqs (duplicate_request: packets the responder
// had already seen, i.e. resent ones).
class CounterDelta {
 public:
  explicit CounterDelta(const std::string& device) : device_(device) {
    for (size_t i = 0; i < kNames.size(); ++i) start_[i] = PortCounter(device, kNames[i].second);
  }
  void Report(benchmark::State& state) const {
    for (size_t i = 0; i < kNames.size(); ++i) {
      state.counters[kNames[i].first] = PortCounter(device_, kNames[i].second) - start_[i];
    }
  }

 private:
  static constexpr std::array<std::pair<const char*, const char*>, 4> kNames = {{
      {"rnr_naks", "rcvd_rnr_err"},
      {"seq_naks", "rcvd_seq_err"},
      {"retries", "completer_retry_err"},
      {"dup_reqs", "duplicate_request"},
  }};
  std::string device_;
  std::array<double, kNames.size()> start_{};
};

std::vector<size_t> Sizes() {
  std::vector<size_t> out;
  for (size_t s = kMinBytes; s <= kMaxBytes; s *= 4) out.push_back(s);
  return out;
}

// Ping-pongs per latency row: fewer for large messages, whose round trips take longer.
int LatencyIters(const Settings& s, size_t bytes) {
  const size_t scale = std::max<size_t>(1, bytes / (16 << 10));
  return std::max(8, static_cast<int>(s.lat_iters / static_cast<int>(std::min<size_t>(scale, 25))));
}

int RefBwIters(size_t bytes) { return std::max(kRefMinIters, static_cast<int>(kRefBytes / bytes)); }

// SIZE:VALUE,SIZE:VALUE (sizes in bytes) into map.
void ParseRefs(const std::string& text, std::map<size_t, double>* out) {
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos) throw Error("expected SIZE:VALUE, got '" + item + "'");
    (*out)[std::stoull(item.substr(0, colon))] = std::stod(item.substr(colon + 1));
  }
}

// Takes this bench's flags out of argv (the rest goes to Google Benchmark).
Settings ParseSettings(int* argc, char** argv) {
  Settings s;
  if (const char* a = std::getenv("GW_RDMA_TEST_ADDR")) s.addr = a;
  if (const char* d = std::getenv("GW_RDMA_DEVICE")) s.device = d;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const std::string& name) -> std::optional<std::string> {
      const std::string prefix = "--" + name + "=";
      if (arg.rfind(prefix, 0) != 0) return std::nullopt;
      return arg.substr(prefix.size());
    };
    if (auto v = value("addr")) {
      s.addr = *v;
    } else if (auto v = value("rdma_device")) {
      s.device = *v;
    } else if (auto v = value("modes")) {
      s.modes.clear();
      std::stringstream in(*v);
      std::string m;
      while (std::getline(in, m, ',')) {
        if (m != "event" && m != "busy" && m != "event_runio" && m != "busy_runio" &&
            m != "event_spin" && m != "busy_spin" && m != "busy_sender") {
          throw Error("--modes: unknown mode '" + m +
                      "' (event, busy, event_runio, busy_runio, event_spin, busy_spin, "
                      "busy_sender)");
        }
        s.modes.push_back(m);
      }
    } else if (auto v = value("window")) {
      s.window = std::clamp<size_t>(std::stoul(*v), 1, kMaxWindow);
    } else if (auto v = value("max_inflight_mib")) {
      s.max_inflight_mib = std::max<size_t>(1, std::stoul(*v));
    } else if (auto v = value("reference")) {
      if (*v != "perftest" && *v != "cm" && *v != "none") {
        throw Error("--reference: perftest, cm or none, not '" + *v + "'");
      }
      s.reference = *v;
    } else if (auto v = value("ref_runs")) {
      s.ref_runs = std::max(1, std::stoi(*v));
    } else if (auto v = value("gid_index")) {
      s.gid_index = std::stoi(*v);
    } else if (auto v = value("lat_iters")) {
      s.lat_iters = std::max(8, std::stoi(*v));
    } else if (auto v = value("ref_bw")) {
      ParseRefs(*v, &s.ref_bw);
    } else if (auto v = value("ref_lat")) {
      ParseRefs(*v, &s.ref_lat);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return s;
}

// One perftest pair (ib_write_bw or ib_write_lat): the server as a child process, the client
// run to completion; returns the client's report. Throws gw::Error when the tool is missing
// or the pair fails.
std::string RunPerftestPair(const Settings& s, const std::string& tool,
                            const std::vector<std::string>& args) {
  std::vector<std::string> common = args;
  if (!s.device.empty()) common.insert(common.end(), {"-d", s.device});
  if (s.reference == "cm") {
    common.push_back("-R");  // rdma_cm connects the QPs, as net/rdma does
  } else {
    common.insert(common.end(), {"-x", std::to_string(s.gid_index)});  // TCP side channel
  }
  const std::string port = std::to_string(bench::FreeLoopbackPort());
  common.insert(common.end(), {"-p", port});

  std::vector<std::string> server_args = {"timeout", std::to_string(kPerftestTimeoutS), tool};
  server_args.insert(server_args.end(), common.begin(), common.end());
  std::vector<const char*> argv;
  for (const auto& a : server_args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const pid_t server = bench::SpawnQuiet(argv.data(), "coreutils");

  std::string client = "timeout " + std::to_string(kPerftestTimeoutS) + " " + tool;
  for (const auto& a : common) client += " " + a;
  client += " " + (s.reference == "cm" ? s.addr : std::string("127.0.0.1")) + " 2>&1";
  std::string out;
  int status = -1;
  bool server_alive = true;
  // The server may still be starting: retry while it waits and the client could not connect.
  for (int attempt = 0; attempt < 100 && status != 0 && server_alive; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = bench::Capture(client, &status);
    server_alive = waitpid(server, nullptr, WNOHANG) == 0;
  }
  if (server_alive) {
    if (status != 0) kill(server, SIGTERM);
    waitpid(server, nullptr, 0);
  }
  if (status != 0) {
    throw Error(tool + " failed (" + client + "):\n" + out);
  }
  return out;
}

// Field `column` (0-based) of the result row for `bytes` in a perftest report.
std::optional<double> PerftestField(const std::string& report, size_t bytes, size_t column) {
  std::stringstream in(report);
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::vector<std::string> f;
    std::string x;
    while (fields >> x) f.push_back(x);
    if (f.size() > column && f[0] == std::to_string(bytes)) {
      char* end = nullptr;
      const double v = std::strtod(f[column].c_str(), &end);
      if (end != f[column].c_str()) return v;
    }
  }
  return std::nullopt;
}

// The sizes of the summary lines (bandwidth).
bool SummarySize(size_t bytes) { return bytes >= (64 << 10) && bytes <= (1 << 20); }

// ib_write_bw's average bandwidth (MB/s = 2^20 B/s) for one size: the median of ref_runs
// pairs at the summary sizes, one pair at the others.
double WriteBwReference(const Settings& s, size_t bytes) {
  std::vector<double> runs;
  for (int i = 0; i < (SummarySize(bytes) ? s.ref_runs : 1); ++i) {
    const std::string out = RunPerftestPair(
        s, "ib_write_bw",
        {"-F", "-s", std::to_string(bytes), "-n", std::to_string(RefBwIters(bytes))});
    // #bytes #iterations BW-peak BW-average MsgRate
    const auto v = PerftestField(out, bytes, 3);
    if (!v) throw Error("no result row in ib_write_bw's report:\n" + out);
    runs.push_back(*v);
  }
  return Median(runs);
}

// ib_write_lat's t_typical (median half round trip, us) for one size: one pair (its median
// over the ping-pongs is stable).
double WriteLatReference(const Settings& s, size_t bytes) {
  std::vector<double> runs;
  for (int i = 0; i < 1; ++i) {
    const std::string out = RunPerftestPair(
        s, "ib_write_lat",
        {"-F", "-s", std::to_string(bytes), "-n", std::to_string(LatencyIters(s, bytes))});
    // #bytes #iterations t_min t_max t_typical t_avg ...
    const auto v = PerftestField(out, bytes, 4);
    if (!v) throw Error("no result row in ib_write_lat's report:\n" + out);
    runs.push_back(*v);
  }
  return Median(runs);
}

// A server and a client device connected over the RDMA netdev, each with a region the other
// writes into and a registered source buffer.
class RdmaPair {
 public:
  RdmaPair(const Settings& s, const std::string& mode)
      : settings_(s),
        server_{CreateDevice(
            TransportKind::kRdma,
            Options(s, kServerId, mode != "busy_sender" && mode.starts_with("busy"), mode))},
        client_{CreateDevice(TransportKind::kRdma,
                             Options(s, kClientId, mode.starts_with("busy"), mode))},
        server_dst_(server_.dev->RegisterRegion(kMaxBytes, kClientId)),
        client_dst_(client_.dev->RegisterRegion(kMaxBytes, kServerId)),
        client_src_(client_.dev->RegisterRegion(kMaxBytes, kClientId)),
        server_src_(server_.dev->RegisterRegion(kMaxBytes, kServerId)) {
    // Distinct contents, every page touched before any timed write.
    auto fill = [](Region& r, int seed) {
      auto b = r.bytes();
      for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(i * 131 + seed);
    };
    fill(client_src_, 7);
    fill(server_src_, 11);
    fill(server_dst_, 1);
    fill(client_dst_, 3);
    Address addr;
    addr.transport = TransportKind::kRdma;
    addr.host = s.addr;
    server_.dev->Listen(addr);
    addr.port = server_.dev->bound_port();
    to_server_ = client_.dev->Connect(addr, kServerId);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while ((to_client_ = server_.dev->Find(kClientId)) == nullptr) {
      if (Clock::now() > deadline) throw Error("the server never saw the client connect");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Untimed: a source's first write registers it in the connection's protection domain
    // (ibv_reg_mr of the whole region), which no timed run should pay for (pairs are made
    // afresh after each reference run).
    to_server_->Write(client_src_.bytes().first(1), server_dst_.Describe(), 0, 0, posted_++);
    to_client_->Write(server_src_.bytes().first(1), client_dst_.Describe(), 0, 0, 0);
    if (!Await(server_, posted_) || !Await(client_, 1) || !Absorb(client_) || !Absorb(server_)) {
      throw Error("warm-up write: " + Why());
    }
  }

  ~RdmaPair() {
    client_.dev->Shutdown();
    server_.dev->Shutdown();
  }

  // Bandwidth: one ib_write_bw-shaped run of RefBwIters(bytes) writes of `bytes` per
  // iteration (manual time), window in flight. Returns MB/s over the row, or nullopt after
  // reporting an error on state.
  std::optional<double> Bandwidth(benchmark::State& state, size_t bytes) {
    if (!Drain()) return Fail(state);  // every run starts from an idle connection
    const size_t window =
        std::clamp<size_t>(settings_.max_inflight_mib * (1 << 20) / bytes, 1, settings_.window);
    const uint64_t writes = static_cast<uint64_t>(RefBwIters(bytes));
    const RemoteRegion dst = server_dst_.Describe();
    const std::span<const std::byte> src(client_src_.bytes().data(), bytes);
    const CounterDelta counters(settings_.device);
    double seconds = 0;
    for (auto _ : state) {
      const uint64_t first = posted_, done = server_.landed + writes;
      const auto start = Clock::now();
      while (server_.landed < done) {
        // Post whatever the window allows, then wait for at least one landing.
        while (posted_ - first < writes && posted_ - server_.landed < window) {
          to_server_->Write(src, dst, 0, 0, posted_++);
        }
        if (!Await(server_, server_.landed + 1)) return Fail(state);
      }
      const std::chrono::duration<double> elapsed = Clock::now() - start;
      state.SetIterationTime(elapsed.count());
      seconds += elapsed.count();
      if (!Absorb(client_)) return Fail(state);  // its kWriteDone completions
    }
    const auto total = static_cast<int64_t>(state.iterations() * writes * bytes);
    state.SetBytesProcessed(total);
    state.counters["window"] = static_cast<double>(window);
    counters.Report(state);
    return static_cast<double>(total) / (1 << 20) / seconds;
  }

  // Latency: half round trip of a write ping-pong, per iteration (manual time). Returns the
  // median in us, or nullopt after reporting an error on state.
  std::optional<double> Latency(benchmark::State& state, size_t bytes) {
    if (!Drain()) return Fail(state);
    const RemoteRegion to_server = server_dst_.Describe();
    const RemoteRegion to_client = client_dst_.Describe();
    const std::span<const std::byte> ping(client_src_.bytes().data(), bytes);
    const std::span<const std::byte> pong(server_src_.bytes().data(), bytes);
    constexpr int kWarmUp = 3;  // untimed: first use registers the sources in each PD
    // The server's application thread, as ib_write_lat's server is its own process: it answers
    // each landed ping with a pong, and owns server_ until it ends (after the row's last ping,
    // or a stall).
    const uint64_t pings = kWarmUp + state.max_iterations;
    std::thread echo([&] {
      for (uint64_t i = 0; i < pings; ++i) {
        if (!Await(server_, server_.landed + 1)) return;
        to_client_->Write(pong, to_client, 0, 2, 0);
      }
    });
    auto round_trip = [&]() -> std::optional<double> {
      const auto t0 = Clock::now();
      to_server_->Write(ping, to_server, 0, 1, posted_++);
      if (!Await(client_, client_.landed + 1)) return std::nullopt;
      return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    std::vector<double> half_us;
    const CounterDelta counters(settings_.device);
    bool ok = true;
    for (int i = 0; i < kWarmUp && ok; ++i) ok = round_trip().has_value();
    for (auto _ : state) {
      if (!ok) break;
      const auto rtt = round_trip();
      ok = rtt.has_value();
      if (!ok) break;
      state.SetIterationTime(*rtt / 2);
      half_us.push_back(*rtt / 2 * 1e6);
    }
    echo.join();  // after the last pong, or its stall: server_ is this thread's again
    if (!ok || !Absorb(server_) || !Absorb(client_)) return Fail(state);
    counters.Report(state);
    return Median(half_us);
  }

  bool failed() const { return failed_; }

 private:
  struct Side {  // one end, used by one thread at a time (the echo thread owns server_'s)
    explicit Side(std::unique_ptr<Device> d) : dev(std::move(d)) {}
    std::unique_ptr<Device> dev;
    uint64_t landed = 0;  // kWriteLanded seen
    std::vector<Completion> batch;
    std::string error;  // why the last Await or Absorb failed
  };
  std::string Why() const { return server_.error.empty() ? client_.error : server_.error; }

  static DeviceOptions Options(const Settings& s, PeerId self, bool busy, const std::string& mode) {
    DeviceOptions o = bench::PairOptions(self, "rdma_write_bench");
    o.rdma_device = s.device;
    o.rdma_busy_poll = busy;
    if (mode.ends_with("_spin")) o.completion_spin = kSpin;
    if (mode.ends_with("_runio")) o.wait_runs_io = true;  // the others: the backend's default
    return o;
  }

  // Counts one completion; false (side.error set) on a failed write or a lost connection.
  bool Handle(Side& side, const Completion& c) {
    if (c.kind == CompletionKind::kPeerClosed) {
      side.error = "lost the connection: " + c.error;
      return false;
    }
    if (!c.ok) {
      side.error = "write failed: " + c.error;
      return false;
    }
    if (c.kind == CompletionKind::kWriteLanded) ++side.landed;
    return true;
  }

  // Waits until side has seen `target` landed writes in total.
  bool Await(Side& side, uint64_t target) {
    while (side.landed < target) {
      side.batch.clear();
      if (side.dev->cq().Wait(side.batch, kStallTimeout, 1024) == 0) {
        side.error = "no write landed for " + std::to_string(kStallTimeout.count() / 1000) + " s";
        return false;
      }
      for (const Completion& c : side.batch) {
        if (!Handle(side, c)) return false;
      }
    }
    return true;
  }

  // Takes whatever completions side has now, without waiting.
  bool Absorb(Side& side) {
    side.batch.clear();
    side.dev->cq().Poll(side.batch, SIZE_MAX);
    for (const Completion& c : side.batch) {
      if (!Handle(side, c)) return false;
    }
    return true;
  }

  // Lets every write still in flight land (untimed).
  bool Drain() { return Await(server_, posted_) && Absorb(client_); }

  std::optional<double> Fail(benchmark::State& state) {
    failed_ = true;
    const std::string why = Why();
    state.SkipWithError(why.c_str());
    return std::nullopt;
  }

  const Settings& settings_;
  Side server_;
  Side client_;
  Region& server_dst_;  // the client writes here
  Region& client_dst_;  // the server writes here (latency pongs)
  Region& client_src_;
  Region& server_src_;
  std::shared_ptr<Connection> to_server_;
  std::shared_ptr<Connection> to_client_;
  uint64_t posted_ = 0;  // bandwidth + ping writes of the client; server_.landed follows it
  bool failed_ = false;
};

// The pair for the poll mode of the running row: rows run mode after mode, and a busy-polling
// pair must not steal the CPU from the next mode's rows, so one pair exists at a time.
class Pairs {
 public:
  explicit Pairs(const Settings& s) : settings_(s) {}

  RdmaPair* Get(benchmark::State& state, const std::string& mode) {
    if (mode_ != mode || !pair_) {
      Close();
      mode_ = mode;
      try {
        pair_ = std::make_unique<RdmaPair>(settings_, mode);
      } catch (const Error& e) {
        failed_ = true;
        state.SkipWithError(e.what());
        return nullptr;
      }
    }
    return pair_.get();
  }

  void Close() {
    if (pair_ && pair_->failed()) failed_ = true;
    pair_.reset();
  }
  bool failed() const { return failed_ || (pair_ && pair_->failed()); }

 private:
  const Settings& settings_;
  std::unique_ptr<RdmaPair> pair_;
  std::string mode_;
  bool failed_ = false;
};

std::optional<double> Lookup(const std::map<size_t, double>& m, size_t bytes) {
  const auto it = m.find(bytes);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

int Run(int argc, char** argv) {
  Settings s = ParseSettings(&argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  if (s.addr.empty()) {
    std::cerr << "rdma_write_bench: no RDMA address: set GW_RDMA_TEST_ADDR (or --addr=HOST) to "
                 "the IP of an RDMA netdev. This host's kernel may have no RDMA at all: run "
                 "'make bench-rdma', which runs this bench in a soft-RoCE VM "
                 "(experiments/softroce-vm/run-in-vm.sh).\n";
    return 2;
  }
  try {  // fail early, with the backend's own explanation, when there is no RDMA device
    DeviceOptions probe;
    probe.self = kServerId;
    probe.roles = PsRoles();
    probe.rdma_device = s.device;
    CreateDevice(TransportKind::kRdma, probe)->Shutdown();
  } catch (const Error& e) {
    std::cerr << "rdma_write_bench: no usable RDMA device: " << e.what()
              << "\nRun it with 'make bench-rdma' (soft-RoCE VM, "
                 "experiments/softroce-vm/run-in-vm.sh).\n";
    return 2;
  }
  const std::string device = s.device.empty() ? "rdma" : s.device;

  if (s.reference != "none") {
    std::cout << "perftest reference on " << device << " ("
              << (s.reference == "cm"
                      ? "rdma_cm"
                      : "TCP side channel, gid index " + std::to_string(s.gid_index))
              << ", ib_write_bw: median of " << s.ref_runs
              << " at 64 KiB-1 MiB), measured size by size just before our rows of that size\n";
  }
  std::printf(
      "ours: bandwidth = runs of as many writes as ib_write_bw's, counted when landed "
      "(kWriteLanded), window %zu (at most %zu MiB in flight); latency = half the round trip of "
      "a write ping-pong\n",
      s.window, s.max_inflight_mib);
  std::fflush(stdout);

  Pairs pairs(s);
  // The reference for a size runs right before our first row of that size (same boot, minutes
  // closer than a table up front: on a shared host the ratio compares like with like). Our
  // pair is closed first: a busy-polling one would take a core from perftest. False (row
  // skipped) when perftest failed.
  bool ref_failed = false;
  auto reference = [&](benchmark::State& state, std::map<size_t, double>& refs, size_t bytes,
                       bool bw) {
    if (s.reference == "none" || refs.count(bytes)) return true;
    pairs.Close();
    try {
      refs[bytes] = bw ? WriteBwReference(s, bytes) : WriteLatReference(s, bytes);
    } catch (const Error& e) {
      ref_failed = true;
      state.SkipWithError(e.what());
      return false;
    }
    if (bw) {
      std::printf("  %7s  ib_write_bw %8.2f MB/s (%d writes)\n", SizeName(bytes).c_str(),
                  refs[bytes], RefBwIters(bytes));
    } else {
      std::printf("  %7s  ib_write_lat %9.2f us\n", SizeName(bytes).c_str(), refs[bytes]);
    }
    std::fflush(stdout);
    return true;
  };
  auto bw_row = [](const std::string& mode, size_t bytes) {
    return "BM_RdmaWriteBw/" + mode + "/" + std::to_string(bytes);
  };
  auto lat_row = [](const std::string& mode, size_t bytes) {
    return "BM_RdmaWriteLat/" + mode + "/" + std::to_string(bytes);
  };
  // Size by size (each size's reference, then its rows in every mode).
  for (size_t bytes : Sizes()) {
    for (const std::string& mode : s.modes) {
      benchmark::RegisterBenchmark(bw_row(mode, bytes).c_str(),
                                   [&, mode, bytes](benchmark::State& state) {
                                     if (!reference(state, s.ref_bw, bytes, true)) return;
                                     RdmaPair* pair = pairs.Get(state, mode);
                                     if (pair == nullptr) return;
                                     const auto mbps = pair->Bandwidth(state, bytes);
                                     if (!mbps) return;
                                     state.counters["MB/s"] = *mbps;
                                     if (const auto ref = Lookup(s.ref_bw, bytes)) {
                                       state.counters["vs_ib_write_bw"] = *mbps / *ref;
                                     }
                                   })
          ->Iterations(1)  // one ib_write_bw-shaped run per repetition
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (size_t bytes : Sizes()) {
    for (const std::string& mode : s.modes) {
      benchmark::RegisterBenchmark(lat_row(mode, bytes).c_str(),
                                   [&, mode, bytes](benchmark::State& state) {
                                     if (!reference(state, s.ref_lat, bytes, false)) return;
                                     RdmaPair* pair = pairs.Get(state, mode);
                                     if (pair == nullptr) return;
                                     const auto us = pair->Latency(state, bytes);
                                     if (!us) return;
                                     state.counters["median_us"] = *us;
                                     if (const auto ref = Lookup(s.ref_lat, bytes)) {
                                       state.counters["vs_ib_write_lat"] = *us / *ref;
                                     }
                                   })
          ->Iterations(LatencyIters(s, bytes))
          ->Repetitions(1)  // the median of its ping-pongs is stable (cv ~1-2%)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  bench::Collector collector({"MB/s", "median_us"});
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();
  const bool failed = pairs.failed() || ref_failed;
  pairs.Close();

  // Per size: ours (median over repetitions), the reference, the ratio.
  auto ratio = [](std::optional<double> ours, std::optional<double> ref) {
    return ours && ref ? *ours / *ref : 0.0;
  };
  std::printf("\n%-12s %8s %12s %12s %8s %12s %12s %8s\n", "mode", "size", "bw MB/s", "ib_write_bw",
              "ratio", "lat us", "ib_write_lat", "ratio");
  for (const std::string& mode : s.modes) {
    for (size_t bytes : Sizes()) {
      const auto b = collector.Get(bw_row(mode, bytes)), l = collector.Get(lat_row(mode, bytes));
      const auto rb = Lookup(s.ref_bw, bytes), rl = Lookup(s.ref_lat, bytes);
      std::printf("%-12s %8s %12.2f %12.2f %8.2f %12.1f %12.1f %8.2f\n", mode.c_str(),
                  SizeName(bytes).c_str(), b.value_or(0), rb.value_or(0), ratio(b, rb),
                  l.value_or(0), rl.value_or(0), ratio(l, rl));
    }
  }
  std::printf("\n");
  for (const std::string& mode : s.modes) {
    for (size_t bytes : {size_t{64} << 10, size_t{256} << 10, size_t{1} << 20}) {
      const auto b = collector.Get(bw_row(mode, bytes));
      const auto rb = Lookup(s.ref_bw, bytes);
      if (b && rb) {
        std::printf(
            "RDMA write bandwidth %s (%s poll): %.2f MB/s = %.2f x ib_write_bw (%.2f MB/s, %s)\n",
            SizeName(bytes).c_str(), mode.c_str(), *b, *b / *rb, *rb, device.c_str());
      } else {
        std::printf("RDMA write bandwidth %s (%s poll): not run\n", SizeName(bytes).c_str(),
                    mode.c_str());
      }
    }
    const size_t bytes = kMinBytes;
    const auto l = collector.Get(lat_row(mode, bytes));
    const auto rl = Lookup(s.ref_lat, bytes);
    if (l && rl) {
      std::printf("RDMA write latency %s (%s poll): %.1f us = %.2f x ib_write_lat (%.1f us)\n",
                  SizeName(bytes).c_str(), mode.c_str(), *l, *l / *rl, *rl);
    } else {
      std::printf("RDMA write latency %s (%s poll): not run\n", SizeName(bytes).c_str(),
                  mode.c_str());
    }
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) { return gw::bench::Main(argc, argv, "rdma_write_bench", gw::Run); }
