#include "apps/gradwire/process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "base/error.h"

extern char** environ;

namespace gw::cli {

namespace {

using Clock = std::chrono::steady_clock;

// A child that ignores SIGTERM this long gets SIGKILL.
static constexpr std::chrono::seconds kKillAfter{2};
// How often the launcher looks at its children (and at a stop signal).
static constexpr std::chrono::milliseconds kPollEvery{20};

volatile std::sig_atomic_t g_stop_signal = 0;

void RecordStopSignal(int sig) { g_stop_signal = sig; }

void Record(Child& c, int wstatus) {
  c.running = false;
  c.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

void Terminate(std::vector<Child>& children, const std::string& why) {
  for (auto& c : children) {
    if (!c.running || c.stopped) continue;
    if (!why.empty())
      std::fprintf(stderr, "gradwire: stopping %s (%s)\n", c.name.c_str(), why.c_str());
    kill(c.pid, SIGTERM);
    c.stopped = true;
  }
}

}  // namespace

Child Spawn(const std::string& name, const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) env_store.emplace_back(*e);
  env_store.insert(env_store.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv{const_cast<char*>(path.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw Error("cannot start " + name + ": fork failed");
  if (pid == 0) {
    // The launcher's death, by any signal, ends the child; a launcher that died before this
    // line ran would never send it, hence the check after.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(128 + SIGTERM);
    execve(path.c_str(), argv.data(), envp.data());
    std::perror(("gradwire: cannot exec " + path).c_str());
    _exit(127);
  }
  return Child{name, pid, -1, true, false};
}

bool ReapSome(std::vector<Child>& children) {
  bool any_running = false;
  for (auto& c : children) {
    if (!c.running) continue;
    int wstatus = 0;
    const pid_t r = waitpid(c.pid, &wstatus, WNOHANG);
    if (r == c.pid) {
      Record(c, wstatus);
    } else {
      any_running = true;
    }
  }
  return any_running;
}

void CatchStopSignals() {
  struct sigaction sa = {};
  sa.sa_handler = RecordStopSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

int StopSignal() { return g_stop_signal; }

bool WaitAll(std::vector<Child>& children, std::chrono::milliseconds grace,
             const StopRule& stop_now, const ProgressProbe& progressed) {
  Clock::time_point first_failure{}, terminated_at{};
  bool killed = false;
  while (ReapSome(children)) {
    const bool failed = std::any_of(children.begin(), children.end(),
                                    [](const Child& c) { return !c.running && c.status != 0; });
    // The grace runs from the first failure, and again from each sign of progress after it.
    if (failed && (first_failure == Clock::time_point{} || (progressed && progressed()))) {
      first_failure = Clock::now();
    }
    if (terminated_at == Clock::time_point{}) {
      std::string why;
      if (const int sig = StopSignal()) {
        why = "interrupted by " + SignalName(sig);
      } else if (stop_now) {
        why = stop_now(children);
      }
      if (why.empty() && failed && Clock::now() - first_failure > grace) {
        why = "another process failed";
      }
      if (!why.empty()) Terminate(children, why);
      // Also children stopped before the wait began (StopAll).
      if (std::any_of(children.begin(), children.end(), [](const Child& c) { return c.stopped; })) {
        terminated_at = Clock::now();
      }
    }
    if (terminated_at != Clock::time_point{} && !killed &&
        Clock::now() - terminated_at > kKillAfter) {
      for (auto& c : children) {
        if (c.running) kill(c.pid, SIGKILL);
      }
      killed = true;
    }
    std::this_thread::sleep_for(kPollEvery);
  }
  return std::all_of(children.begin(), children.end(),
                     [](const Child& c) { return c.status == 0; });
}

void StopAll(std::vector<Child>& children, const std::string& why) {
  if (!ReapSome(children)) return;
  Terminate(children, why);
  WaitAll(children, std::chrono::milliseconds(0));
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string RandomToken() {
  std::ifstream f("/dev/urandom", std::ios::binary);
  unsigned char b[16] = {};
  f.read(reinterpret_cast<char*>(b), sizeof b);
  if (!f) throw Error("cannot read /dev/urandom for a job token");
  std::string out;
  char hex[3];
  for (unsigned char c : b) {
    std::snprintf(hex, sizeof hex, "%02x", c);
    out += hex;
  }
  return out;
}

}  // namespace gw::cli
