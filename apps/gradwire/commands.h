// The subcommands of the gradwire binary. Each takes its arguments (after the subcommand
// name) and returns the process exit code; UsageError means a bad flag (exit 2).
#pragma once

#include <string>
#include <vector>

namespace gw::cli {

int ServerCommand(const std::vector<std::string>& args);
int WorkerCommand(const std::vector<std::string>& args);
int RunCommand(const std::string& self, const std::vector<std::string>& args);
// The same job as actors of a SimGrid simulation (sim.cc).
int SimCommand(const std::vector<std::string>& args);
// What a job left in --out made whole (iterations.csv, rounds.csv, windows.csv, layers.csv)
// and its table: for jobs launched without `gradwire run` (experiments/launch/launch.sh).
int MergeCommand(const std::vector<std::string>& args);
int BenchCommand(const std::string& self, const std::vector<std::string>& args);
int ModelCommand(const std::vector<std::string>& args);
int ModelsCommand(const std::vector<std::string>& args);
// The two halves of `bench`, started by it as separate processes.
int BenchServerCommand(const std::vector<std::string>& args);
int BenchWorkerCommand(const std::vector<std::string>& args);

}  // namespace gw::cli
