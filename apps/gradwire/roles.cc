// `gradwire server` and `gradwire worker`: one process each, addresses and ranks from flags
// or from the launcher's variables.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "apps/gradwire/worker_flags.h"
#include "base/error.h"
#include "ps/server.h"
#include "ps/worker.h"

namespace gw::cli {

int ServerCommand(const std::vector<std::string>& args) {
  po::options_description own("Server");
  own.add_options()("rank", po::value<uint32_t>(),
                    "this server's rank (SLURM_PROCID, OMPI_COMM_WORLD_RANK)")(
      "listen", po::value<std::string>(),
      "address to accept workers on (default: DMLC_PS_ROOT_URI:DMLC_PS_ROOT_PORT+rank, else "
      "tcp://127.0.0.1:9000+rank; give an address to be reachable from other hosts)")(
      "port-file", po::value<std::string>(), "write the bound port here (for --listen :0)")(
      "out", po::value<std::string>()->default_value(""), "results directory")(
      "checkpoint-dir", po::value<std::string>()->default_value(""),
      "directory for this server's checkpoints (BSP jobs; the last two are kept)")(
      "checkpoint-every", po::value<uint64_t>()->default_value(0),
      "write a checkpoint (parameters, optimizer state, iteration) every K model versions; 0 = "
      "never")("resume", po::bool_switch(),
               "start from the newest checkpoint in --checkpoint-dir (none there: start from "
               "scratch, saying so; an unreadable or foreign one: an error)")(
      "lose-after-rejected", po::value<uint32_t>()->default_value(3),
      "a push holding NaN, Inf or values that overflow the sum is dropped and the worker "
      "named; after K of its pushes in a row, the worker is lost (0 = never)");
  po::options_description all;
  all.add(own).add(JobFlags()).add(ConnectionFlags());
  const auto vm = Parse("server", "--num-workers N [--rank R] [--listen ADDR] [flags]", all, args);
  if (!vm) return 0;
  const auto env = LauncherEnv::Read();
  const JobConfig job = JobFrom(*vm, env);
  ServerOptions opt;
  opt.rank = RankFrom(*vm, env, "server");
  if (vm->count("listen")) {
    opt.listen = AddressFlag((*vm)["listen"].as<std::string>(), "listen");
  } else {
    opt.listen.host = env.root_uri.value_or("127.0.0.1");
    opt.listen.port = static_cast<uint16_t>(env.root_port.value_or(9000) + opt.rank);
  }
  opt.device = DeviceFrom(*vm, env, TokenSource::kGiven);
  opt.out_dir = (*vm)["out"].as<std::string>();
  opt.checkpoint_dir = (*vm)["checkpoint-dir"].as<std::string>();
  opt.checkpoint_every = (*vm)["checkpoint-every"].as<uint64_t>();
  opt.resume = (*vm)["resume"].as<bool>();
  opt.lose_after_rejected = (*vm)["lose-after-rejected"].as<uint32_t>();
  if ((opt.checkpoint_every > 0 || opt.resume) && opt.checkpoint_dir.empty()) {
    throw UsageError("--checkpoint-every and --resume need --checkpoint-dir");
  }
  if (vm->count("port-file")) {
    // Written atomically (rename) once the server listens, for `gradwire run` to read.
    opt.on_listening = [path = (*vm)["port-file"].as<std::string>()](uint16_t port) {
      const std::string tmp = path + ".tmp";
      std::ofstream f(tmp);
      f << port << "\n";
      errno = 0;
      f.close();
      if (!f || std::rename(tmp.c_str(), path.c_str()) != 0) {
        throw Error("cannot write --port-file " + path + ": " +
                    (errno ? std::strerror(errno) : "write failed (disk full?)"));
      }
    };
  }
  RunServer(job, opt);
  return 0;
}

int WorkerCommand(const std::vector<std::string>& args) {
  const std::optional<WorkerSetup> setup = WorkerFromArgs(args, "worker");
  if (!setup) return 0;
  RunWorker(setup->job, setup->options);
  return 0;
}

}  // namespace gw::cli
