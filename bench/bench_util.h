// Small helpers shared by the benchmark apps: a reporter that keeps reported values, medians, a
// free loopback port for a reference tool's side channel, starting a reference server and
// running a shell command for its output, and main()'s error handling.
#pragma once

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/device.h"
#include "ps/roles.h"

extern char** environ;

namespace gw::bench {

// The median (the upper one of an even count); v must not be empty.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A free TCP port on loopback (the kernel picks it; released again for a reference tool).
inline uint16_t FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  if (!ok) throw Error(std::string("no free loopback port: ") + std::strerror(errno));
  return ntohs(addr.sin_port);
}

// A device's options for one end of a benchmark's pair (the token both ends share).
inline DeviceOptions PairOptions(PeerId self, const char* job_id) {
  DeviceOptions o;
  o.self = self;
  o.roles = PsRoles();
  o.job_id = job_id;
  o.token = "bench";
  return o;
}

// Starts args[0] (searched on PATH; args ends with nullptr) with stdout and stderr to /dev/null,
// for a reference tool's server. Throws gw::Error, naming the Debian package to install when
// the tool is missing.
inline pid_t SpawnQuiet(const char* const args[], const std::string& package) {
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&quiet, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int err =
      posix_spawnp(&pid, args[0], &quiet, nullptr, const_cast<char* const*>(args), environ);
  posix_spawn_file_actions_destroy(&quiet);
  if (err == ENOENT) {
    throw Error(std::string(args[0]) +
                " is not installed (not on PATH); it is this benchmark's reference. Install it "
                "with 'make deps' (Debian package " +
                package + ").");
  }
  if (err != 0) throw Error(std::string("cannot start ") + args[0] + ": " + std::strerror(err));
  return pid;
}

// main() of a benchmark app: run(argc, argv)'s exit status, or 1 with the error on stderr.
inline int Main(int argc, char** argv, const char* name,
                const std::function<int(int, char**)>& run) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::cout << std::endl;
    std::cerr << name << ": " << e.what() << std::endl;
    return 1;
  } catch (const std::logic_error& e) {  // std::stoi and friends on a malformed flag
    std::cerr << name << ": bad flag value: " << e.what() << std::endl;
    return 1;
  }
}

// Runs a shell command and returns its stdout; *status gets its wait status (pclose).
inline std::string Capture(const std::string& command, int* status) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw Error("popen(" + command + "): " + std::strerror(errno));
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  *status = pclose(pipe);
  return out;
}

// The console output, plus the given counters of each reported run, by row ("name" or
// "name/args"). Only reported runs count, not the trials Google Benchmark runs to find an
// iteration count.
class Collector : public benchmark::ConsoleReporter {
 public:
  explicit Collector(std::vector<std::string> counters)
      : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular),
        counters_(std::move(counters)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      for (const std::string& name : counters_) {
        const auto it = run.counters.find(name);
        if (it == run.counters.end()) continue;
        const std::string row =
            run.run_name.function_name + (run.run_name.args.empty() ? "" : "/" + run.run_name.args);
        if (run.run_type == Run::RT_Iteration) {
          values_[row].push_back(it->second.value);
        } else if (run.aggregate_name == "median") {  // --benchmark_report_aggregates_only
          medians_[row] = it->second.value;
        }
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // Median over the repetitions of a row.
  std::optional<double> Get(const std::string& row) const {
    if (const auto it = medians_.find(row); it != medians_.end()) return it->second;
    const auto it = values_.find(row);
    if (it == values_.end() || it->second.empty()) return std::nullopt;
    return Median(it->second);
  }

 private:
  std::vector<std::string> counters_;
  std::map<std::string, std::vector<double>> values_;
  std::map<std::string, double> medians_;
};

}  // namespace gw::bench
