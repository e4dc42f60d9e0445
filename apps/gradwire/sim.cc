// `gradwire sim`: the job of `gradwire run`, its servers and workers running the project's own
// code (ps/, sched/, coding/) as SimGrid actors on a simulated fabric (--topology) over the
// simulated transport (net/sim), in simulated time. Writes the same results as a run.
// Built into gradwire-sim (sim_main.cc), which `gradwire sim` starts in its place: only the
// simulation loads SimGrid.
#include <chrono>
#include <cstdio>
#include <map>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <string>
#include <vector>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "apps/gradwire/out_dir.h"
#include "apps/gradwire/run_results.h"
#include "base/error.h"
#include "base/log.h"
#include "net/sim/clock.h"
#include "net/sim/device.h"
#include "net/sim/platform.h"
#include "ps/server.h"
#include "ps/worker.h"

namespace gw::cli {

namespace {

namespace s4u = simgrid::s4u;

// Every server listens on this port of its own host.
constexpr uint16_t kServerPort = 9000;
// SimGrid's default TCP model (LV08) multiplies every latency by 13.01, its model of slow start
// on a fresh connection. A job's connections are long-lived: with the factor at 1 a small
// message's simulated round trip is twice the path's latency, as ping measures it through the
// emulated delay line (10.27 ms for 5 + 5 ms), and the delay spec's
// BSP cells at 10 ms come within 5 % of the emulated ones, against 2.4x with 13.01
// (results/sim-validation). --sim-cfg network/latency-factor:F overrides it.
constexpr const char* kLatencyFactor = "network/latency-factor:1";
// LV08 also charges every flow weight-S / bandwidth (8775 B) per link it crosses, its model of
// TCP's bias against long round trips: a flow through a slow link then loses share at a fast
// link it shares, and gets less than its own link's rate. A TCP flow that its own slow link
// holds back is not held back twice: with weight-S at 0 (max-min sharing, each flow still
// weighted by its route's latency: equal on the star, not across a fat-tree's pods) the
// hetero-links spec's BSP cells (two workers on 100 Mbit/s of a 1 Gbit/s star) come to 0.92x
// the emulated time, against 1.3x (results/sim-validation). Links of equal rate share alike
// either way.
constexpr const char* kWeightS = "network/weight-S:0";
// A server's arithmetic (summing gradients, stepping the optimizer) takes simulated time at
// the aggregation rate results/bench measured on this machine (4 slots x 64 MiB: 22.5 GB/s of
// slots read): a real server spends that time too, and with phantom payloads none is spent
// for real. --aggregate-rate overrides it (0: free).
constexpr double kAggregateGBps = 22.5;
// The job's processes share one address space here: the token only keeps the handshake's
// checks the same as a real job's.
constexpr const char* kSimToken = "simulated";

// What each simulated process ended with: "" if it returned, else its error.
class Outcomes {
 public:
  // A thousand workers losing one server say the same thing: each distinct error is printed
  // for its first kShownPerError processes, the rest counted (Close).
  static constexpr size_t kShownPerError = 3;
  // Lists of the processes that failed name this many, then count the rest.
  static constexpr size_t kNamed = 8;

  void Note(const std::string& who, const std::string& error) {
    errors_[who] = error;
    if (shown_[error]++ < kShownPerError) {
      std::fprintf(stderr, "gradwire sim: %s: error: %s\n", who.c_str(), error.c_str());
    } else {
      ++not_shown_;
    }
  }
  // Says how many errors were not printed.
  void Close() const {
    if (not_shown_ > 0) {
      std::fprintf(stderr, "gradwire sim: %zu more processes ended with an error shown above\n",
                   not_shown_);
    }
  }
  // The job succeeded when every server and worker 0 (whose summary and evaluation they are)
  // returned, as `gradwire run` judges it.
  bool Succeeded() const {
    for (const auto& [who, error] : errors_) {
      if (who.starts_with("server ") || who == "worker 0") return false;
    }
    return true;
  }
  bool any() const { return !errors_.empty(); }
  // " server 0 worker 0 ... and N more".
  std::string List() const {
    std::string list;
    size_t named = 0;
    for (const auto& [who, error] : errors_) {
      if (named++ < kNamed) list += " " + who;
    }
    if (named > kNamed) list += " and " + std::to_string(named - kNamed) + " more";
    return list;
  }

 private:
  std::map<std::string, std::string> errors_;  // by "server 0", "worker 3"
  std::map<std::string, size_t> shown_;        // by error: processes that ended with it
  size_t not_shown_ = 0;
};

// Runs fn as the actor `who` on `host`, noting what it threw.
void Spawn(const std::string& who, const std::string& host, Outcomes& outcomes,
           std::function<void()> fn) {
  s4u::Actor::create(who, s4u::Host::by_name(host), [who, &outcomes, fn = std::move(fn)] {
    try {
      fn();
    } catch (const std::exception& e) {
      outcomes.Note(who, e.what());
    }
  });
}

}  // namespace

int SimCommand(const std::vector<std::string>& args) {
  po::options_description own("Simulation");
  own.add_options()(
      "out", po::value<std::string>(),
      "results directory (default results/runs/<time>): the files of `gradwire run`, from "
      "the same server and worker code, in simulated time")(
      "topology", po::value<std::string>()->default_value("star"),
      "the simulated fabric, one host per server and worker: star[:rate=R,latency=L,slow=W+W,"
      "slow_rate=S] (each host on its own link to one switch; workers W.. on links of rate S) "
      "| tree:racks=K[,oversub=F,rate=R,latency=L] "
      "(workers evenly in K racks, each rack's uplink carrying R x its workers / F; servers "
      "at the core) | fat-tree:k=K[,rate=R,latency=L] (Al-Fares' k-ary fat-tree, k^3/4 hosts: "
      "servers then workers fill the edge switches in order) | leaf-spine:leaves=L,spines=S[,"
      "oversub=F,rate=R,latency=L] (ceil(hosts/L) hosts per leaf, host h on leaf h mod L, each "
      "leaf's S uplinks carrying R x hosts-per-leaf / F in all). One path per pair, the spine "
      "or core chosen to spread a leaf's flows evenly. Defaults 1Gbps, 50us (one-way, per "
      "link)")(
      "sim-cfg", po::value<std::vector<std::string>>()->composing(),
      "a SimGrid setting, e.g. network/model:CM02 (repeatable; SimGrid's --cfg=). gradwire sets "
      "network/latency-factor:1 (long-lived connections: no slow start per message) and "
      "network/weight-S:0 (max-min sharing weighted by route latency only)")(
      "phantom-payloads", po::bool_switch(),
      "writes carry their size and no bytes, and nobody computes on them: a thousand workers' "
      "models need not fit in memory (synthetic, model:NAME, trace:FILE; no --coding). The "
      "times are those of the same job with its bytes")(
      "aggregate-rate", po::value<double>()->default_value(kAggregateGBps),
      "GB/s: the simulated time a server spends summing gradients and stepping the optimizer, "
      "per byte of its shard read (default: results/bench's aggregation rate; 0: free)")(
      "log-level", po::value<std::string>()->default_value("info"), "debug|info|warn|error");
  po::options_description all;
  all.add(own).add(JobFlags());
  const auto vm =
      Parse("sim", "--num-workers N [--num-servers S] [--topology T] [flags]", all, args);
  if (!vm) return 0;
  JobConfig cfg = JobFrom(*vm, LauncherEnv{});
  cfg.workload.phantom = (*vm)["phantom-payloads"].as<bool>();
  cfg.aggregate_bytes_per_s = (*vm)["aggregate-rate"].as<double>() * 1e9;
  try {
    cfg.Validate();  // again, with the simulation's own settings
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  SetLogLevelFlag((*vm)["log-level"].as<std::string>());
  std::string why;
  const auto topology = sim::ParseTopology((*vm)["topology"].as<std::string>(), &why);
  if (!topology) throw UsageError("--topology: " + why);
  if (const std::string bad = topology->CheckJob(cfg.num_servers, cfg.num_workers); !bad.empty()) {
    throw UsageError(bad);
  }
  const std::string out = vm->count("out") ? (*vm)["out"].as<std::string>() : DefaultOut();
  PrepareOutDir(out);
  WriteCommandLine(out, kSimMarker, args);

  // SimGrid's own log lines off but for errors; settings from --sim-cfg.
  std::vector<std::string> engine_args = {"gradwire-sim", "--log=root.thres:error",
                                          std::string("--cfg=") + kLatencyFactor,
                                          std::string("--cfg=") + kWeightS};
  if (vm->count("sim-cfg")) {
    for (const auto& c : (*vm)["sim-cfg"].as<std::vector<std::string>>()) {
      engine_args.push_back("--cfg=" + c);
    }
  }
  std::vector<char*> argv;
  for (auto& a : engine_args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(engine_args.size());
  s4u::Engine engine(&argc, argv.data());
  sim::BuildPlatform(*topology, cfg.num_servers, cfg.num_workers);
  sim::RegisterSimTransport();
  sim::SimClock clock;
  SetClock(&clock);
  // Log lines say the simulated time and which server or worker wrote them.
  SetLogSource([] {
    char when[32];
    std::snprintf(when, sizeof when, "%.6f", s4u::Engine::get_clock());
    return std::string(when) + " sim " +
           (s4u::this_actor::is_maestro() ? std::string("gradwire") : s4u::this_actor::get_name());
  });

  DeviceOptions device;
  device.token = kSimToken;
  device.phantom_payloads = cfg.workload.phantom;
  std::vector<Address> servers;
  for (uint32_t s = 0; s < cfg.num_servers; ++s) {
    servers.push_back(Address{TransportKind::kSim, sim::ServerHost(s), kServerPort});
  }
  Outcomes outcomes;
  for (uint32_t s = 0; s < cfg.num_servers; ++s) {
    Spawn("server " + std::to_string(s), sim::ServerHost(s), outcomes, [&, s] {
      ServerOptions opt;
      opt.rank = s;
      opt.listen = servers[s];
      opt.device = device;
      opt.out_dir = out;
      RunServer(cfg, opt);
    });
  }
  for (uint32_t w = 0; w < cfg.num_workers; ++w) {
    Spawn("worker " + std::to_string(w), sim::WorkerHost(w), outcomes, [&, w] {
      WorkerOptions opt;  // made here: its start time is the simulation's
      opt.rank = w;
      opt.servers = servers;
      opt.device = device;
      opt.device.connect_timeout = cfg.timeout;  // as gradwire worker waits for its servers
      opt.out_dir = out;
      opt.evaluate = w == 0;
      opt.progress = w == 0;
      RunWorker(cfg, opt);
    });
  }
  std::printf("gradwire sim: %u server(s) and %u worker(s) on %s; results in %s/\n",
              cfg.num_servers, cfg.num_workers, topology->ToString().c_str(), out.c_str());
  std::fflush(stdout);
  const auto wall_start = std::chrono::steady_clock::now();
  engine.run();
  outcomes.Close();
  const double simulated = s4u::Engine::get_clock();
  SetClock(nullptr);
  SetLogSource(nullptr);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  const auto totals = MergeJobCsvs(out, cfg.num_servers, cfg.num_workers);
  if (!outcomes.Succeeded()) MarkPartial(out, cfg, totals, simulated);
  PrintTable(totals, out);
  std::printf("gradwire sim: %.3f s simulated in %.1f s of wall time\n", simulated, wall);
  if (!outcomes.Succeeded()) {
    throw Error("the simulated job failed:" + outcomes.List() +
                "; see the messages above (what it measured is in " + out +
                "/, summary.csv: partial=1)");
  }
  if (outcomes.any()) {
    std::printf("gradwire sim: the servers finished the job without%s\n", outcomes.List().c_str());
  }
  return 0;
}

}  // namespace gw::cli
