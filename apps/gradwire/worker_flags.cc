#include "apps/gradwire/worker_flags.h"

#include <algorithm>

#include "base/error.h"

namespace gw::cli {

std::optional<WorkerSetup> WorkerFromArgs(const std::vector<std::string>& args,
                                          const std::string& command) {
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
      Parse(command, "--num-workers N [--rank R] [--servers ADDR,...] [flags]", all, args);
  if (!vm) return std::nullopt;
  const auto env = LauncherEnv::Read();
  const JobConfig job = JobFrom(*vm, env);
  WorkerSetup setup{job, {}};
  WorkerOptions& opt = setup.options;
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
  return setup;
}

}  // namespace gw::cli
