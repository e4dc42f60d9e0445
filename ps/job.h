// Everything the servers and workers of one job must agree on. Built once from flags (and
// launcher variables) by the CLI; its fingerprint travels in the join message so a worker
// started with different settings is refused instead of silently training something else.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coding/scheme.h"
#include "coding/straggler.h"
#include "ps/layout.h"
#include "ps/optimizer.h"
#include "ps/sync_rule.h"
#include "ps/workload/workload.h"
#include "sched/push_order_spec.h"
#include "sched/window_spec.h"

namespace gw {

struct JobConfig {
  WorkloadSpec workload;
  uint32_t num_workers = 1;
  uint32_t num_servers = 1;
  // The model travels in parts of at most this size. A layered workload's parts are cut
  // within each layer: they are the partitions P3 and ByteScheduler slice tensors into.
  uint64_t part_bytes = 4 << 20;
  // The order in which a worker posts the ready parts of its gradient (sched/push_queue.h):
  // fifo, or by layer priority for a layered workload (P3, ByteScheduler).
  sched::PushOrderSpec push_order;
  // Layered workloads: each layer's gradient is pushed as backprop produces it (wait-free
  // backprop); false: only once the whole backward pass ended, as a flat push would.
  bool overlap = true;
  SyncSpec sync;
  OptimizerSpec optimizer;
  uint64_t iterations = 100;  // per worker
  // A peer silent for this long while it is awaited is reported and the wait ends.
  std::chrono::milliseconds timeout{30000};
  // Before the job starts (every worker joined), the wait for the next join: workers load
  // their data first, which takes far longer than a training step's silence (16 workers
  // loading Fashion-MNIST on two busy cores: 30+ s). Not in the fingerprint, as timeout.
  std::chrono::milliseconds join_timeout{kDefaultJoinTimeout};
  // 2 min: 4x the slowest start-up measured here; a start-up failure does not wait for it
  // (the worker exits at once, and `gradwire run` ends the job when every worker did).
  static constexpr std::chrono::milliseconds kDefaultJoinTimeout{120000};
  // Under BSP, a lost worker ends the job (false) or the others go on without it (true).
  // ASP and SSP always go on without it.
  bool continue_without_lost = false;
  // Coded computation (ps/coded_shape.h): rounds driven by the server, which finishes each
  // one as soon as the scheme can decode. Unset: the plain sync rules above.
  std::optional<coding::CodingSpec> coding;
  // Delays injected on the workers (seeded: repeatable), in both modes.
  coding::StragglerModel straggler;
  // Write windows (sched/): a worker posts its gradient writes to a server only inside a
  // window that server granted. Unset: no gating, no window messages at all (plain BSP/ASP/
  // SSP); "burst" keeps the protocol and its records but grants every request at once.
  std::optional<sched::WindowSpec> windows;
  // R2SP's per-worker batch tuning (sched/batch_tuner.h): after warm-up, server 0 sizes each
  // worker's minibatch by its measured speed (global batch kept at N · batch) and every
  // server weights a gradient by its rows. --sync r2sp only.
  bool batch_tuning = false;
  // The evaluating worker keeps a copy of its parameters every this many iterations (0 =
  // none) and, after training, evaluates each on the test set into accuracy.csv: accuracy
  // over time without evaluating during the run. Not in the fingerprint: only that worker
  // uses it.
  uint64_t eval_every = 0;
  // Simulation only (gradwire sim; not in the fingerprint: one process runs every actor): the
  // server spends simulated time on its arithmetic at this rate, in bytes of shard summed or
  // stepped per second (SyncPath), as a real server spends real time on it. 0: none (a real
  // run, whose arithmetic takes the time it takes).
  double aggregate_bytes_per_s = 0;

  // Refuses every contradictory or out-of-range combination, with one line naming the flags
  // (gw::Error): the one place a job's configuration is checked, before any process starts
  // (the CLI calls it for run, server and worker). Checks of one process's own options (its
  // rank, its addresses, its checkpoints) stay with that process.
  void Validate() const;

  // Floats per part: part_bytes, shrunk where needed so every server gets at least one part.
  size_t PartFloats(size_t num_params) const;
  // The model's parts over the servers: the workload's layers as segments (one segment for a
  // workload without layers), parts of PartFloats. The one place servers, workers and Validate
  // build it, so they agree. Throws gw::Error as ModelLayout does.
  ModelLayout Layout(const Workload& workload) const;
  // How long a start-up wait lasts: the servers' for the next join, a joined worker's for its
  // first parameters. Never shorter than the silence timeout.
  std::chrono::milliseconds StartupTimeout() const { return std::max(join_timeout, timeout); }
  uint64_t Fingerprint() const;  // over the fields that must match across processes
  std::string Describe() const;  // one line for logs and summaries
  // The flags on which this job and the one `other_description` (another process's Describe())
  // differ, each with both values: "--batch: server 64, worker 32; --lr: server 0.1, worker
  // 0.2" for names "server" and "worker"; "" when they agree. For refusing a join by the flags
  // to fix instead of two whole descriptions to compare by eye.
  std::string DiffFlags(const std::string& other_description, const std::string& this_name,
                        const std::string& other_name) const;
};

// The cells that begin every job summary (summary.csv): what was run (workload, order, sync
// rule, coding, stragglers, workers, servers, iterations, batch), as (column, value), a
// flag's commas turned into semicolons. The evaluating worker and `gradwire run` (for a run
// that ended before the worker could) both start their summary with them.
std::vector<std::pair<std::string, std::string>> JobSummaryFields(const JobConfig& job);

}  // namespace gw
