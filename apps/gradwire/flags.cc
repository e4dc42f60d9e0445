#include "apps/gradwire/flags.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "base/error.h"
#include "base/log.h"
#include "base/spec_text.h"
#include "net/handshake.h"
#include "ps/sync/registry.h"
#include "sched/window_registry.h"

namespace gw::cli {

namespace {

template <typename T>
std::optional<T> EnvNumber(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  T out{};
  const std::string s(v);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) {
    throw UsageError(std::string("environment variable ") + name + "='" + s + "' is not a number");
  }
  return out;
}

std::optional<std::string> EnvText(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

template <typename T>
std::optional<T> First(std::optional<T> a, std::optional<T> b) {
  return a ? a : b;
}

// "%word%" somewhere in text: boost::program_options' placeholder syntax.
bool HasPlaceholder(const std::string& text) {
  for (size_t open = text.find('%'); open != std::string::npos;) {
    const size_t close = text.find('%', open + 1);
    if (close == std::string::npos) return false;
    const std::string word = text.substr(open + 1, close - open - 1);
    if (!word.empty() &&
        word.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos) {
      return true;
    }
    open = close;
  }
  return false;
}

// --completion-spin-us: a second of spinning is already a core given away for nothing.
constexpr uint32_t kMaxCompletionSpinUs = 1'000'000;

// Boost reads "-1" into an unsigned flag as its largest value (--num-workers -1 became
// 4294967295 workers and a std::bad_alloc in the server): refuse the sign instead.
void RefuseNegativeCounts(const po::parsed_options& parsed, const po::variables_map& vm) {
  for (const auto& o : parsed.options) {
    if (o.value.empty() || !vm.count(o.string_key)) continue;
    const auto& v = vm[o.string_key].value();
    const bool is_unsigned = boost::any_cast<uint32_t>(&v) || boost::any_cast<uint64_t>(&v) ||
                             boost::any_cast<size_t>(&v) || boost::any_cast<uint16_t>(&v);
    const std::string& text = o.value.front();
    const size_t first = text.find_first_not_of(" \t");
    if (is_unsigned && first != std::string::npos && text[first] == '-') {
      throw UsageError("--" + o.string_key + " must be a whole number >= 0, not " + text);
    }
  }
}

// Seconds given to `flag` as a duration. At most ~11.6 days, as every time in sched/:
// deadlines computed from it cannot overflow.
std::chrono::milliseconds Milliseconds(double seconds, const char* flag) {
  if (!(seconds > 0) || !(seconds <= 1e6)) {
    throw UsageError(std::string(flag) + " must be a positive number of seconds, at most 1e6");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace

LauncherEnv LauncherEnv::Read() {
  LauncherEnv e;
  e.rank = First(EnvNumber<uint32_t>("SLURM_PROCID"), EnvNumber<uint32_t>("OMPI_COMM_WORLD_RANK"));
  e.world_size =
      First(EnvNumber<uint32_t>("SLURM_NTASKS"), EnvNumber<uint32_t>("OMPI_COMM_WORLD_SIZE"));
  e.dmlc_role = EnvText("DMLC_ROLE");
  e.root_uri = EnvText("DMLC_PS_ROOT_URI");
  e.root_port = EnvNumber<uint16_t>("DMLC_PS_ROOT_PORT");
  e.num_workers = EnvNumber<uint32_t>("DMLC_NUM_WORKER");
  e.num_servers = EnvNumber<uint32_t>("DMLC_NUM_SERVER");
  e.token = EnvText("GRADWIRE_TOKEN");
  return e;
}

uint64_t ParseBytes(const std::string& text, const std::string& flag) {
  uint64_t value = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string unit(p, text.data() + text.size());
  uint64_t mult = 1;
  if (unit == "K" || unit == "k" || unit == "KiB") {
    mult = 1ull << 10;
  } else if (unit == "M" || unit == "MiB") {
    mult = 1ull << 20;
  } else if (unit == "G" || unit == "GiB") {
    mult = 1ull << 30;
  } else if (!unit.empty() && unit != "B") {
    throw UsageError("--" + flag + " '" + text + "': expected a size like 4096, 64K, 100M, 1G");
  }
  if (ec != std::errc() || p == text.data()) {
    throw UsageError("--" + flag + " '" + text + "': expected a size like 4096, 64K, 100M, 1G");
  }
  if (value > UINT64_MAX / mult) {
    throw UsageError("--" + flag + " '" + text + "': does not fit in 64 bits");
  }
  return value * mult;
}

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

po::options_description JobFlags() {
  po::options_description d("Job (must be the same on every server and worker)");
  d.add_options()(
      "workload", po::value<std::string>()->default_value("softmax"),
      "softmax | mlp (Fashion-MNIST) | linreg (synthetic linear regression) | synthetic "
      "(fixed-size gradient, network only) | model:NAME (a real DNN's layers, network only: "
      "see `gradwire models`) | trace:FILE (layers and times measured on a real framework: "
      "layer,params,forward_ms,backward_ms) | tensors:PREFIX (a model Python workers compute: "
      "PREFIX.csv lists its tensors, PREFIX.f32 holds its initial parameters; python/)")(
      "data-dir", po::value<std::string>()->default_value("/usr/share/datasets/fashion-mnist"),
      "Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)")(
      "batch", po::value<size_t>()->default_value(64), "minibatch size per worker")(
      "seed", po::value<uint64_t>()->default_value(1), "seed for data order and init")(
      "hidden", po::value<size_t>()->default_value(128), "mlp: hidden units (784-H-10)")(
      "linreg-rows", po::value<size_t>()->default_value(8192), "linreg: rows of A")(
      "linreg-dims", po::value<size_t>()->default_value(256), "linreg: columns of A")(
      "linreg-noise", po::value<double>()->default_value(0.01, "0.01"), "linreg: noise std")(
      "grad-bytes", po::value<std::string>()->default_value("4M"),
      "synthetic: gradient size (e.g. 100M)")(
      "device-tflops", po::value<double>()->default_value(kDefaultDeviceTflops, "1"),
      "model:NAME: sustained TFLOP/s of the emulated device that times each layer at --batch "
      "samples. 1 keeps the papers' ratio of compute to communication: they ran V100-class "
      "GPUs (~10-14 TFLOP/s sustained fp32) on 10 Gbit/s links, the emulated links here run "
      "at 1 Gbit/s")("num-workers", po::value<uint32_t>(), "workers in the job (DMLC_NUM_WORKER)")(
      "num-servers", po::value<uint32_t>(), "servers sharding the model (DMLC_NUM_SERVER)")(
      "part-bytes", po::value<std::string>()->default_value("4M"),
      "the model travels in parts of at most this size; with model:NAME or trace:FILE each "
      "layer is cut into its own parts, which are the partitions P3 and ByteScheduler slice "
      "tensors into (at least 4K, at most the model)")(
      "push-order", po::value<std::string>()->default_value(sched::PushOrderSpec{}.ToString()),
      "order of a worker's ready gradient parts (model:NAME, trace:FILE; tensors:PREFIX "
      "with per-tensor passes, gradwire.torch.train): fifo | "
      "priority[:inflight=N] (P3: front layers first, N parts in flight) | "
      "credit:credit=BYTES (ByteScheduler: front layers first within BYTES in flight)")(
      "no-overlap", po::bool_switch(),
      "model:NAME, trace:FILE: push the gradient only once the whole backward pass ended, "
      "not each layer as backprop produces it (the baseline wait-free backprop is measured "
      "against)")("sync", po::value<std::string>()->default_value(SyncSpec{}.ToString()),
                  SyncRulesHelp().c_str())(
      "windows", po::value<std::string>(),
      ("write windows: none | " + sched::WindowPolicyForms() +
       ". A worker posts its gradient writes only inside a window the server granted "
       "(default: none, or round-robin under --sync r2sp); with --coding, one window per "
       "message, turns first come first served, warm-up in rounds")
          .c_str())(
      "coding", po::value<std::string>()->default_value("none"),
      "none (the sync rule above) | uncoded | replication:r=R | gc-fr:s=S | gc-cr:s=S | "
      "mm:r=R | mds:k=K (linreg): server-driven rounds, each closed as soon as the code can "
      "decode")(
      "straggler", po::value<std::string>()->default_value("none"),
      "delays injected on workers: none | shifted-exp:mu=M | non-persistent:mu=M,alpha=A | "
      "persistent:workers=W+W,factor=F | fail-stop:worker=W,at=I; each takes seed=S and "
      "base=SECONDS (default 1): a worker's compute per iteration (coded: per 1/N of the job) "
      "at the model's factor 1, which the delay stretches it to; real compute counts toward "
      "it")("lr", po::value<double>()->default_value(0.1, "0.1"), "learning rate")(
      "lr-schedule", po::value<std::string>()->default_value("const"),
      "const | step:every=N,gamma=G | cosine:total=T, optionally warmup:steps=W+...")(
      "momentum", po::value<double>()->default_value(0.9, "0.9"), "SGD momentum")(
      "weight-decay", po::value<double>()->default_value(0.0), "L2 weight decay")(
      "iterations", po::value<uint64_t>()->default_value(100), "iterations per worker")(
      "eval-every", po::value<uint64_t>()->default_value(0),
      "keep the model every K iterations and evaluate each after the run (accuracy.csv: "
      "accuracy over time; memory: one model copy per snapshot)")(
      "timeout", po::value<double>()->default_value(30.0),
      "seconds a peer may stay silent while awaited before it is reported lost")(
      "join-timeout", po::value<double>()->default_value(120.0),
      "seconds the servers wait for the next worker to join before the job starts, and a "
      "joined worker for its first parameters (at least --timeout; workers load their data "
      "before joining)")("continue-without-lost-workers", po::bool_switch(),
                         "BSP: go on without a lost worker instead of ending the job")(
      "batch-tuning", po::bool_switch(),
      "--sync r2sp: after warm-up, size each worker's minibatch by its measured compute "
      "speed so all compute an iteration in about the same time (global batch kept at "
      "workers x --batch; gradients weighted by their rows)");
  return d;
}

po::options_description ConnectionFlags() {
  po::options_description d("Connection");
  d.add_options()("job-id", po::value<std::string>()->default_value("gradwire"),
                  "job name; peers of another job are refused")(
      "token", po::value<std::string>(),
      "shared secret every peer must present (or GRADWIRE_TOKEN, which keeps it out of ps); "
      "at most 128 bytes")(
      "insecure-no-token", po::bool_switch(),
      "start a server or worker without a token: any peer that reaches the port may join as "
      "any worker (a closed test network only)")(
      "congestion", po::value<std::string>()->default_value("cubic"),
      "TCP congestion control per socket, or 'system' for the kernel default")(
      "rdma-device", po::value<std::string>()->default_value(""),
      "RDMA: device to open (e.g. rxe0); default: the only one present")(
      "rdma-busy-poll", po::bool_switch(),
      "RDMA: busy-poll completions (lowest latency, burns a core) instead of sleeping")(
      "completion-spin-us", po::value<uint32_t>()->default_value(0),
      "watch for completions this many microseconds before waiting in the device's poll "
      "(lower latency per message, a core while watching; 0: wait at once; at most 1000000)")(
      "log-level", po::value<std::string>()->default_value("info"), "debug|info|warn|error");
  return d;
}

std::optional<po::variables_map> Parse(const std::string& command, const std::string& synopsis,
                                       const po::options_description& desc,
                                       const std::vector<std::string>& args) {
  po::options_description all;
  all.add_options()("help,h", "show this help");
  all.add(desc);
  po::variables_map vm;
  try {
    const po::parsed_options parsed = po::command_line_parser(args).options(all).run();
    po::store(parsed, vm);
    po::notify(vm);
    RefuseNegativeCounts(parsed, vm);
  } catch (const po::error& e) {
    // Boost 1.74 formats what() by substituting placeholders like %option% with the offending
    // token until none is left: a token that holds one makes that loop endless.
    if (std::any_of(args.begin(), args.end(), HasPlaceholder)) {
      throw UsageError("bad flags; an argument contains a %word% placeholder (see: gradwire " +
                       command + " --help)");
    }
    throw UsageError(std::string(e.what()) + " (see: gradwire " + command + " --help)");
  }
  if (vm.count("help")) {
    std::cout << "usage: gradwire " << command << " " << synopsis << "\n\n" << all << "\n";
    return std::nullopt;
  }
  return vm;
}

JobConfig JobFrom(const po::variables_map& vm, const LauncherEnv& env) {
  JobConfig j;
  try {
    j.workload.SetText(vm["workload"].as<std::string>());
    j.workload.ReadLayoutDigest();
    j.workload.device_tflops = vm["device-tflops"].as<double>();
    j.workload.data_dir = vm["data-dir"].as<std::string>();
    j.workload.batch_size = vm["batch"].as<size_t>();
    j.workload.seed = vm["seed"].as<uint64_t>();
    j.workload.mlp_hidden = vm["hidden"].as<size_t>();
    j.workload.linreg_rows = vm["linreg-rows"].as<size_t>();
    j.workload.linreg_dims = vm["linreg-dims"].as<size_t>();
    j.workload.linreg_noise = vm["linreg-noise"].as<double>();
    j.workload.synthetic_bytes = ParseBytes(vm["grad-bytes"].as<std::string>(), "grad-bytes");
    if (vm.count("num-workers")) {
      j.num_workers = vm["num-workers"].as<uint32_t>();
    } else if (env.num_workers) {
      j.num_workers = *env.num_workers;
    } else {
      throw UsageError("--num-workers is required (or DMLC_NUM_WORKER)");
    }
    j.num_servers =
        vm.count("num-servers") ? vm["num-servers"].as<uint32_t>() : env.num_servers.value_or(1);
    j.part_bytes = ParseBytes(vm["part-bytes"].as<std::string>(), "part-bytes");
    const sched::PushOrderParse order = sched::ParsePushOrder(vm["push-order"].as<std::string>());
    if (!order.spec) throw UsageError(order.error);
    j.push_order = *order.spec;
    j.overlap = !vm["no-overlap"].as<bool>();
    j.sync = SyncSpec::Parse(vm["sync"].as<std::string>());
    // A rule that takes turns takes them through round-robin windows unless told otherwise.
    const std::string windows = vm.count("windows")         ? vm["windows"].as<std::string>()
                                : j.sync.rule().takes_turns ? "round-robin"
                                                            : "none";
    if (windows != "none") j.windows = sched::WindowSpec::Parse(windows);
    if (const auto coding = vm["coding"].as<std::string>(); coding != "none") {
      j.coding = coding::CodingSpec::Parse(coding);
    }
    j.straggler = coding::StragglerModel::Parse(vm["straggler"].as<std::string>(), j.workload.seed);
    j.optimizer.momentum = vm["momentum"].as<double>();
    j.optimizer.weight_decay = vm["weight-decay"].as<double>();
    j.optimizer.lr = LrSchedule::Parse(vm["lr-schedule"].as<std::string>(), vm["lr"].as<double>());
    j.iterations = vm["iterations"].as<uint64_t>();
    j.eval_every = vm["eval-every"].as<uint64_t>();
    j.timeout = Milliseconds(vm["timeout"].as<double>(), "--timeout");
    j.join_timeout = Milliseconds(vm["join-timeout"].as<double>(), "--join-timeout");
    j.continue_without_lost = vm["continue-without-lost-workers"].as<bool>();
    j.batch_tuning = vm["batch-tuning"].as<bool>();
    j.Validate();
  } catch (const Error& e) {
    throw UsageError(e.what());  // the parsers and Validate say what is wrong, naming flags
  }
  return j;
}

DeviceOptions DeviceFrom(const po::variables_map& vm, const LauncherEnv& env, TokenSource source) {
  DeviceOptions d;
  d.job_id = vm["job-id"].as<std::string>();
  d.token = vm.count("token") ? vm["token"].as<std::string>() : env.token.value_or("");
  // Longer ones would never match: the handshake carries at most this many bytes of each.
  if (d.job_id.size() > Hello::kMaxString) {
    throw UsageError("--job-id is " + std::to_string(d.job_id.size()) + " bytes; at most " +
                     std::to_string(Hello::kMaxString));
  }
  if (d.token.size() > Hello::kMaxString) {
    throw UsageError("the token (--token or GRADWIRE_TOKEN) is " + std::to_string(d.token.size()) +
                     " bytes; at most " + std::to_string(Hello::kMaxString));
  }
  if (source == TokenSource::kGiven && d.token.empty()) {
    if (!vm["insecure-no-token"].as<bool>()) {
      throw UsageError(
          "no token: set GRADWIRE_TOKEN (or --token) to the job's shared secret, the same in "
          "every process of the job (gradwire run and experiments/launch make one per job); "
          "--insecure-no-token lets any peer that reaches the port join as any worker");
    }
    GW_WARN("--insecure-no-token: any peer that reaches this process may join job '"
            << d.job_id << "' as any of its workers");
  }
  const auto cc = vm["congestion"].as<std::string>();
  d.congestion_control = cc == "system" ? "" : cc;
  d.rdma_device = vm["rdma-device"].as<std::string>();
  d.rdma_busy_poll = vm["rdma-busy-poll"].as<bool>();
  const uint32_t spin_us = vm["completion-spin-us"].as<uint32_t>();
  if (spin_us > kMaxCompletionSpinUs) {
    throw UsageError("--completion-spin-us must be at most " +
                     std::to_string(kMaxCompletionSpinUs) + " (1 s), got " +
                     std::to_string(spin_us));
  }
  d.completion_spin = std::chrono::microseconds(spin_us);
  SetLogLevelFlag(vm["log-level"].as<std::string>());
  return d;
}

void SetLogLevelFlag(const std::string& level) {
  const std::map<std::string, LogLevel> levels = {{"debug", LogLevel::kDebug},
                                                  {"info", LogLevel::kInfo},
                                                  {"warn", LogLevel::kWarn},
                                                  {"error", LogLevel::kError}};
  if (!levels.count(level)) throw UsageError("--log-level must be debug, info, warn or error");
  SetLogLevel(levels.at(level));
}

std::vector<std::string> Forwarded(const po::variables_map& vm,
                                   const std::vector<po::options_description>& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) {
    for (const auto& opt : g.options()) {
      const std::string& name = opt->long_name();
      // The launcher passes the sizes itself; the token travels in the environment.
      if (!vm.count(name) || vm[name].defaulted() || name == "token" || name == "num-workers" ||
          name == "num-servers") {
        continue;
      }
      const auto& v = vm[name].value();
      if (const auto* s = boost::any_cast<std::string>(&v)) {
        // "--name=" is refused (the value must follow the '='): an empty one goes apart.
        if (s->empty()) {
          out.push_back("--" + name);
          out.push_back("");
        } else {
          out.push_back("--" + name + "=" + *s);
        }
      } else if (const auto* b = boost::any_cast<bool>(&v)) {
        if (*b) out.push_back("--" + name);
      } else if (const auto* d = boost::any_cast<double>(&v)) {
        out.push_back("--" + name + "=" + FormatNumber(*d));
      } else if (const auto* u32 = boost::any_cast<uint32_t>(&v)) {
        out.push_back("--" + name + "=" + std::to_string(*u32));
      } else if (const auto* u64 = boost::any_cast<uint64_t>(&v)) {
        out.push_back("--" + name + "=" + std::to_string(*u64));
      } else if (const auto* z = boost::any_cast<size_t>(&v)) {
        out.push_back("--" + name + "=" + std::to_string(*z));
      }
    }
  }
  return out;
}

}  // namespace gw::cli
