// Child processes for the local launchers (`run`, `bench`): start, watch, stop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace gw::cli {

struct Child {
  std::string name;  // "server 0", "worker 3"
  pid_t pid = -1;
  int status = -1;  // exit code once reaped; 128+signal if killed
  bool running = true;
};

// Starts `path args...` with the current environment (plus extra NAME=VALUE entries).
Child Spawn(const std::string& name, const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::string>& extra_env);

// Reaps children that exited; returns true while any still runs.
bool ReapSome(std::vector<Child>& children);

// Waits for all children; once one fails, the rest get `grace` to finish before SIGTERM,
// and SIGKILL 2 s later. Returns true when every child exited with 0.
bool WaitAll(std::vector<Child>& children, std::chrono::milliseconds grace);

// A random hex token for one job (from /dev/urandom).
std::string RandomToken();

}  // namespace gw::cli
