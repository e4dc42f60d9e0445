// What a worker leaves in its results directory, for both run loops: worker-<rank>.csv, its
// write records with windows (writes-<rank>.csv), and on the evaluating worker the models
// kept with --eval-every (accuracy.csv) and the final model's summary (summary.csv).
#pragma once

#include <cstdint>
#include <vector>

#include "base/clock.h"
#include "ps/gated_push.h"
#include "ps/job.h"
#include "ps/results.h"
#include "ps/worker.h"
#include "ps/workload/workload.h"

namespace gw {

// --progress: a progress line at most this often (training, then evaluating kept models).
inline constexpr double kProgressEveryS = 2.0;

class WorkerReport {
 public:
  WorkerReport(const JobConfig& job, const WorkerOptions& options, Workload& workload)
      : job_(job), options_(options), workload_(workload) {}

  // --eval-every: keeps `params`, the model iteration `it` starts from (run started at t0).
  void Snapshot(uint64_t it, TimePoint t0, const std::vector<float>& params);
  // A resume redoes iterations from `it` on: their kept models are dropped.
  void ForgetSnapshotsFrom(uint64_t it);
  // worker-<rank>.csv and, with windows, writes-<rank>.csv (nothing without --out).
  // layers-W.csv: every layer of every iteration (layered workloads).
  void WriteLayerCsv(const std::vector<LayerRecord>& layers) const;
  void WriteCsvs(const std::vector<IterationRow>& rows,
                 const std::vector<WriteRecord>& writes) const;
  // Evaluates the kept models and the final one (`params`), logs the result and writes
  // accuracy.csv and summary.csv. `wall`: the run's seconds.
  void Summarize(const std::vector<IterationRow>& rows, double wall,
                 const std::vector<float>& params);

 private:
  struct Kept {
    uint64_t iteration;
    double elapsed_s;
    std::vector<float> params;
  };
  void EvaluateSnapshots();

  const JobConfig& job_;
  const WorkerOptions& options_;
  Workload& workload_;
  std::vector<Kept> snapshots_;
};

}  // namespace gw
