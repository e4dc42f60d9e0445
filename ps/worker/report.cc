#include "ps/worker/report.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "base/log.h"

namespace gw {
namespace {

// summary.csv's train_loss_last20: the mean loss of the run's last this many rows.
constexpr size_t kTailRows = 20;

// A flag value as one CSV cell: its commas become semicolons.
std::string CsvCell(std::string s) {
  std::replace(s.begin(), s.end(), ',', ';');
  return s;
}

}  // namespace

void WorkerReport::Snapshot(uint64_t it, TimePoint t0, const std::vector<float>& params) {
  if (!options_.evaluate || job_.eval_every == 0) return;
  if (it % job_.eval_every != 0 && it != job_.iterations) return;
  if (!snapshots_.empty() && snapshots_.back().iteration == it) return;
  snapshots_.push_back({it, GetClock().SecondsSince(t0), params});
}

void WorkerReport::ForgetSnapshotsFrom(uint64_t it) {
  std::erase_if(snapshots_, [&](const Kept& k) { return k.iteration >= it; });
}

void WorkerReport::WriteCsvs(const std::vector<IterationRow>& rows,
                             const std::vector<WriteRecord>& writes) const {
  if (options_.out_dir.empty()) return;
  const std::string rank = std::to_string(options_.rank);
  WriteIterationCsv(options_.out_dir + "/worker-" + rank + ".csv", rows);
  if (job_.windows) WriteWriteCsv(options_.out_dir + "/writes-" + rank + ".csv", writes);
}

void WorkerReport::WriteLayerCsv(const std::vector<LayerRecord>& layers) const {
  if (options_.out_dir.empty()) return;
  gw::WriteLayerCsv(options_.out_dir + "/layers-" + std::to_string(options_.rank) + ".csv", layers);
}

// Evaluates the kept models into accuracy.csv, with a progress line (they can be many).
void WorkerReport::EvaluateSnapshots() {
  if (snapshots_.empty() || options_.out_dir.empty()) return;
  std::vector<AccuracyRow> rows;
  auto last_progress = GetClock().Now();
  for (size_t i = 0; i < snapshots_.size(); ++i) {
    const EvalResult e = workload_.Evaluate(snapshots_[i].params);
    rows.push_back({snapshots_[i].iteration, snapshots_[i].elapsed_s, e.loss, e.accuracy});
    if (options_.progress && GetClock().SecondsSince(last_progress) >= kProgressEveryS) {
      last_progress = GetClock().Now();
      std::fprintf(stderr, "gradwire: evaluated %zu/%zu kept models\n", i + 1, snapshots_.size());
    }
  }
  WriteAccuracyCsv(options_.out_dir + "/accuracy.csv", rows);
  snapshots_.clear();
}

void WorkerReport::Summarize(const std::vector<IterationRow>& rows, double wall,
                             const std::vector<float>& params) {
  EvaluateSnapshots();
  const EvalResult eval = workload_.Evaluate(params);
  double tail_loss = 0;
  const size_t tail = std::min(rows.size(), kTailRows);
  for (size_t i = rows.size() - tail; i < rows.size(); ++i) tail_loss += rows[i].loss;
  if (tail > 0) tail_loss /= static_cast<double>(tail);
  const double ips = wall > 0 ? static_cast<double>(job_.iterations) / wall : 0;
  GW_INFO("finished " << job_.iterations << " iterations in " << wall << " s (" << ips
                      << " it/s); test loss " << eval.loss
                      << (eval.accuracy >= 0 ? ", test accuracy " + std::to_string(eval.accuracy)
                                             : std::string()));
  if (options_.out_dir.empty()) return;
  WriteSummaryCsv(options_.out_dir + "/summary.csv",
                  {{"workload", CsvCell(job_.workload.Text())},
                   {"push_order", CsvCell(job_.push_order.ToString())},
                   {"overlap", job_.overlap ? "1" : "0"},
                   {"sync", job_.coding ? "coded" : job_.sync.ToString()},
                   {"coding", job_.coding ? job_.coding->ToString() : "none"},
                   {"straggler", CsvCell(job_.straggler.ToString())},
                   {"workers", std::to_string(job_.num_workers)},
                   {"servers", std::to_string(job_.num_servers)},
                   {"iterations", std::to_string(job_.iterations)},
                   {"batch_per_worker", std::to_string(job_.workload.batch_size)},
                   {"wall_s", std::to_string(wall)},
                   {"iterations_per_s", std::to_string(ips)},
                   {"train_loss_last20", std::to_string(tail_loss)},
                   {"test_loss", std::to_string(eval.loss)},
                   {"test_accuracy", std::to_string(eval.accuracy)}});
}

}  // namespace gw
