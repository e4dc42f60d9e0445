#include "ps/job.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "base/fnv.h"
#include "base/spec_text.h"
#include "ps/coded_shape.h"
#include "ps/sync/registry.h"

namespace gw {

// The largest minibatch: rows travel as 32-bit counts (window requests) and batch tuning
// scales them up to 8x.
static constexpr size_t kMaxBatch = size_t{1} << 24;

namespace {

// Runs check, prefixing what it refuses with the flags it is about.
template <typename Check>
void Naming(const std::string& flags, Check check) {
  try {
    check();
  } catch (const Error& e) {
    throw Error(flags + ": " + e.what());
  }
}

// A flag's value as given (std::to_string would print -1 as -1.000000).
std::string Text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The worker indices a straggler model names, for checking them against --num-workers.
std::vector<int> NamedWorkers(const coding::StragglerModel& m) {
  switch (m.kind()) {
    case coding::StragglerKind::kPersistent:
      return m.slow_workers();
    case coding::StragglerKind::kFailStop:
      return {m.fail_worker()};
    default:
      return {};
  }
}

// Values that are wrong whatever else the job says.
void CheckRanges(const JobConfig& job) {
  if (job.num_workers == 0 || job.num_servers == 0) {
    throw Error("--num-workers and --num-servers must be at least 1");
  }
  if (job.part_bytes < sizeof(float)) throw Error("--part-bytes must be at least 4");
  const double tflops = job.workload.device_tflops;
  if (!(tflops > 0) || !std::isfinite(tflops)) {
    throw Error("--device-tflops must be a positive finite number, not " + Text(tflops));
  }
  if (job.workload.batch_size == 0 || job.workload.batch_size > kMaxBatch) {
    throw Error("--batch must be between 1 and " + std::to_string(kMaxBatch) + " rows");
  }
  if (job.iterations == 0) throw Error("--iterations must be at least 1");
  if (job.timeout.count() <= 0) throw Error("--timeout must be at least 1 ms");
  if (job.join_timeout.count() <= 0) throw Error("--join-timeout must be at least 1 ms");
  const OptimizerSpec& opt = job.optimizer;
  if (!(opt.lr.base_lr > 0) || !std::isfinite(opt.lr.base_lr)) {
    throw Error("--lr must be a positive finite number, not " + Text(opt.lr.base_lr));
  }
  // momentum >= 1 makes the velocity a sum that never forgets: the steps grow without bound.
  if (!(opt.momentum >= 0 && opt.momentum < 1)) {
    throw Error("--momentum must be in [0, 1), not " + Text(opt.momentum));
  }
  if (!(opt.weight_decay >= 0) || !std::isfinite(opt.weight_decay)) {
    throw Error("--weight-decay must be a finite number >= 0, not " + Text(opt.weight_decay));
  }
}

// Settings that name workers or depend on how many there are.
void CheckAgainstWorkers(const JobConfig& job) {
  const uint32_t n = job.num_workers;
  const std::vector<int> named = NamedWorkers(job.straggler);
  const auto past = std::find_if(named.begin(), named.end(),
                                 [n](int w) { return w < 0 || static_cast<uint32_t>(w) >= n; });
  if (past != named.end()) {
    throw Error("--straggler " + job.straggler.ToString() + " names worker " +
                std::to_string(*past) + ", past --num-workers " + std::to_string(n) +
                " (workers 0.." + std::to_string(n - 1) + ")");
  }
  if (job.windows) Naming("--windows", [&] { job.windows->Validate(n); });
  if (job.coding) {
    Naming("--coding " + job.coding->ToString() + " with --num-workers " + std::to_string(n),
           [&] { job.coding->Validate(static_cast<int>(n)); });
  }
}

// The sync rule, the windows and coded rounds, which replace the sync rule.
void CheckSyncAndCoding(const JobConfig& job) {
  const SyncRuleEntry& rule = job.sync.rule();
  const auto& windows = job.windows;
  if (rule.takes_turns && (!windows || (windows->kind != sched::WindowKind::kRoundRobin &&
                                        windows->kind != sched::WindowKind::kTopology))) {
    throw Error("--sync " + job.sync.ToString() +
                " takes turns: it needs --windows round-robin (the default) or topology, not " +
                (windows ? windows->ToString() : "none"));
  }
  if (job.batch_tuning && (!rule.takes_turns || job.coding)) {
    throw Error(
        "--batch-tuning sizes R2SP workers' minibatches from the speeds their window "
        "requests report: it needs --sync r2sp (and no --coding)");
  }
  if (!job.coding) return;
  if (rule.takes_turns) {
    throw Error("--sync " + job.sync.ToString() +
                " is a sync rule and --coding replaces the sync rule with rounds; for turns in "
                "coded rounds give --windows round-robin (or another policy) instead");
  }
  if (job.sync.kind != SyncSpec{}.kind) {
    throw Error(
        "--coding runs its own rounds, each closed as soon as the code can decode: --sync " +
        job.sync.ToString() + " would not apply (leave --sync at its default, " +
        SyncSpec{}.ToString() + ")");
  }
  if (job.eval_every > 0) {
    throw Error(
        "--eval-every keeps snapshots of the plain training loop: coded rounds (--coding) "
        "would write no accuracy.csv");
  }
}

// The workload's layers as the layout's segments; one segment for a workload without layers.
std::vector<size_t> Segments(const Workload& workload) {
  const size_t num_params = workload.num_params();
  const std::span<const WorkloadLayer> layers = workload.layers();
  std::vector<size_t> segments(layers.size());
  std::transform(layers.begin(), layers.end(), segments.begin(),
                 [](const WorkloadLayer& l) { return l.size; });
  if (segments.empty()) segments.push_back(num_params);
  if (std::accumulate(segments.begin(), segments.end(), size_t{0}) != num_params) {
    throw Error("internal: the layers of " + workload.name() + " do not cover its " +
                std::to_string(num_params) + " parameters");
  }
  return segments;
}

// What a layered workload's parts must be: partitions worth a write of their own (each has a
// fixed cost, sched::kMinPartitionBytes) and no larger than the model.
void CheckPartitions(const JobConfig& job, size_t num_params) {
  const uint64_t model_bytes = uint64_t{num_params} * sizeof(float);
  if (job.part_bytes < sched::kMinPartitionBytes || job.part_bytes > model_bytes) {
    throw Error("--part-bytes " + std::to_string(job.part_bytes) + " with --workload " +
                job.workload.Text() + ": its parts are the partitions a --push-order sends, " +
                "between " + std::to_string(sched::kMinPartitionBytes) +
                " bytes (below, each write's fixed cost dominates) and the model's " +
                std::to_string(model_bytes) + " bytes");
  }
}

// The model decides its layout over the servers, a coded round's writes and whether pushes
// can be ordered: what the processes build at start-up, refused here before any of them starts.
void CheckModel(const JobConfig& job) {
  std::unique_ptr<Workload> workload;
  Naming("--workload " + job.workload.Text(),
         [&] { workload = MakeWorkload(job.workload, 0, job.num_workers, /*load_data=*/false); });
  const size_t num_params = workload->num_params();
  const bool layered = !workload->layers().empty();
  const bool ordered = job.push_order != sched::PushOrderSpec{};
  // A tensors: model's workers run its passes (gradwire.torch.train) and make each part ready
  // as backward produces it, so its parts can be ordered too (the worker refuses an order it
  // cannot follow: PlainLoop).
  const bool orderable = layered || job.workload.kind == "tensors";
  if (!orderable && ordered) {
    throw Error("--push-order " + job.push_order.ToString() +
                " orders a gradient's layers: --workload " + job.workload.Text() +
                " has none (use model:NAME, trace:FILE or tensors:PREFIX)");
  }
  if (!layered && !job.overlap) {
    throw Error("--no-overlap keeps a gradient's layers until backprop ends: --workload " +
                job.workload.Text() + " has none (use model:NAME or trace:FILE)");
  }
  if (job.coding && job.push_order != sched::PushOrderSpec{}) {
    throw Error("--push-order " + job.push_order.ToString() +
                " orders a gradient's layers: --coding's rounds write whole coded messages");
  }
  if (layered || (orderable && ordered)) CheckPartitions(job, num_params);
  ModelLayout::Check(Segments(*workload), job.PartFloats(num_params), job.num_servers);
  if (job.coding) CodedShape::Make(job, num_params);
}

// A simulation's own settings. Phantom payloads carry sizes, not bytes: only a network-only
// workload, whose gradient is a constant nobody reads, means the same without its bytes; coded
// rounds decode real values.
void CheckSimulation(const JobConfig& job) {
  if (!std::isfinite(job.aggregate_bytes_per_s) || job.aggregate_bytes_per_s < 0) {
    throw Error("--aggregate-rate must be a finite rate of at least 0 (0: arithmetic is free)");
  }
  if (!job.workload.phantom) return;
  const std::string& kind = job.workload.kind;
  if (kind != "synthetic" && kind != "model" && kind != "trace") {
    throw Error("--phantom-payloads carries sizes without bytes: --workload " +
                job.workload.Text() +
                " computes on real values (use synthetic, model:NAME or trace:FILE)");
  }
  if (job.coding) {
    throw Error("--phantom-payloads carries sizes without bytes: --coding " +
                job.coding->ToString() + " decodes real values");
  }
}

// A field Describe() leaves out (a flag at its "off" value, or one of another workload).
static constexpr const char* kUnset = "(not set)";

// Describe()'s "key=value key=value" as a map.
std::map<std::string, std::string> DescribedFields(const std::string& description) {
  std::map<std::string, std::string> fields;
  std::istringstream is(description);
  std::string token;
  while (is >> token) {
    const size_t eq = token.find('=');
    if (eq != std::string::npos) fields[token.substr(0, eq)] = token.substr(eq + 1);
  }
  return fields;
}

// The flag that sets a field of Describe().
std::string FlagOf(const std::string& key) {
  static const std::map<std::string, std::string> kFlags = {
      {"workers", "num-workers"},       {"servers", "num-servers"},
      {"part_bytes", "part-bytes"},     {"lr_schedule", "lr-schedule"},
      {"weight_decay", "weight-decay"}, {"rows", "linreg-rows"},
      {"dims", "linreg-dims"},          {"noise", "linreg-noise"},
      {"batch_tuning", "batch-tuning"}, {"grad_bytes", "grad-bytes"},
      {"push_order", "push-order"},     {"device_tflops", "device-tflops"},
      {"no_overlap", "no-overlap"},     {"layout_file", "workload's file (its content's digest)"}};
  const auto it = kFlags.find(key);
  return "--" + (it == kFlags.end() ? key : it->second);
}

}  // namespace

void JobConfig::Validate() const {
  CheckRanges(*this);
  CheckAgainstWorkers(*this);
  CheckSyncAndCoding(*this);
  CheckModel(*this);
  CheckSimulation(*this);
}

std::string JobConfig::Describe() const {
  // Every bit of a float flag counts in the fingerprint: FormatNumber reads back exactly.
  std::ostringstream os;
  os << "workload=" << workload.Text() << " batch=" << workload.batch_size
     << " seed=" << workload.seed << " workers=" << num_workers << " servers=" << num_servers
     << " sync=" << sync.ToString() << " iterations=" << iterations << " part_bytes=" << part_bytes
     << " lr=" << FormatNumber(optimizer.lr.base_lr) << " lr_schedule=" << optimizer.lr.ToString()
     << " momentum=" << FormatNumber(optimizer.momentum)
     << " weight_decay=" << FormatNumber(optimizer.weight_decay);
  if (workload.kind == "mlp") os << " hidden=" << workload.mlp_hidden;
  if (workload.kind == "linreg") {
    os << " rows=" << workload.linreg_rows << " dims=" << workload.linreg_dims
       << " noise=" << FormatNumber(workload.linreg_noise);
  }
  if (coding) os << " coding=" << coding->ToString();
  if (windows) os << " windows=" << windows->ToString();
  if (batch_tuning) os << " batch_tuning=1";
  if (straggler.kind() != coding::StragglerKind::kNone) os << " straggler=" << straggler.ToString();
  if (workload.kind == "synthetic") os << " grad_bytes=" << workload.synthetic_bytes;
  if (workload.kind == "model") os << " device_tflops=" << FormatNumber(workload.device_tflops);
  if (push_order != sched::PushOrderSpec{}) os << " push_order=" << push_order.ToString();
  if (!overlap) os << " no_overlap=1";
  if (workload.layout_digest != 0) {
    os << " layout_file=" << std::hex << std::setw(16) << std::setfill('0')
       << workload.layout_digest;
  }
  return os.str();
}

std::string JobConfig::DiffFlags(const std::string& other_description, const std::string& this_name,
                                 const std::string& other_name) const {
  const auto mine = DescribedFields(Describe());
  const auto theirs = DescribedFields(other_description);
  std::set<std::string> keys;
  for (const auto& [key, value] : mine) keys.insert(key);
  for (const auto& [key, value] : theirs) keys.insert(key);
  std::string out;
  for (const auto& key : keys) {
    const auto a = mine.find(key), b = theirs.find(key);
    const std::string here = a == mine.end() ? kUnset : a->second;
    const std::string there = b == theirs.end() ? kUnset : b->second;
    if (here == there) continue;
    out += (out.empty() ? "" : "; ") + FlagOf(key) + ": " + this_name + " " + here + ", " +
           other_name + " " + there;
  }
  return out;
}

size_t JobConfig::PartFloats(size_t num_params) const {
  const size_t per_server = (num_params + num_servers - 1) / num_servers;
  return std::max<size_t>(1, std::min<size_t>(part_bytes / sizeof(float), per_server));
}

ModelLayout JobConfig::Layout(const Workload& workload) const {
  return ModelLayout(Segments(workload), PartFloats(workload.num_params()), num_servers);
}

uint64_t JobConfig::Fingerprint() const {
  return Fnv1a64(Describe());  // stable across processes and hosts
}

std::vector<std::pair<std::string, std::string>> JobSummaryFields(const JobConfig& job) {
  auto cell = [](std::string s) {
    std::replace(s.begin(), s.end(), ',', ';');
    return s;
  };
  return {{"workload", cell(job.workload.Text())},
          {"push_order", cell(job.push_order.ToString())},
          {"overlap", job.overlap ? "1" : "0"},
          {"sync", job.coding ? "coded" : job.sync.ToString()},
          {"coding", job.coding ? job.coding->ToString() : "none"},
          {"straggler", cell(job.straggler.ToString())},
          {"workers", std::to_string(job.num_workers)},
          {"servers", std::to_string(job.num_servers)},
          {"iterations", std::to_string(job.iterations)},
          {"batch_per_worker", std::to_string(job.workload.batch_size)}};
}

}  // namespace gw
