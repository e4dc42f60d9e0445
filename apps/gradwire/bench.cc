// `gradwire bench`: push/pull goodput between separate processes, with the arguments of
// ps-lite's test_benchmark (value length, repeat count, mode, number of workers).
//
// Each worker keeps `window` requests in flight, one per slot of its region on the server.
// A push is a one-sided write of len bytes into the slot; a pull request is a zero-byte write
// (only the immediate). The server answers every request with a one-sided write into the
// worker's memory: len bytes for a pull (and for a push in push-pull mode), zero bytes (an
// acknowledgement) otherwise. The server acknowledges after the bytes landed; it does not
// aggregate, so this measures the transport path end to end. Goodput counts payload bytes
// moved in both directions, from the first request to the last answer.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "apps/gradwire/process.h"
#include "base/error.h"
#include "base/log.h"
#include "ps/imm.h"
#include "ps/messages.h"
#include "ps/roles.h"

namespace gw::cli {

namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { kPushThenPull, kPushPull, kPushOnly, kPullOnly };

Mode ParseMode(const std::string& s) {
  if (s == "push-then-pull") return Mode::kPushThenPull;
  if (s == "push-pull") return Mode::kPushPull;
  if (s == "push-only") return Mode::kPushOnly;
  if (s == "pull-only") return Mode::kPullOnly;
  throw UsageError("--mode '" + s + "': use push-then-pull, push-pull, push-only or pull-only");
}

constexpr uint64_t kInflightBytes = 16 << 20;

struct BenchSpec {
  uint64_t len = 4 << 20;
  uint64_t repeat = 100;
  uint32_t window = 4;
  uint32_t workers = 1;
  std::string mode = "push-only";

  uint64_t Fingerprint() const {
    return len * 1000003u ^ (uint64_t{window} << 40) ^ std::hash<std::string>{}(mode);
  }
};

po::options_description BenchFlags() {
  po::options_description d("Benchmark");
  d.add_options()("len", po::value<std::string>()->default_value("4M"),
                  "value length (bytes, e.g. 4M)")(
      "repeat", po::value<uint64_t>()->default_value(100), "requests per worker")(
      "mode", po::value<std::string>()->default_value("push-only"),
      "push-then-pull | push-pull | push-only | pull-only")(
      "num-workers", po::value<uint32_t>()->default_value(1), "worker processes")(
      "window", po::value<uint32_t>()->default_value(0),
      "requests in flight per worker (0: as many as fit in 16 MiB, at least 1)");
  return d;
}

BenchSpec SpecFrom(const po::variables_map& vm) {
  BenchSpec b;
  b.len = ParseBytes(vm["len"].as<std::string>(), "len");
  b.repeat = vm["repeat"].as<uint64_t>();
  b.mode = vm["mode"].as<std::string>();
  ParseMode(b.mode);
  b.workers = vm["num-workers"].as<uint32_t>();
  b.window = vm["window"].as<uint32_t>();
  if (b.len == 0 || b.repeat == 0 || b.workers == 0 || b.window > Imm::kMaxParts) {
    throw UsageError("--len, --repeat, --num-workers must be positive; --window in 0..4096");
  }
  if (b.window == 0) {
    // One slot per request in flight: the server's footprint is window x len per worker.
    // Beyond a few tens of MiB of distinct destinations, copies run at memory speed, not
    // network speed, and one large request in flight already keeps the pipe full.
    b.window = static_cast<uint32_t>(std::clamp<uint64_t>(kInflightBytes / b.len, 1, 8));
  }
  return b;
}

// Bytes the server answers a request of request_len bytes with.
uint64_t AnswerBytes(Mode mode, uint64_t request_len, uint64_t len) {
  return request_len == 0 || mode == Mode::kPushPull ? len : 0;
}

template <typename Pred>
void Pump(Device& dev, std::chrono::milliseconds timeout, const char* what, Pred&& on) {
  // Feeds completions to `on` until it returns true; throws after `timeout` of silence.
  std::vector<Completion> batch;
  auto last = Clock::now();
  while (true) {
    batch.clear();
    if (dev.cq().Wait(batch, std::chrono::milliseconds(100)) > 0) last = Clock::now();
    for (auto& c : batch) {
      if (on(c)) return;
    }
    if (Clock::now() - last > timeout) throw Error(std::string("bench: no ") + what + " in time");
  }
}

}  // namespace

int BenchServerCommand(const std::vector<std::string>& args) {
  po::options_description own("Bench server");
  own.add_options()("listen", po::value<std::string>()->default_value("tcp://127.0.0.1:0"), "")(
      "port-file", po::value<std::string>(), "");
  po::options_description all;
  all.add(own).add(BenchFlags()).add(ConnectionFlags());
  const auto vm = Parse("bench-server", "(started by gradwire bench)", all, args);
  if (!vm) return 0;
  const BenchSpec spec = SpecFrom(*vm);
  const Mode mode = ParseMode(spec.mode);
  SetLogIdentity("bench server");
  DeviceOptions dopt = DeviceFrom(*vm, LauncherEnv::Read(), TokenSource::kGiven);
  dopt.self = {Role::kServer, 0};
  dopt.roles = PsRoles().AcceptingOnly(Role::kWorker, spec.workers);
  const Address listen = Address::Parse((*vm)["listen"].as<std::string>());
  auto dev = CreateDevice(listen.transport, dopt);
  const auto source = dev->RegisterRegion(spec.len, dopt.self).bytes();
  std::vector<Region*> slots;
  for (uint32_t w = 0; w < spec.workers; ++w) {
    slots.push_back(&dev->RegisterRegion(spec.len * spec.window, {Role::kWorker, w}));
  }
  std::vector<RemoteRegion> answer_to(spec.workers);
  dev->Listen(listen);
  if (vm->count("port-file")) {
    std::ofstream((*vm)["port-file"].as<std::string>() + ".tmp") << dev->bound_port() << "\n";
    std::filesystem::rename((*vm)["port-file"].as<std::string>() + ".tmp",
                            (*vm)["port-file"].as<std::string>());
  }
  uint32_t finished = 0;
  Pump(*dev, std::chrono::seconds(60), "requests", [&](const Completion& c) {
    if (c.peer.role != Role::kWorker || c.peer.rank >= spec.workers) return false;
    auto conn = dev->Find(c.peer);
    if (c.kind == CompletionKind::kControl && conn &&
        c.control_type == static_cast<uint16_t>(MsgType::kJoin)) {
      const auto join = Decode<JoinMsg>(c.payload);
      if (!join || join->fingerprint != spec.Fingerprint()) {
        conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText("bench flags differ"));
        return false;
      }
      answer_to[c.peer.rank] = join->params;
      WelcomeMsg welcome;
      welcome.slot = slots[c.peer.rank]->Describe();
      conn->Send(static_cast<uint16_t>(MsgType::kWelcome), Encode(welcome));
    } else if (c.kind == CompletionKind::kWriteLanded && conn) {
      const uint32_t slot = Imm::Decode(c.imm).part;
      const uint64_t n = AnswerBytes(mode, c.length, spec.len);
      conn->Write(std::span<const std::byte>(source).first(n), answer_to[c.peer.rank],
                  slot * spec.len, c.imm, 0);
    } else if (c.kind == CompletionKind::kControl &&
               c.control_type == static_cast<uint16_t>(MsgType::kDone)) {
      return ++finished == spec.workers;
    } else if (c.kind == CompletionKind::kPeerClosed && !c.ok) {
      throw Error("bench: worker " + std::to_string(c.peer.rank) + " lost: " + c.error);
    }
    return false;
  });
  dev->Shutdown();
  return 0;
}

int BenchWorkerCommand(const std::vector<std::string>& args) {
  po::options_description own("Bench worker");
  own.add_options()("rank", po::value<uint32_t>()->default_value(0), "")(
      "server", po::value<std::string>(), "")("result-file", po::value<std::string>(), "");
  po::options_description all;
  all.add(own).add(BenchFlags()).add(ConnectionFlags());
  const auto vm = Parse("bench-worker", "(started by gradwire bench)", all, args);
  if (!vm) return 0;
  if (!vm->count("server")) throw UsageError("--server is required");
  const BenchSpec spec = SpecFrom(*vm);
  const Mode mode = ParseMode(spec.mode);
  const uint32_t rank = (*vm)["rank"].as<uint32_t>();
  SetLogIdentity("bench worker " + std::to_string(rank));
  DeviceOptions dopt = DeviceFrom(*vm, LauncherEnv::Read(), TokenSource::kGiven);
  dopt.self = {Role::kWorker, rank};
  dopt.roles = PsRoles();
  const Address server = Address::Parse((*vm)["server"].as<std::string>());
  auto dev = CreateDevice(server.transport, dopt);
  const auto source = dev->RegisterRegion(spec.len, dopt.self).bytes();
  Region& answers = dev->RegisterRegion(spec.len * spec.window, {Role::kServer, 0});
  auto conn = dev->Connect(server, {Role::kServer, 0});
  JoinMsg join;
  join.fingerprint = spec.Fingerprint();
  join.params = answers.Describe();
  conn->Send(static_cast<uint16_t>(MsgType::kJoin), Encode(join));
  RemoteRegion slots;
  Pump(*dev, std::chrono::seconds(30), "welcome", [&](const Completion& c) {
    if (c.kind == CompletionKind::kControl &&
        c.control_type == static_cast<uint16_t>(MsgType::kWelcome)) {
      slots = Decode<WelcomeMsg>(c.payload).value().slot;
      return true;
    }
    if (c.kind == CompletionKind::kControl) throw Error("bench: the server refused: flags differ");
    if (c.kind == CompletionKind::kPeerClosed) throw Error("bench: lost the server: " + c.error);
    return false;
  });

  // Request i: a push (len bytes) or a pull request (0 bytes), by mode.
  auto request_len = [&](uint64_t i) -> uint64_t {
    switch (mode) {
      case Mode::kPullOnly:
        return 0;
      case Mode::kPushThenPull:
        return i % 2 == 0 ? spec.len : 0;
      default:
        return spec.len;
    }
  };
  uint64_t posted = 0, answered = 0, bytes = 0;
  auto post = [&](uint32_t slot) {
    const uint64_t n = request_len(posted);
    conn->Write(std::span<const std::byte>(source).first(n), slots, slot * spec.len,
                Imm::Encode(posted, slot), posted);
    bytes += n + AnswerBytes(mode, n, spec.len);
    ++posted;
  };
  const auto t0 = Clock::now();
  for (uint32_t s = 0; s < spec.window && posted < spec.repeat; ++s) post(s);
  Pump(*dev, std::chrono::seconds(30), "answers", [&](const Completion& c) {
    if (c.kind == CompletionKind::kPeerClosed) throw Error("bench: lost the server: " + c.error);
    if (c.kind == CompletionKind::kWriteDone && !c.ok)
      throw Error("bench: write failed: " + c.error);
    if (c.kind != CompletionKind::kWriteLanded) return false;
    ++answered;
    if (posted < spec.repeat) post(Imm::Decode(c.imm).part);
    return answered == spec.repeat;
  });
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  conn->Send(static_cast<uint16_t>(MsgType::kDone), {});
  dev->Shutdown();
  const double gbps = static_cast<double>(bytes) * 8 / secs / 1e9;
  if (vm->count("result-file")) {
    std::ofstream((*vm)["result-file"].as<std::string>()) << bytes << " " << secs << "\n";
  }
  std::printf(
      "worker %u: %llu requests of %llu bytes (%s) in %.3f s: %.2f Gbps, %.1f us per request\n",
      rank, static_cast<unsigned long long>(spec.repeat), static_cast<unsigned long long>(spec.len),
      spec.mode.c_str(), secs, gbps, 1e6 * secs / static_cast<double>(spec.repeat));
  return 0;
}

int BenchCommand(const std::string& self, const std::vector<std::string>& args) {
  po::options_description bench = BenchFlags(), conn = ConnectionFlags();
  po::options_description all;
  all.add(bench).add(conn);
  const auto vm =
      Parse("bench", "[--len 4M] [--repeat 100] [--mode push-only] [--num-workers 1]", all, args);
  if (!vm) return 0;
  // Its server and workers talk over TCP on loopback: an RDMA option would go unused.
  static constexpr std::array<const char*, 2> kRdmaFlags = {"rdma-device", "rdma-busy-poll"};
  const auto given = std::find_if(kRdmaFlags.begin(), kRdmaFlags.end(),
                                  [&](const char* flag) { return !(*vm)[flag].defaulted(); });
  if (given != kRdmaFlags.end()) {
    throw UsageError(std::string("gradwire bench runs over TCP on loopback: --") + *given +
                     " does not apply (to measure RDMA, start gradwire bench-server --listen "
                     "rdma://ADDR:0 and gradwire bench-worker --server rdma://ADDR:PORT)");
  }
  const BenchSpec spec = SpecFrom(*vm);
  DeviceFrom(*vm, LauncherEnv::Read(), TokenSource::kMadeHere);
  const auto dir =
      std::filesystem::temp_directory_path() / ("gradwire-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::string> forwarded = {
      "--len=" + std::to_string(spec.len), "--repeat=" + std::to_string(spec.repeat),
      "--mode=" + spec.mode, "--num-workers=" + std::to_string(spec.workers),
      "--window=" + std::to_string(spec.window)};
  for (const auto& f : Forwarded(*vm, {conn})) forwarded.push_back(f);
  const std::vector<std::string> env = {"GRADWIRE_TOKEN=" + RandomToken()};
  std::vector<std::string> sargs = {"bench-server", "--port-file=" + (dir / "port").string()};
  sargs.insert(sargs.end(), forwarded.begin(), forwarded.end());
  std::vector<Child> children = {Spawn("bench server", self, sargs, env)};
  uint16_t port = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (port == 0) {
    std::ifstream f(dir / "port");
    unsigned p = 0;
    if (f >> p) port = static_cast<uint16_t>(p);
    if (!ReapSome(children) || Clock::now() > deadline) {
      WaitAll(children, std::chrono::milliseconds(0));
      throw Error("bench server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (uint32_t w = 0; w < spec.workers; ++w) {
    std::vector<std::string> wargs = {
        "bench-worker", "--rank=" + std::to_string(w),
        "--server=tcp://127.0.0.1:" + std::to_string(port),
        "--result-file=" + (dir / ("worker-" + std::to_string(w))).string()};
    wargs.insert(wargs.end(), forwarded.begin(), forwarded.end());
    children.push_back(Spawn("bench worker " + std::to_string(w), self, wargs, env));
  }
  const bool ok = WaitAll(children, std::chrono::seconds(5));
  double total_gbps = 0;
  for (uint32_t w = 0; w < spec.workers && ok; ++w) {
    std::ifstream f(dir / ("worker-" + std::to_string(w)));
    double bytes = 0, secs = 0;
    if (f >> bytes >> secs && secs > 0) total_gbps += bytes * 8 / secs / 1e9;
  }
  std::filesystem::remove_all(dir);
  if (!ok) throw Error("the benchmark failed; see the messages above");
  std::printf("Application goodput: %.2f Gbps (%u worker(s), %s, %llu-byte values, window %u)\n",
              total_gbps, spec.workers, spec.mode.c_str(),
              static_cast<unsigned long long>(spec.len), spec.window);
  return 0;
}

}  // namespace gw::cli
