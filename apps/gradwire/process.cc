#include "apps/gradwire/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>

#include "base/error.h"

extern char** environ;

namespace gw::cli {

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
  const pid_t pid = fork();
  if (pid < 0) throw Error("cannot start " + name + ": fork failed");
  if (pid == 0) {
    execve(path.c_str(), argv.data(), envp.data());
    std::perror(("gradwire: cannot exec " + path).c_str());
    _exit(127);
  }
  return Child{name, pid, -1, true};
}

namespace {
void Record(Child& c, int wstatus) {
  c.running = false;
  c.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}
}  // namespace

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

bool WaitAll(std::vector<Child>& children, std::chrono::milliseconds grace) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point first_failure{};
  bool terminated = false, killed = false;
  while (ReapSome(children)) {
    const bool failed = std::any_of(children.begin(), children.end(),
                                    [](const Child& c) { return !c.running && c.status != 0; });
    if (failed && first_failure == Clock::time_point{}) first_failure = Clock::now();
    if (failed && !terminated && Clock::now() - first_failure > grace) {
      for (auto& c : children) {
        if (c.running) {
          std::fprintf(stderr, "gradwire run: stopping %s (another process failed)\n",
                       c.name.c_str());
          kill(c.pid, SIGTERM);
        }
      }
      terminated = true;
    }
    if (terminated && !killed && Clock::now() - first_failure > grace + std::chrono::seconds(2)) {
      for (auto& c : children) {
        if (c.running) kill(c.pid, SIGKILL);
      }
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::all_of(children.begin(), children.end(),
                     [](const Child& c) { return c.status == 0; });
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
