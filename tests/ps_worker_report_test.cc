// What a worker leaves in its results directory (ps/worker/report.h): its CSVs, the models
// kept with --eval-every (dropped again when a resume redoes their iterations), the summary.
#include <gtest/gtest.h>

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
  WorkerReport(job_, options_, *workload_).WriteCsvs(Rows(3), {});
  EXPECT_EQ(FirstColumn(dir_ / "worker-1.csv").size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "writes-1.csv"));
  job_.windows = sched::WindowSpec::Parse("burst");
  WorkerReport(job_, options_, *workload_).WriteCsvs(Rows(3), {WriteRecord{}, WriteRecord{}});
  EXPECT_EQ(FirstColumn(dir_ / "writes-1.csv").size(), 2u);
}

TEST_F(WorkerReportTest, WritesNothingWithoutAResultsDirectory) {
  options_.out_dir.clear();
  job_.windows = sched::WindowSpec::Parse("burst");
  options_.evaluate = true;
  WorkerReport report(job_, options_, *workload_);
  report.WriteCsvs(Rows(3), {});
  report.Summarize(Rows(3), 1.0, params_);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
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
  report.Summarize(Rows(20), 1.0, params_);
  EXPECT_EQ(FirstColumn(dir_ / "accuracy.csv"),
            (std::vector<std::string>{"0", "5", "10", "15", "20"}));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "summary.csv"));
}

}  // namespace
}  // namespace gw
