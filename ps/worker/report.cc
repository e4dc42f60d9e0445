#include "ps/worker/report.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "base/log.h"

namespace gw {
namespace {

// summary.csv's train_loss_last20: the mean loss of the run's last this many rows.
constexpr size_t kTailRows = 20;

// The mean of the last kTailRows finite losses; empty where the workers compute none (MDS
// rounds: the server has the loss, rounds.csv).
std::string TailLoss(const std::vector<IterationRow>& rows) {
  double sum = 0;
  size_t n = 0;
  for (auto row = rows.rbegin(); row != rows.rend() && n < kTailRows; ++row) {
    if (!std::isfinite(row->loss)) continue;
    sum += row->loss;
    ++n;
  }
  return n ? std::to_string(sum / static_cast<double>(n)) : std::string();
}

}  // namespace

void WorkerReport::Snapshot(uint64_t it, TimePoint t0, std::span<const float> params) {
  if (!options_.evaluate || job_.eval_every == 0) return;
  if (it % job_.eval_every != 0 && it != job_.iterations) return;
  if (!snapshots_.empty() && snapshots_.back().iteration == it) return;
  snapshots_.push_back({it, GetClock().SecondsSince(t0), {params.begin(), params.end()}});
}

void WorkerReport::ForgetSnapshotsFrom(uint64_t it) {
  std::erase_if(snapshots_, [&](const Kept& k) { return k.iteration >= it; });
}

void WorkerReport::Open(bool layered) {
  if (options_.out_dir.empty()) return;
  const std::string rank = std::to_string(options_.rank);
  iterations_.Open(options_.out_dir + "/worker-" + rank + ".csv");
  if (job_.windows) writes_.Open(options_.out_dir + "/writes-" + rank + ".csv");
  if (layered) layers_.Open(options_.out_dir + "/layers-" + rank + ".csv");
}

void WorkerReport::Close() {
  iterations_.Close();
  writes_.Close();
  layers_.Close();
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
  WriteCsv<AccuracyRow, kAccuracyCsvColumns>(options_.out_dir + "/accuracy.csv", rows);
  snapshots_.clear();
}

void WorkerReport::Summarize(const std::vector<IterationRow>& rows, TimePoint joined,
                             double train_s, std::span<const float> params) {
  EvaluateSnapshots();
  const EvalResult eval = workload_.Evaluate(params);
  const double ips = train_s > 0 ? static_cast<double>(job_.iterations) / train_s : 0;
  GW_INFO("finished " << job_.iterations << " iterations in " << train_s << " s (" << ips
                      << " it/s); test loss " << eval.loss
                      << (eval.accuracy >= 0 ? ", test accuracy " + std::to_string(eval.accuracy)
                                             : std::string()));
  if (options_.out_dir.empty()) return;
  const double startup_s = std::chrono::duration<double>(joined - options_.started).count();
  std::vector<std::pair<std::string, std::string>> fields = JobSummaryFields(job_);
  fields.insert(fields.end(), {{"partial", "0"},
                               {"iterations_done", std::to_string(job_.iterations)},
                               {"startup_s", std::to_string(startup_s)},
                               {"train_s", std::to_string(train_s)},
                               {"wall_s", std::to_string(startup_s + train_s)},
                               {"iterations_per_s", std::to_string(ips)},
                               {"train_loss_last20", TailLoss(rows)},
                               {"test_loss", std::to_string(eval.loss)},
                               {"test_accuracy", std::to_string(eval.accuracy)}});
  WriteSummaryCsv(options_.out_dir + "/summary.csv", fields);
}

}  // namespace gw
