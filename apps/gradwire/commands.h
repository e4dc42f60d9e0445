// The subcommands of the gradwire binary. Each takes its arguments (after the subcommand
// name) and returns the process exit code; UsageError means a bad flag (exit 2).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace gw::cli {

int ServerCommand(const std::vector<std::string>& args);
int WorkerCommand(const std::vector<std::string>& args);
int RunCommand(const std::string& self, const std::vector<std::string>& args);
// The same job as actors of a SimGrid simulation (sim.cc): in gradwire-sim (sim_main.cc),
// which `gradwire sim` execs from gradwire's own directory (ExecSim: only it loads SimGrid).
int SimCommand(const std::vector<std::string>& args);
// Replaces this process with gradwire-sim beside `self` (gradwire's path) running args;
// returns 1, having said why on stderr, only if it could not.
int ExecSim(const std::string& self, const std::vector<std::string>& args);
// What a job left in --out made whole (iterations.csv, rounds.csv, windows.csv, layers.csv)
// and its table: for jobs launched without `gradwire run` (experiments/launch/launch.sh).
int MergeCommand(const std::vector<std::string>& args);
int BenchCommand(const std::string& self, const std::vector<std::string>& args);
int ModelCommand(const std::vector<std::string>& args);
int ModelsCommand(const std::vector<std::string>& args);
// The two halves of `bench`, started by it as separate processes.
int BenchServerCommand(const std::vector<std::string>& args);
int BenchWorkerCommand(const std::vector<std::string>& args);

// body's exit code, or the one its exception stands for, said on stderr as
// "gradwire <command>: ...": UsageError 2 (a bad flag), any other exception 1.
int ExitCodeOf(const std::string& command, const std::function<int()>& body);

}  // namespace gw::cli
