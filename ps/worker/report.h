// What a worker leaves in its results directory, for both run loops: worker-<rank>.csv, its
// write records with windows (writes-<rank>.csv), its layers (layers-<rank>.csv, layered
// workloads and Python models' tensors), each streamed row by row as iterations finish so that a
// worker that fails or is killed keeps what it measured; and on the evaluating worker the models
// kept with
// --eval-every (accuracy.csv) and the final model's summary (summary.csv).
#pragma once

#include <cstdint>
#include <span>
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
  void Snapshot(uint64_t it, TimePoint t0, std::span<const float> params);
  // A resume redoes iterations from `it` on: their kept models are dropped.
  void ForgetSnapshotsFrom(uint64_t it);
  // Starts worker-<rank>.csv and, with windows, writes-<rank>.csv, and for a pipelined
  // workload (layered, or running its own passes) layers-<rank>.csv (nothing without --out).
  // Throws gw::Error naming a file it cannot write.
  void Open(bool layered);
  // Each reaches the file before it returns (ps/results.h CsvStream).
  void Append(const IterationRow& row) { iterations_.Append(row); }
  void Append(std::span<const WriteRecord> writes) { writes_.Append(writes); }
  void Append(std::span<const LayerRecord> layers) { layers_.Append(layers); }
  // Ends the streamed files, throwing if any write failed.
  void Close();
  // Evaluates the kept models and the final one (`params`), logs the result and writes
  // accuracy.csv and summary.csv. The worker joined at `joined` and trained for `train_s`.
  void Summarize(const std::vector<IterationRow>& rows, TimePoint joined, double train_s,
                 std::span<const float> params);

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
  CsvStream<IterationRow, kIterationCsvColumns> iterations_;
  CsvStream<WriteRecord, kWriteCsvColumns> writes_;
  CsvStream<LayerRecord, kLayerCsvColumns> layers_;
};

}  // namespace gw
