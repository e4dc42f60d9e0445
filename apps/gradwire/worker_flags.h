// `gradwire worker`'s flags: the job, the connection and the worker's own (rank, servers,
// evaluation, reconnecting, fault injection), as the command and the Python module
// (python/module.cc: a Python worker takes exactly these) both read them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apps/gradwire/flags.h"
#include "ps/job.h"
#include "ps/worker.h"

namespace gw::cli {

struct WorkerSetup {
  JobConfig job;
  WorkerOptions options;
};

// The worker the arguments (after the subcommand) describe, with the launcher's variables;
// nullopt after printing --help (as `gradwire COMMAND`). Throws UsageError on a bad flag.
std::optional<WorkerSetup> WorkerFromArgs(const std::vector<std::string>& args,
                                          const std::string& command);

}  // namespace gw::cli
