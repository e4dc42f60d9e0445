// `gradwire run`: S servers and N workers as separate processes on this machine over
// loopback; collects their CSVs into one results directory and prints a table.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "apps/gradwire/out_dir.h"
#include "apps/gradwire/process.h"
#include "base/error.h"
#include "ps/results.h"

namespace gw::cli {

namespace {

// How long the servers may take to listen (they load no data before they do).
static constexpr std::chrono::seconds kListenTimeout{30};
// After a failure, the servers' own --timeout decides a lost worker; they get this much more
// to say so and write their results.
static constexpr std::chrono::seconds kServerVerdictMargin{5};
// During start-up (the first --timeout), run says how far it is this often.
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
// kProgressEvery during the first --timeout, the time the servers wait for every join.
class StartupProgress {
 public:
  explicit StartupProgress(const JobConfig& cfg)
      : start_(std::chrono::steady_clock::now()),
        timeout_(cfg.timeout),
        next_(start_ + kProgressEvery) {}

  void Report(const std::vector<Child>& children) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_ || now - start_ > timeout_) return;
    next_ += kProgressEvery;
    const auto running = std::count_if(children.begin(), children.end(),
                                       [](const Child& c) { return c.running && !IsServer(c); });
    std::printf(
        "gradwire run: start-up: %.0f s of the %.0f s the servers wait for joins; %ld worker "
        "process(es) running\n",
        std::chrono::duration<double>(now - start_).count(),
        std::chrono::duration<double>(timeout_).count(), static_cast<long>(running));
    std::fflush(stdout);
  }

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point next_;
};

// Closes f, throwing an Error that names path and the reason if anything failed to be written.
void WriteCommandLine(const std::string& out, const std::vector<std::string>& args) {
  const std::string path = out + "/command.txt";
  std::ofstream cmd(path);
  cmd << kRunMarker;
  for (const auto& a : args) cmd << " " << a;
  cmd << "\n";
  CloseOrThrow(cmd, path);
}

std::string DefaultOut() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return std::string("results/runs/") + buf;
}

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

struct WorkerTotals {
  uint64_t iterations = 0;
  double compute = 0, write = 0, wait = 0, delay = 0, gate = 0, last_loss = 0;
};

// The cells of one CSV line.
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> cells;
  std::istringstream is(line);
  std::string cell;
  while (std::getline(is, cell, ',')) cells.push_back(cell);
  return cells;
}

// The columns MergeWorkerCsvs sums, found by name in each file's own header (a column added
// or moved cannot shift what is read); -1 where a file lacks one.
struct TotalsColumns {
  int compute = -1, write = -1, wait = -1, loss = -1, delay = -1, gate = -1;
  size_t cells = 0;

  explicit TotalsColumns(const std::vector<std::string>& header) : cells(header.size()) {
    auto find = [&](std::string_view name) {
      const auto it = std::find(header.begin(), header.end(), name);
      return it == header.end() ? -1 : static_cast<int>(it - header.begin());
    };
    compute = find("compute_s");
    write = find("write_s");
    wait = find("wait_s");
    loss = find("loss");
    delay = find("delay_s");
    gate = find("gate_s");
  }
  static double Cell(const std::vector<std::string>& row, int column) {
    return column < 0 ? 0.0 : std::strtod(row[static_cast<size_t>(column)].c_str(), nullptr);
  }
};

// Concatenates worker-*.csv into iterations.csv and sums per-worker times.
std::map<uint32_t, WorkerTotals> MergeWorkerCsvs(const std::string& out, uint32_t workers) {
  std::map<uint32_t, WorkerTotals> totals;
  const std::string path = out + "/iterations.csv";
  std::ofstream merged(path);
  merged << kIterationCsvHeader << "\n";
  for (uint32_t w = 0; w < workers; ++w) {
    std::ifstream f(out + "/worker-" + std::to_string(w) + ".csv");
    std::string line;
    if (!std::getline(f, line)) continue;  // that worker wrote nothing (it failed)
    const TotalsColumns columns(SplitCsv(line));
    while (std::getline(f, line)) {
      merged << line << "\n";
      const std::vector<std::string> cells = SplitCsv(line);
      if (cells.size() != columns.cells) continue;
      auto& t = totals[w];
      ++t.iterations;
      t.compute += TotalsColumns::Cell(cells, columns.compute);
      t.write += TotalsColumns::Cell(cells, columns.write);
      t.wait += TotalsColumns::Cell(cells, columns.wait);
      t.last_loss = TotalsColumns::Cell(cells, columns.loss);
      t.delay += TotalsColumns::Cell(cells, columns.delay);
      t.gate += TotalsColumns::Cell(cells, columns.gate);
    }
  }
  CloseOrThrow(merged, path);
  return totals;
}

// Concatenates the layered workers' layers-*.csv into layers.csv (one header), if any.
void MergeLayerCsvs(const std::string& out, uint32_t workers) {
  const std::string path = out + "/layers.csv";
  std::ofstream merged;
  for (uint32_t w = 0; w < workers; ++w) {
    std::ifstream f(out + "/layers-" + std::to_string(w) + ".csv");
    std::string line;
    if (!std::getline(f, line)) continue;  // not layered, or that worker failed
    if (!merged.is_open()) {
      merged.open(path);
      merged << kLayerCsvHeader << "\n";
    }
    while (std::getline(f, line)) merged << line << "\n";
  }
  if (merged.is_open()) CloseOrThrow(merged, path);
}

void PrintTable(const std::map<uint32_t, WorkerTotals>& totals, const std::string& out) {
  std::printf("\n%-8s %10s %12s %12s %12s %12s %12s %12s\n", "worker", "iterations", "compute ms",
              "delay ms", "write ms", "(gate ms)", "wait ms", "last loss");
  for (const auto& [w, t] : totals) {
    const double n = t.iterations ? static_cast<double>(t.iterations) : 1.0;
    std::printf("%-8u %10llu %12.3f %12.3f %12.3f %12.3f %12.3f %12.4f\n", w,
                static_cast<unsigned long long>(t.iterations), 1e3 * t.compute / n,
                1e3 * t.delay / n, 1e3 * t.write / n, 1e3 * t.gate / n, 1e3 * t.wait / n,
                t.last_loss);
  }
  std::ifstream f(out + "/summary.csv");
  std::string header, values;
  if (std::getline(f, header) && std::getline(f, values)) {
    std::istringstream hs(header), vs(values);
    std::string k, v;
    std::printf("\n");
    while (std::getline(hs, k, ',') && std::getline(vs, v, ',')) {
      std::printf("%-20s %s\n", k.c_str(), v.c_str());
    }
  }
  const bool coded = std::ifstream(out + "/rounds.csv").good();
  std::printf("\nresults: %s/ (iterations.csv, summary.csv, server-*.csv%s)\n", out.c_str(),
              coded ? ", rounds.csv" : "");
}

}  // namespace

int RunCommand(const std::string& self, const std::vector<std::string>& args) {
  po::options_description own("Run");
  own.add_options()(
      "out", po::value<std::string>(),
      "results directory (default results/runs/<time>); a previous run's outputs "
      "there (command.txt, iterations.csv, summary.csv, rounds.csv, windows.csv, "
      "accuracy.csv, layers.csv, server-S.csv, server-S.port, worker-W.csv, writes-W.csv, "
      "layers-W.csv) are "
      "replaced, every other file is kept")(
      "transport", po::value<std::string>()->default_value("tcp"), "tcp | rdma")(
      "host", po::value<std::string>()->default_value("127.0.0.1"),
      "address the servers listen on (rdma: an address of the RDMA netdev)");
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
  const std::string out = vm->count("out") ? (*vm)["out"].as<std::string>() : DefaultOut();
  PrepareOutDir(out);
  WriteCommandLine(out, args);
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
        "not joined within --timeout (%.0f s) from now\n",
        cfg.num_servers, addrs.c_str(), cfg.num_workers, out.c_str(),
        std::chrono::duration<double>(cfg.timeout).count());
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
    children.push_back(Spawn("worker " + std::to_string(w), self, a, child_env));
  }
  // The servers' own timeout decides a lost worker; give them that long to say so, unless
  // the job cannot go on at all (JobCannotGoOn).
  StartupProgress progress(cfg);
  const bool ok =
      WaitAll(children, cfg.timeout + kServerVerdictMargin, [&](const std::vector<Child>& c) {
        progress.Report(c);
        return JobCannotGoOn(c);
      });
  MergeLayerCsvs(out, cfg.num_workers);
  PrintTable(MergeWorkerCsvs(out, cfg.num_workers), out);
  if (const int sig = StopSignal()) {
    std::fprintf(stderr,
                 "gradwire run: interrupted by %s: stopped every server and worker; what they "
                 "wrote is in %s/\n",
                 SignalName(sig).c_str(), out.c_str());
    return 128 + sig;
  }
  if (!ok) throw Error("the run failed:" + FailureList(children) + "; see the messages above");
  return 0;
}

}  // namespace gw::cli
