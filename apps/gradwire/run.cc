// `gradwire run`: S servers and N workers as separate processes on this machine over
// loopback; collects their CSVs into one results directory and prints a table.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "apps/gradwire/out_dir.h"
#include "apps/gradwire/process.h"
#include "apps/gradwire/run_results.h"
#include "base/error.h"
#include "ps/results.h"

namespace gw::cli {

namespace {

// How long the servers may take to listen (they load no data before they do).
static constexpr std::chrono::seconds kListenTimeout{30};
// After a failure, the servers' own --timeout decides a lost worker; they get this much more
// to say so and write their results.
static constexpr std::chrono::seconds kServerVerdictMargin{5};
// During start-up (the first --join-timeout), run says how far it is this often.
static constexpr std::chrono::seconds kProgressEvery{5};

bool IsServer(const Child& c) { return c.name.starts_with("server "); }

// Why the job cannot go on, so that run stops at once instead of waiting for the servers'
// --timeout ("": it may): a server failed (every worker needs every server), or every worker
// failed (no one is left to join; typically a bad flag or missing data, said by each worker).
std::string JobCannotGoOn(const std::vector<Child>& children) {
  bool any_worker = false, every_worker_failed = true;
  for (const auto& c : children) {
    const bool failed = !c.running && c.status != 0 && !c.stopped;
    if (IsServer(c)) {
      if (failed) return c.name + " failed (exit " + std::to_string(c.status) + ")";
      continue;
    }
    any_worker = true;
    every_worker_failed = every_worker_failed && failed;
  }
  return any_worker && every_worker_failed ? "every worker failed: see their messages above" : "";
}

// The servers judge the job (a rule that cannot go on without a lost worker makes them fail):
// it succeeded when every server and the evaluating worker (0: the summary and the test
// accuracy are its) exited 0. Another worker's failure is one the job went on without.
bool JobSucceeded(const std::vector<Child>& children) {
  return std::all_of(children.begin(), children.end(), [](const Child& c) {
    return c.status == 0 || !(IsServer(c) || c.name == "worker 0");
  });
}

// " worker 0 (exit 1) server 0 (stopped)": who failed, and whom run stopped.
std::string FailureList(const std::vector<Child>& children) {
  std::string list;
  for (const auto& c : children) {
    if (c.status == 0) continue;
    list += " " + c.name + (c.stopped ? " (stopped)" : " (exit " + std::to_string(c.status) + ")");
  }
  return list;
}

// Start-up can be slow (16 workers loading Fashion-MNIST on a few cores): a line every
// kProgressEvery until training begins (a worker's first row, or a coded job's first round, is
// in the results), however long that takes: the servers' wait restarts with every join.
class StartupProgress {
 public:
  StartupProgress(const JobConfig& cfg, std::string out)
      : out_(std::move(out)),
        workers_(cfg.num_workers),
        servers_(cfg.num_servers),
        start_(std::chrono::steady_clock::now()),
        timeout_(cfg.StartupTimeout()),
        next_(start_ + kProgressEvery) {}

  void Report(const std::vector<Child>& children) {
    const auto now = std::chrono::steady_clock::now();
    if (begun_ || now < next_) return;
    next_ += kProgressEvery;
    if ((begun_ = TrainingBegun())) return;
    const auto running = std::count_if(children.begin(), children.end(),
                                       [](const Child& c) { return c.running && !IsServer(c); });
    std::printf(
        "gradwire run: start-up: %.0f s (the servers wait up to %.0f s for each next join); %ld "
        "worker process(es) running\n",
        std::chrono::duration<double>(now - start_).count(),
        std::chrono::duration<double>(timeout_).count(), static_cast<long>(running));
    std::fflush(stdout);
  }

 private:
  // A file of the results holds a row below its header.
  bool HasRow(const std::string& name) const {
    std::ifstream f(out_ + "/" + name);
    std::string line;
    return std::getline(f, line) && std::getline(f, line);
  }
  bool TrainingBegun() const {
    for (uint32_t w = 0; w < workers_; ++w) {
      if (HasRow("worker-" + std::to_string(w) + ".csv")) return true;
    }
    for (uint32_t s = 0; s < servers_; ++s) {
      if (HasRow("rounds-" + std::to_string(s) + ".csv")) return true;
    }
    return false;
  }

  const std::string out_;
  const uint32_t workers_;
  const uint32_t servers_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point next_;
  bool begun_ = false;
};

// Waits for every server's port file; fails early if a server exited. Empty if a stop signal
// came first.
std::vector<uint16_t> WaitForPorts(std::vector<Child>& servers, const std::string& out,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<uint16_t> ports(servers.size(), 0);
  while (true) {
    bool all = true;
    for (size_t s = 0; s < servers.size(); ++s) {
      if (ports[s]) continue;
      std::ifstream f(out + "/server-" + std::to_string(s) + ".port");
      unsigned p = 0;
      if (f >> p && p > 0) {
        ports[s] = static_cast<uint16_t>(p);
      } else {
        all = false;
      }
    }
    if (all) return ports;
    if (StopSignal()) return {};
    ReapSome(servers);
    for (const auto& c : servers) {
      if (!c.running)
        throw Error(c.name + " exited (code " + std::to_string(c.status) +
                    ") before listening; see its message above");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error("servers did not start listening within " +
                  std::to_string(timeout.count() / 1000) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Whether the job's streamed results (every worker's rows, the servers' rounds and windows)
// grew since the last look: a job going on without a failed worker is not cut short.
class ResultsGrowth {
 public:
  // Looking costs a stat per file: at most this often.
  static constexpr std::chrono::milliseconds kLookEvery{500};

  ResultsGrowth(std::string out, uint32_t workers, uint32_t servers)
      : out_(std::move(out)), workers_(workers), servers_(servers) {}

  bool operator()() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_look_ < kLookEvery) return false;
    last_look_ = now;
    const uint64_t bytes = Bytes();
    const bool grew = bytes > bytes_;
    bytes_ = bytes;
    return grew;
  }

 private:
  uint64_t Bytes() const {
    uint64_t total = 0;
    auto add = [&](const std::string& name) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(out_ + "/" + name, ec);
      if (!ec) total += size;
    };
    for (uint32_t w = 0; w < workers_; ++w) add("worker-" + std::to_string(w) + ".csv");
    for (uint32_t s = 0; s < servers_; ++s) {
      add("rounds-" + std::to_string(s) + ".csv");
      add("windows-" + std::to_string(s) + ".csv");
    }
    return total;
  }

  const std::string out_;
  const uint32_t workers_;
  const uint32_t servers_;
  std::chrono::steady_clock::time_point last_look_{};
  uint64_t bytes_ = 0;
};

}  // namespace

int RunCommand(const std::string& self, const std::vector<std::string>& args) {
  po::options_description own("Run");
  own.add_options()(
      "out", po::value<std::string>(),
      "results directory (default results/runs/<time>); a previous run's outputs "
      "there (command.txt, iterations.csv, summary.csv, rounds.csv, windows.csv, "
      "accuracy.csv, layers.csv, server-S.csv, server-S.port, rounds-S.csv, windows-S.csv, "
      "worker-W.csv, writes-W.csv, layers-W.csv) are "
      "replaced, every other file is kept")(
      "transport", po::value<std::string>()->default_value("tcp"), "tcp | rdma")(
      "host", po::value<std::string>()->default_value("127.0.0.1"),
      "address the servers listen on (rdma: an address of the RDMA netdev)")(
      "worker-cmd", po::value<std::string>(),
      "run each worker as this shell command with `gradwire worker`'s flags appended, e.g. "
      "'python3 train.py' for Python workers (python/README.md); default: gradwire worker");
  po::options_description job = JobFlags(), conn = ConnectionFlags();
  po::options_description all;
  all.add(own).add(job).add(conn);
  const auto vm = Parse("run", "--num-workers N [--num-servers S] [flags]", all, args);
  if (!vm) return 0;
  // Every flag is checked before anything is written or started.
  const auto env = LauncherEnv::Read();
  const JobConfig cfg = JobFrom(*vm, env);
  DeviceFrom(*vm, env, TokenSource::kMadeHere);
  const std::string transport = (*vm)["transport"].as<std::string>();
  if (transport != "tcp" && transport != "rdma") {
    throw UsageError("--transport must be tcp or rdma");
  }
  std::optional<std::string> worker_cmd;
  if (vm->count("worker-cmd")) {
    worker_cmd = (*vm)["worker-cmd"].as<std::string>();
    if (worker_cmd->find_first_not_of(" \t") == std::string::npos) {
      throw UsageError("--worker-cmd is empty");
    }
  }
  const std::string out = vm->count("out") ? (*vm)["out"].as<std::string>() : DefaultOut();
  PrepareOutDir(out);
  const auto started = std::chrono::steady_clock::now();
  WriteCommandLine(out, kRunMarker, args);
  const std::string base = transport + "://" + (*vm)["host"].as<std::string>() + ":";
  const std::vector<std::string> forwarded = Forwarded(*vm, {job, conn});
  const std::vector<std::string> child_env = {"GRADWIRE_TOKEN=" + RandomToken()};

  CatchStopSignals();
  std::vector<Child> children;
  const StopOnExit stop_on_exit(children);
  for (uint32_t s = 0; s < cfg.num_servers && !StopSignal(); ++s) {
    std::vector<std::string> a = {"server",
                                  "--rank=" + std::to_string(s),
                                  "--listen=" + base + "0",
                                  "--port-file=" + out + "/server-" + std::to_string(s) + ".port",
                                  "--out=" + out,
                                  "--num-servers=" + std::to_string(cfg.num_servers),
                                  "--num-workers=" + std::to_string(cfg.num_workers)};
    a.insert(a.end(), forwarded.begin(), forwarded.end());
    children.push_back(Spawn("server " + std::to_string(s), self, a, child_env));
  }
  const std::vector<uint16_t> ports = WaitForPorts(children, out, kListenTimeout);
  std::string addrs;
  for (uint16_t p : ports) addrs += (addrs.empty() ? "" : ",") + (base + std::to_string(p));
  if (!StopSignal()) {
    std::printf(
        "gradwire run: %u server(s) on %s, starting %u worker(s); results in %s/\n"
        "gradwire run: each worker loads its data, then joins; the servers give up on a worker "
        "not joined within --join-timeout (%.0f s) of the last join\n",
        cfg.num_servers, addrs.c_str(), cfg.num_workers, out.c_str(),
        std::chrono::duration<double>(cfg.StartupTimeout()).count());
    std::fflush(stdout);
  }
  for (uint32_t w = 0; w < cfg.num_workers && !StopSignal(); ++w) {
    std::vector<std::string> a = {"worker",
                                  "--rank=" + std::to_string(w),
                                  "--servers=" + addrs,
                                  "--out=" + out,
                                  "--num-servers=" + std::to_string(cfg.num_servers),
                                  "--num-workers=" + std::to_string(cfg.num_workers)};
    a.insert(a.end(), forwarded.begin(), forwarded.end());
    if (worker_cmd) {
      // sh -c 'CMD "$@"' sh FLAGS...: the flags reach the command as its own arguments,
      // unquoted by nobody (no flag is ever re-parsed by the shell).
      a[0] = "sh";
      a.insert(a.begin(), {"-c", *worker_cmd + " \"$@\""});
      children.push_back(Spawn("worker " + std::to_string(w), "/bin/sh", a, child_env));
    } else {
      children.push_back(Spawn("worker " + std::to_string(w), self, a, child_env));
    }
  }
  // The servers' own timeout decides a lost worker; give them that long to say so, unless
  // the job cannot go on at all (JobCannotGoOn).
  StartupProgress progress(cfg, out);
  ResultsGrowth growth(out, cfg.num_workers, cfg.num_servers);
  WaitAll(
      children, cfg.timeout + kServerVerdictMargin,
      [&](const std::vector<Child>& c) {
        progress.Report(c);
        return JobCannotGoOn(c);
      },
      std::ref(growth));
  const auto totals = MergeJobCsvs(out, cfg.num_servers, cfg.num_workers);
  const int sig = StopSignal();
  const bool ok = !sig && JobSucceeded(children);
  if (!ok) {
    MarkPartial(out, cfg, totals,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  PrintTable(totals, out);
  if (sig) {
    std::fprintf(stderr,
                 "gradwire run: interrupted by %s: stopped every server and worker; what they "
                 "wrote is in %s/ (summary.csv: partial=1)\n",
                 SignalName(sig).c_str(), out.c_str());
    return 128 + sig;
  }
  if (!ok) {
    throw Error("the run failed:" + FailureList(children) +
                "; see the messages above (what it measured is in " + out +
                "/, summary.csv: partial=1)");
  }
  if (const std::string lost = FailureList(children); !lost.empty()) {
    std::printf(
        "gradwire run: the servers finished the job without%s (workers_lost in "
        "server-*.csv)\n",
        lost.c_str());
  }
  return 0;
}

}  // namespace gw::cli
