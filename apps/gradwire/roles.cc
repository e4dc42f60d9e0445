// `gradwire server` and `gradwire worker`: one process each, addresses and ranks from flags
// or from the launcher's variables.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "base/error.h"
#include "ps/server.h"
#include "ps/worker.h"

namespace gw::cli {

namespace {

uint32_t RankFrom(const po::variables_map& vm, const LauncherEnv& env, const char* role) {
  if (vm.count("rank")) return vm["rank"].as<uint32_t>();
  if (env.rank) return *env.rank;
  throw UsageError(std::string("--rank is required for a ") + role +
                   " (or SLURM_PROCID / OMPI_COMM_WORLD_RANK from a launcher)");
}

Address AddressFlag(const std::string& text, const char* flag) {
  try {
    return Address::Parse(text);
  } catch (const Error& e) {
    throw UsageError(std::string("--") + flag + ": " + e.what());
  }
}

}  // namespace

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
  po::options_description own("Worker");
  own.add_options()("rank", po::value<uint32_t>(),
                    "this worker's rank (SLURM_PROCID, OMPI_COMM_WORLD_RANK)")(
      "servers", po::value<std::string>(),
      "comma-separated server addresses, server 0 first (default: DMLC_PS_ROOT_URI with "
      "DMLC_PS_ROOT_PORT+s, else tcp://127.0.0.1:9000+s)")(
      "evaluate", po::value<bool>(), "evaluate the final model on the test set (default: rank 0)")(
      "progress", po::value<bool>(), "print a progress line every 2 s (default: rank 0)")(
      "reconnect-timeout", po::value<double>(),
      "seconds to keep reconnecting to a lost server, which resumes from its checkpoint "
      "(default: --timeout; 0 = a lost server ends the worker)")(
      "inject-fault", po::value<std::string>()->default_value("never"),
      "fault tests: SIGKILL this worker at kill-before-push:I, kill-mid-push:I or "
      "kill-after-push:I, or SIGSTOP it at stop:I (before its push; coded jobs with --windows: "
      "in the middle of its first message push from round I on, holding its window) or "
      "stop-mid-pull:I (with some of its parameters landed), or have it say it is done before "
      "iteration I and exit 0 with done-early:I, or push NaN as its gradient from iteration I on "
      "with nan-gradient:I")("out", po::value<std::string>()->default_value(""),
                             "results directory");
  po::options_description all;
  all.add(own).add(JobFlags()).add(ConnectionFlags());
  const auto vm =
      Parse("worker", "--num-workers N [--rank R] [--servers ADDR,...] [flags]", all, args);
  if (!vm) return 0;
  const auto env = LauncherEnv::Read();
  const JobConfig job = JobFrom(*vm, env);
  WorkerOptions opt;
  opt.rank = RankFrom(*vm, env, "worker");
  if (vm->count("servers")) {
    std::string list = (*vm)["servers"].as<std::string>();
    size_t pos = 0;
    while (pos <= list.size()) {
      const size_t comma = std::min(list.find(',', pos), list.size());
      opt.servers.push_back(AddressFlag(list.substr(pos, comma - pos), "servers"));
      pos = comma + 1;
    }
  } else {
    for (uint32_t s = 0; s < job.num_servers; ++s) {
      Address a;
      a.host = env.root_uri.value_or("127.0.0.1");
      a.port = static_cast<uint16_t>(env.root_port.value_or(9000) + s);
      opt.servers.push_back(a);
    }
  }
  opt.device = DeviceFrom(*vm, env, TokenSource::kGiven);
  // A server still starting (or loading a checkpoint) is waited for as long as any silent
  // peer: servers load no data before they listen. Reconnecting retries within this too.
  opt.device.connect_timeout = job.timeout;
  opt.out_dir = (*vm)["out"].as<std::string>();
  opt.evaluate = vm->count("evaluate") ? (*vm)["evaluate"].as<bool>() : opt.rank == 0;
  opt.progress = vm->count("progress") ? (*vm)["progress"].as<bool>() : opt.rank == 0;
  opt.reconnect_timeout = job.timeout;
  if (vm->count("reconnect-timeout")) {
    const double t = (*vm)["reconnect-timeout"].as<double>();
    if (!(t >= 0)) throw UsageError("--reconnect-timeout must be a number of seconds >= 0");
    opt.reconnect_timeout = std::chrono::milliseconds(static_cast<int64_t>(t * 1000));
  }
  try {
    opt.fault = InjectedFault::Parse((*vm)["inject-fault"].as<std::string>());
  } catch (const Error& e) {
    throw UsageError(std::string("--inject-fault ") + e.what());
  }
  RunWorker(job, opt);
  return 0;
}

}  // namespace gw::cli
