// What a worker leaves in its results directory (ps/worker/report.h): its CSVs, the models
// kept with --eval-every (dropped again when a resume redoes their iterations), the summary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "e2e_util.h"
#include "ps/job.h"
#include "ps/worker.h"
#include "ps/worker/report.h"
#include "ps/workload/workload.h"
#include "sched/window_spec.h"

namespace gw {
namespace {

// The first column of every data row of a CSV.
std::vector<std::string> FirstColumn(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::string> out;
  while (std::getline(in, line)) out.push_back(line.substr(0, line.find(',')));
  return out;
}

class WorkerReportTest : public ::testing::Test {
 protected:
  WorkerReportTest() {
    job_.workload.kind = "linreg";
    job_.workload.linreg_rows = 64;
    job_.workload.linreg_dims = 4;
    job_.workload.batch_size = 8;
    job_.iterations = 20;
    options_.rank = 1;
    options_.out_dir = dir_.path();
    workload_ = MakeWorkload(job_.workload, 0, 1, /*load_data=*/true);
    params_.assign(workload_->num_params(), 0.0f);
  }

  std::vector<IterationRow> Rows(uint64_t n) const {
    std::vector<IterationRow> rows(n);
    for (uint64_t i = 0; i < n; ++i) {
      rows[i].worker = options_.rank;
      rows[i].iteration = i;
      rows[i].loss = 1.0;
    }
    return rows;
  }

  e2e::TempDir dir_;
  JobConfig job_;
  WorkerOptions options_;
  std::unique_ptr<Workload> workload_;
  std::vector<float> params_;
};

TEST_F(WorkerReportTest, WritesItsIterationsAndWithWindowsItsWrites) {
  {
    WorkerReport report(job_, options_, *workload_);
    report.Open(/*layered=*/false);
    for (const IterationRow& row : Rows(3)) report.Append(row);
    report.Close();
  }
  EXPECT_EQ(FirstColumn(dir_ / "worker-1.csv").size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "writes-1.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "layers-1.csv"));
  job_.windows = sched::WindowSpec::Parse("burst");
  WorkerReport report(job_, options_, *workload_);
  report.Open(/*layered=*/true);
  const std::vector<WriteRecord> writes(2);
  report.Append(writes);
  report.Append(std::vector<LayerRecord>(4));
  report.Close();
  EXPECT_EQ(FirstColumn(dir_ / "writes-1.csv").size(), 2u);
  EXPECT_EQ(FirstColumn(dir_ / "layers-1.csv").size(), 4u);
}

// A worker killed mid-run (SIGKILL: no destructor, no close) keeps every row it appended.
TEST_F(WorkerReportTest, RowsAppendedSurviveTheProcessBeingKilled) {
  job_.windows = sched::WindowSpec::Parse("burst");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    WorkerReport report(job_, options_, *workload_);
    report.Open(/*layered=*/false);
    for (const IterationRow& row : Rows(5)) report.Append(row);
    report.Append(std::vector<WriteRecord>(7));
    raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(FirstColumn(dir_ / "worker-1.csv"),
            (std::vector<std::string>{"1", "1", "1", "1", "1"}));
  EXPECT_EQ(FirstColumn(dir_ / "writes-1.csv").size(), 7u);
}

TEST_F(WorkerReportTest, WritesNothingWithoutAResultsDirectory) {
  options_.out_dir.clear();
  job_.windows = sched::WindowSpec::Parse("burst");
  options_.evaluate = true;
  WorkerReport report(job_, options_, *workload_);
  report.Open(/*layered=*/true);
  report.Append(Rows(3)[0]);
  report.Append(std::vector<WriteRecord>(2));
  report.Close();
  report.Summarize(Rows(3), GetClock().Now(), 1.0, params_);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
}

// summary.csv: a whole run (partial 0), start-up and training apart and adding up to wall_s,
// and the tail loss over the finite losses only (MDS workers have none: the cell is empty).
TEST_F(WorkerReportTest, TheSummarySaysWhatTheTimesAndTheLossCover) {
  options_.evaluate = true;
  options_.started = GetClock().Now() - std::chrono::seconds(3);
  std::vector<IterationRow> rows = Rows(30);
  for (auto& row : rows) row.loss = 9.0;
  for (size_t i = 10; i < 30; ++i) rows[i].loss = i % 2 ? 2.0 : std::nan("");
  WorkerReport(job_, options_, *workload_).Summarize(rows, GetClock().Now(), 5.0, params_);
  const std::string summary = dir_ / "summary.csv";
  EXPECT_EQ(e2e::SummaryCell(summary, "partial"), "0");
  EXPECT_NEAR(e2e::SummaryValue(summary, "startup_s").value_or(-1), 3.0, 0.5);
  EXPECT_DOUBLE_EQ(e2e::SummaryValue(summary, "train_s").value_or(-1), 5.0);
  EXPECT_NEAR(e2e::SummaryValue(summary, "wall_s").value_or(-1), 8.0, 0.5);
  // The last 20 finite losses: ten of 2.0 among the last 20 rows, then ten of 9.0 before.
  EXPECT_DOUBLE_EQ(e2e::SummaryValue(summary, "train_loss_last20").value_or(-1), 5.5);
  for (auto& row : rows) row.loss = std::nan("");
  WorkerReport(job_, options_, *workload_).Summarize(rows, GetClock().Now(), 5.0, params_);
  EXPECT_EQ(e2e::SummaryCell(summary, "train_loss_last20"), "");
}

TEST_F(WorkerReportTest, KeepsEveryNthModelAndTheLastAndForgetsRedoneOnes) {
  job_.eval_every = 5;
  options_.evaluate = true;
  WorkerReport report(job_, options_, *workload_);
  const TimePoint t0 = GetClock().Now();
  for (uint64_t it = 0; it < 12; ++it) report.Snapshot(it, t0, params_);
  report.ForgetSnapshotsFrom(10);  // a resume at 7 redoes 7..11: 10 goes, 5 stays
  for (uint64_t it = 7; it < 20; ++it) report.Snapshot(it, t0, params_);
  report.Snapshot(20, t0, params_);  // the final model
  report.Snapshot(20, t0, params_);  // kept once
  report.Summarize(Rows(20), GetClock().Now(), 1.0, params_);
  EXPECT_EQ(FirstColumn(dir_ / "accuracy.csv"),
            (std::vector<std::string>{"0", "5", "10", "15", "20"}));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "summary.csv"));
}

}  // namespace
}  // namespace gw
