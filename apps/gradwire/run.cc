// `gradwire run`: S servers and N workers as separate processes on this machine over
// loopback; collects their CSVs into one results directory and prints a table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "apps/gradwire/process.h"
#include "base/error.h"
#include "ps/results.h"

namespace gw::cli {

namespace fs = std::filesystem;

namespace {

std::string DefaultOut() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return std::string("results/runs/") + buf;
}

// Waits for every server's port file; fails early if a server exited.
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

// Cells per row of the iteration CSV, from its header.
constexpr size_t kIterationColumns = [] {
  size_t n = 1;
  for (const char* c = kIterationCsvHeader; *c; ++c) n += *c == ',';
  return n;
}();
static_assert(kIterationColumns == 11, "the table below reads cells 2..9 by position");

// Concatenates worker-*.csv into iterations.csv and sums per-worker times.
std::map<uint32_t, WorkerTotals> MergeWorkerCsvs(const std::string& out, uint32_t workers) {
  std::map<uint32_t, WorkerTotals> totals;
  std::ofstream merged(out + "/iterations.csv");
  merged << kIterationCsvHeader << "\n";
  for (uint32_t w = 0; w < workers; ++w) {
    std::ifstream f(out + "/worker-" + std::to_string(w) + ".csv");
    std::string line;
    if (!std::getline(f, line)) continue;  // that worker wrote nothing (it failed)
    while (std::getline(f, line)) {
      merged << line << "\n";
      std::istringstream is(line);
      std::string cell;
      std::vector<std::string> cells;
      while (std::getline(is, cell, ',')) cells.push_back(cell);
      if (cells.size() != kIterationColumns) continue;
      auto& t = totals[w];
      ++t.iterations;
      t.compute += std::stod(cells[2]);
      t.write += std::stod(cells[3]);
      t.wait += std::stod(cells[4]);
      t.last_loss = std::stod(cells[6]);
      t.delay += std::stod(cells[7]);
      t.gate += std::stod(cells[9]);
    }
  }
  return totals;
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
  own.add_options()("out", po::value<std::string>(),
                    "results directory (default results/runs/<time>)")(
      "transport", po::value<std::string>()->default_value("tcp"), "tcp | rdma")(
      "host", po::value<std::string>()->default_value("127.0.0.1"),
      "address the servers listen on (rdma: an address of the RDMA netdev)");
  po::options_description job = JobFlags(), conn = ConnectionFlags();
  po::options_description all;
  all.add(own).add(job).add(conn);
  const auto vm = Parse("run", "--num-workers N [--num-servers S] [flags]", all, args);
  if (!vm) return 0;
  const auto env = LauncherEnv::Read();
  const JobConfig cfg = JobFrom(*vm, env);  // validate before starting anything
  DeviceFrom(*vm, env);
  const std::string out = vm->count("out") ? (*vm)["out"].as<std::string>() : DefaultOut();
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(out)) {
    const auto name = e.path().filename().string();
    if (name.ends_with(".port") || name.ends_with(".csv")) fs::remove(e.path());
  }
  {
    std::ofstream cmd(out + "/command.txt");
    cmd << "gradwire run";
    for (const auto& a : args) cmd << " " << a;
    cmd << "\n";
  }
  const std::string transport = (*vm)["transport"].as<std::string>();
  if (transport != "tcp" && transport != "rdma") {
    throw UsageError("--transport must be tcp or rdma");
  }
  const std::string base = transport + "://" + (*vm)["host"].as<std::string>() + ":";
  const std::vector<std::string> forwarded = Forwarded(*vm, {job, conn});
  const std::vector<std::string> child_env = {"GRADWIRE_TOKEN=" + RandomToken()};

  std::vector<Child> servers;
  for (uint32_t s = 0; s < cfg.num_servers; ++s) {
    std::vector<std::string> a = {"server",
                                  "--rank=" + std::to_string(s),
                                  "--listen=" + base + "0",
                                  "--port-file=" + out + "/server-" + std::to_string(s) + ".port",
                                  "--out=" + out,
                                  "--num-servers=" + std::to_string(cfg.num_servers),
                                  "--num-workers=" + std::to_string(cfg.num_workers)};
    a.insert(a.end(), forwarded.begin(), forwarded.end());
    servers.push_back(Spawn("server " + std::to_string(s), self, a, child_env));
  }
  std::vector<uint16_t> ports;
  try {
    ports = WaitForPorts(servers, out, std::chrono::seconds(30));
  } catch (const Error&) {
    WaitAll(servers, std::chrono::milliseconds(0));
    throw;
  }
  std::string addrs;
  for (uint16_t p : ports) addrs += (addrs.empty() ? "" : ",") + (base + std::to_string(p));
  std::printf("gradwire run: %u server(s) on %s, starting %u worker(s); results in %s/\n",
              cfg.num_servers, addrs.c_str(), cfg.num_workers, out.c_str());
  std::fflush(stdout);

  std::vector<Child> children = std::move(servers);
  for (uint32_t w = 0; w < cfg.num_workers; ++w) {
    std::vector<std::string> a = {"worker",
                                  "--rank=" + std::to_string(w),
                                  "--servers=" + addrs,
                                  "--out=" + out,
                                  "--num-servers=" + std::to_string(cfg.num_servers),
                                  "--num-workers=" + std::to_string(cfg.num_workers)};
    a.insert(a.end(), forwarded.begin(), forwarded.end());
    children.push_back(Spawn("worker " + std::to_string(w), self, a, child_env));
  }
  // The servers' own timeout decides a lost worker; give them that long to say so.
  const bool ok = WaitAll(children, cfg.timeout + std::chrono::seconds(5));
  PrintTable(MergeWorkerCsvs(out, cfg.num_workers), out);
  if (!ok) {
    std::string failed;
    for (const auto& c : children) {
      if (c.status != 0) failed += " " + c.name + " (exit " + std::to_string(c.status) + ")";
    }
    throw Error("the run failed:" + failed + "; see the messages above");
  }
  return 0;
}

}  // namespace gw::cli
