// Helpers for the end-to-end tests: run the gradwire binary as child processes (each in its
// own process group, so a launcher's children die with it), capture their output in files,
// wait with bounds, and read the CSVs they write.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace gw::e2e {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Under ASan or TSan processes start and run several times slower: a case whose bound or
// margin is wall-clock time sizes its job by this.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

inline std::string Binary() { return GW_BINARY; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) out.push_back(line);
  return out;
}

inline std::vector<std::string> Split(const std::string& line, char sep = ',') {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream is(line);
  while (std::getline(is, cell, sep)) out.push_back(cell);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

// Lines of text that contain every one of needles.
inline int CountLines(const std::string& text, const std::vector<std::string>& needles) {
  int n = 0;
  for (const auto& line : Lines(text)) {
    bool all = true;
    for (const auto& s : needles) all = all && line.find(s) != std::string::npos;
    n += all ? 1 : 0;
  }
  return n;
}

// A fresh directory under the gtest temp dir; removed by the owner's destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "gradwire-e2e-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << tmpl << "): " << std::strerror(errno);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// One child process. Owned by a Processes set, which kills and reaps it in any case.
struct Proc {
  std::string name;
  pid_t pid = -1;
  std::string out_path, err_path;
  std::optional<int> exit_code;  // once reaped: exit code, or 128+signal
  Clock::time_point started, ended;

  std::string out() const { return ReadFile(out_path); }
  std::string err() const { return ReadFile(err_path); }

  // Reaps the process if it exited; true once it has.
  bool Poll() {
    if (exit_code) return true;
    int st = 0;
    const pid_t r = waitpid(pid, &st, WNOHANG);
    if (r != pid) return false;
    ended = Clock::now();
    exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
  }

  // Waits up to timeout; the exit code, or nullopt if it is still running.
  std::optional<int> Wait(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!Poll()) {
      if (Clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return exit_code;
  }

  void Signal(int sig) const {
    if (!exit_code) kill(pid, sig);
  }

  // Kills the whole process group (a launcher and its children) and reaps the leader.
  void KillAndReap() {
    kill(-pid, SIGKILL);  // the group outlives its reaped leader while members remain
    if (!exit_code) {
      int st = 0;
      if (waitpid(pid, &st, 0) == pid) {
        ended = Clock::now();
        exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
    }
  }

  // For failure messages.
  std::string Describe() const {
    std::ostringstream os;
    os << "--- " << name << " (exit ";
    if (exit_code) {
      os << *exit_code;
    } else {
      os << "none: still running";
    }
    os << ")\nstderr:\n" << err() << "stdout:\n" << out();
    return os.str();
  }
};

// The token every process a test starts presents (GRADWIRE_TOKEN), unless the test gives
// its own: `gradwire server` and `worker` refuse to start without one.
inline constexpr const char* kTestToken = "e2e-test-token";

class Processes {
 public:
  explicit Processes(std::string dir) : dir_(std::move(dir)) {}
  ~Processes() { KillAll(); }
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  // Starts `gradwire args...` in its own process group with a clean launcher environment
  // plus GRADWIRE_TOKEN=kTestToken and extra_env ("NAME=VALUE", a GRADWIRE_TOKEN there
  // replacing the test's), stdout/stderr to files in dir named after `name`. descriptors:
  // the child's RLIMIT_NOFILE (soft and hard), as `prlimit --nofile=N:N` would set it.
  Proc& Start(const std::string& name, const std::vector<std::string>& args,
              const std::vector<std::string>& extra_env = {},
              std::optional<rlim_t> descriptors = std::nullopt) {
    auto p = std::make_unique<Proc>();
    p->name = name;
    std::string file = name;
    for (char& c : file) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    p->out_path = dir_ + "/" + file + ".stdout";
    p->err_path = dir_ + "/" + file + ".stderr";

    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv(*e);
      // Launcher variables of the environment the tests run in must not leak into the job.
      if (kv.starts_with("DMLC_") || kv.starts_with("SLURM_") || kv.starts_with("OMPI_") ||
          kv.starts_with("GRADWIRE_")) {
        continue;
      }
      env_store.push_back(kv);
    }
    if (std::none_of(extra_env.begin(), extra_env.end(),
                     [](const std::string& kv) { return kv.starts_with("GRADWIRE_TOKEN="); })) {
      env_store.push_back(std::string("GRADWIRE_TOKEN=") + kTestToken);
    }
    env_store.insert(env_store.end(), extra_env.begin(), extra_env.end());
    const std::string bin = Binary();
    std::vector<char*> argv{const_cast<char*>(bin.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);

    const int out_fd = open(p->out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = open(p->err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0 || err_fd < 0) {
      ADD_FAILURE() << "cannot create output files in " << dir_;
    }
    p->started = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      dup2(out_fd, STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      const int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
      if (descriptors) {
        const rlimit limit{*descriptors, *descriptors};
        setrlimit(RLIMIT_NOFILE, &limit);
      }
      execve(bin.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    if (pid > 0) setpgid(pid, pid);  // also from here: no race with an early KillAndReap
    close(out_fd);
    close(err_fd);
    if (pid < 0) ADD_FAILURE() << "fork failed: " << std::strerror(errno);
    p->pid = pid;
    procs_.push_back(std::move(p));
    return *procs_.back();
  }

  void KillAll() {
    for (auto& p : procs_) {
      if (p->pid > 0) p->KillAndReap();
    }
  }

  std::string DescribeAll() const {
    std::string s;
    for (const auto& p : procs_) s += p->Describe();
    return s;
  }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<Proc>> procs_;
};

// Polls until pred() holds or timeout passes; returns pred()'s last value.
template <typename Pred>
bool WaitUntil(Pred pred, milliseconds timeout, milliseconds every = milliseconds(20)) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return pred();
    std::this_thread::sleep_for(every);
  }
  return true;
}

// Waits until a server wrote its bound port into path (or exited); 0 if it never did.
inline uint16_t WaitForPort(Proc& server, const std::string& path, milliseconds timeout) {
  unsigned port = 0;
  WaitUntil(
      [&] {
        std::ifstream f(path);
        if (f >> port && port > 0) return true;
        port = 0;
        return server.Poll();
      },
      timeout);
  return static_cast<uint16_t>(port);
}

// A CSV file as header + rows of cells.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  int Column(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

// CSV text (a file's, or a command's output) as header + rows.
inline Csv ParseCsv(const std::string& text) {
  Csv csv;
  const auto lines = Lines(text);
  if (lines.empty()) return csv;
  csv.header = Split(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (!lines[i].empty()) csv.rows.push_back(Split(lines[i]));
  }
  return csv;
}

inline Csv ReadCsv(const std::string& path) { return ParseCsv(ReadFile(path)); }

// One cell of a two-line summary CSV as written, or nullopt if the column is missing.
inline std::optional<std::string> SummaryCell(const std::string& path, const std::string& key) {
  const Csv csv = ReadCsv(path);
  const int col = csv.Column(key);
  if (col < 0 || csv.rows.size() != 1) return std::nullopt;
  const auto& row = csv.rows[0];
  // A row ending in empty cells has fewer of them than the header.
  return static_cast<size_t>(col) < row.size() ? row[static_cast<size_t>(col)] : std::string();
}

// One value of a two-line summary CSV, or nullopt if missing or not a number.
inline std::optional<double> SummaryValue(const std::string& path, const std::string& key) {
  const std::optional<std::string> cell = SummaryCell(path, key);
  if (!cell) return std::nullopt;
  try {
    return std::stod(*cell);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The processes whose parent is `parent` (from /proc/<pid>/stat).
inline std::set<pid_t> ChildrenOf(pid_t parent) {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadFile(e.path().string() + "/stat");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so from the last ')'.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream is(stat.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    if (is >> state >> ppid && ppid == parent) out.insert(std::stoi(name));
  }
  return out;
}

// A process's command line, its arguments joined by spaces ("" once it is gone).
inline std::string CommandLineOf(pid_t pid) {
  std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  return cmdline;
}

}  // namespace gw::e2e
