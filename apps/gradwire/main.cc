// gradwire: one binary, subcommands, --help everywhere.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"

namespace {

constexpr const char* kUsage =
    "usage: gradwire <command> [flags]   (gradwire <command> --help for its flags)\n"
    "\n"
    "  run      start S servers and N workers as processes on this machine over loopback\n"
    "  sim      the same job simulated (SimGrid): servers and workers on a simulated fabric\n"
    "  server   serve one shard of the model (one per host or per rank)\n"
    "  worker   train on one partition of the data against the servers\n"
    "  bench    push/pull goodput between separate processes (ps-lite test_benchmark style)\n"
    "  model    a coded job's round time as the straggler model predicts it\n"
    "  models   the model zoo (real DNNs' layers, parameters, FLOPs) or a trace file's sizes\n"
    "  merge    a job's results directory made whole, for jobs started without `run`\n"
    "\n"
    "Without a command, DMLC_ROLE=server|worker selects one (ps-lite launchers).\n";

std::string SelfPath(const char* argv0) {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(argv0);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gw::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command;
  const char* role = std::getenv("DMLC_ROLE");
  // `gradwire --help` asks for this usage, unless DMLC_ROLE picked a command to ask it of.
  const bool asked_for_help =
      role == nullptr && !args.empty() && (args[0] == "--help" || args[0] == "-h");
  if (!args.empty() && (args[0].rfind("-", 0) != 0 || asked_for_help)) {
    command = args[0];
    args.erase(args.begin());
  } else if (role != nullptr) {
    command = role;
  }
  return ExitCodeOf(command, [&] {
    if (command == "server") return ServerCommand(args);
    if (command == "worker") return WorkerCommand(args);
    if (command == "run") return RunCommand(SelfPath(argv[0]), args);
    if (command == "sim") return ExecSim(SelfPath(argv[0]), args);
    if (command == "merge") return MergeCommand(args);
    if (command == "bench") return BenchCommand(SelfPath(argv[0]), args);
    if (command == "model") return ModelCommand(args);
    if (command == "models") return ModelsCommand(args);
    if (command == "bench-server") return BenchServerCommand(args);
    if (command == "bench-worker") return BenchWorkerCommand(args);
    if (command.empty() || command == "help" || command == "--help" || command == "-h") {
      std::fputs(kUsage, command.empty() ? stderr : stdout);
      return command.empty() ? 2 : 0;
    }
    std::fprintf(stderr, "gradwire: unknown command '%s' (try: gradwire --help)\n",
                 command.c_str());
    return 2;
  });
}
