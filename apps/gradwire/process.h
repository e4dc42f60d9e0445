// Child processes for the local launchers (`run`, `bench`): start, watch, stop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace gw::cli {

struct Child {
  std::string name;  // "server 0", "worker 3"
  pid_t pid = -1;
  int status = -1;  // exit code once reaped; 128+signal if killed
  bool running = true;
  bool stopped =
      false;  // the launcher sent it SIGTERM: its status says so, not a failure of its own
};

// Starts `path args...` with the current environment (plus extra NAME=VALUE entries). The child
// gets SIGTERM if the launcher dies, however it dies (even SIGKILL), so none is left behind.
Child Spawn(const std::string& name, const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::string>& extra_env);

// Reaps children that exited; returns true while any still runs.
bool ReapSome(std::vector<Child>& children);

// From now on SIGINT, SIGTERM and SIGHUP (Ctrl-C, Slurm, a harness, a closed terminal) are
// recorded instead of ending the launcher, so that it can stop its children first.
void CatchStopSignals();
// The stop signal received since CatchStopSignals (0: none).
int StopSignal();

// "SIGTERM" for SIGTERM.
std::string SignalName(int sig);

// Why the children still running must be stopped at once ("": keep waiting).
using StopRule = std::function<std::string(const std::vector<Child>&)>;

// Whether the job made progress since the last call (its results files grew).
using ProgressProbe = std::function<bool()>;

// Waits for all children. The ones still running are stopped (SIGTERM, then SIGKILL
// kKillAfter later) at once when a stop signal arrives or stop_now gives a reason, and
// otherwise once `grace` passed after the first failure without `progressed` saying the
// others moved on (a job that goes on without a failed worker is not cut short). Returns
// true when every child exited with 0.
bool WaitAll(std::vector<Child>& children, std::chrono::milliseconds grace,
             const StopRule& stop_now = {}, const ProgressProbe& progressed = {});

// Stops and reaps every child still running, saying why on stderr unless why is empty.
void StopAll(std::vector<Child>& children, const std::string& why);

// Stops whatever children are still running when it goes out of scope (an exception, an
// early return): a launcher never leaves its processes behind.
class StopOnExit {
 public:
  explicit StopOnExit(std::vector<Child>& children) : children_(children) {}
  ~StopOnExit() { StopAll(children_, ""); }
  StopOnExit(const StopOnExit&) = delete;
  StopOnExit& operator=(const StopOnExit&) = delete;

 private:
  std::vector<Child>& children_;
};

// A random hex token for one job (from /dev/urandom).
std::string RandomToken();

}  // namespace gw::cli
