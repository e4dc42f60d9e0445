// JobConfig::Validate (ps/job.h): the one place a job's configuration is refused, each time
// with one line naming the flags. The command line reaches it through JobFrom
// (tests/apps_flags_test.cc); these build the JobConfig directly, as a simulator would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <string>

#include "base/error.h"
#include "ps/job.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

// A valid job of 4 workers on the synthetic workload (no data set needed).
JobConfig Job() {
  JobConfig j;
  j.workload.kind = "synthetic";
  j.workload.synthetic_bytes = 4096;
  j.num_workers = 4;
  return j;
}

std::string RefusalOf(const std::function<void(JobConfig&)>& change) {
  JobConfig j = Job();
  change(j);
  try {
    j.Validate();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    return what;
  }
  return "";
}

TEST(JobValidate, AcceptsAValidJobUnderEveryRule) {
  EXPECT_NO_THROW(Job().Validate());
  for (const char* sync : {"bsp", "asp", "ssp:2"}) {
    EXPECT_EQ(RefusalOf([&](JobConfig& j) { j.sync = SyncSpec::Parse(sync); }), "") << sync;
  }
  EXPECT_EQ(RefusalOf([](JobConfig& j) {
              j.sync = SyncSpec::Parse("r2sp");
              j.windows = sched::WindowSpec::Parse("round-robin");
              j.batch_tuning = true;
            }),
            "");
  EXPECT_EQ(RefusalOf([](JobConfig& j) { j.coding = coding::CodingSpec::Parse("gc-cr:s=1"); }), "");
}

TEST(JobValidate, RefusesSizesOutOfRange) {
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.num_workers = 0; }), HasSubstr("--num-workers"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.num_servers = 0; }), HasSubstr("--num-servers"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.part_bytes = 0; }), HasSubstr("--part-bytes"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.workload.batch_size = 0; }), HasSubstr("--batch"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.iterations = 0; }), HasSubstr("--iterations"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.timeout = std::chrono::milliseconds(0); }),
              HasSubstr("--timeout"));
}

TEST(JobValidate, RefusesOptimizerValuesOutOfRange) {
  for (const double lr : {-1.0, 0.0, std::nan(""), HUGE_VAL}) {
    EXPECT_THAT(RefusalOf([&](JobConfig& j) { j.optimizer.lr.base_lr = lr; }), HasSubstr("--lr"));
  }
  for (const double m : {-0.5, 1.0, 2.0, std::nan("")}) {
    EXPECT_THAT(RefusalOf([&](JobConfig& j) { j.optimizer.momentum = m; }),
                HasSubstr("--momentum"));
  }
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.optimizer.weight_decay = -0.1; }),
              HasSubstr("--weight-decay"));
}

TEST(JobValidate, RefusesWorkersTheJobDoesNotHave) {
  const std::string error = RefusalOf([](JobConfig& j) {
    j.straggler = coding::StragglerModel::Parse("fail-stop:worker=4,at=2", 1);
  });
  EXPECT_THAT(error, HasSubstr("worker 4"));
  EXPECT_THAT(error, HasSubstr("--num-workers 4"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.windows = sched::WindowSpec::Parse("slots:period=10,slot=5");
              }),
              HasSubstr("--windows"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.coding = coding::CodingSpec::Parse("gc-cr:s=4"); }),
              HasSubstr("--coding gc-cr:s=4 with --num-workers 4"));
}

TEST(JobValidate, RefusesContradictorySyncWindowsAndCoding) {
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.sync = SyncSpec::Parse("r2sp"); }),
              HasSubstr("--windows round-robin"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.batch_tuning = true; }),
              HasSubstr("needs --sync r2sp"));
  for (const char* sync : {"asp", "ssp:1"}) {
    EXPECT_THAT(RefusalOf([&](JobConfig& j) {
                  j.coding = coding::CodingSpec::Parse("uncoded");
                  j.sync = SyncSpec::Parse(sync);
                }),
                HasSubstr(std::string("--sync ") + sync));
  }
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.coding = coding::CodingSpec::Parse("uncoded");
                j.eval_every = 10;
              }),
              HasSubstr("--eval-every"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.coding = coding::CodingSpec::Parse("uncoded");
                j.num_servers = 2;
              }),
              HasSubstr("--num-servers 1"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.coding = coding::CodingSpec::Parse("mds:k=2"); }),
              HasSubstr("--workload linreg"));
}

TEST(JobValidate, RefusesAModelThatDoesNotLayOut) {
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.workload.synthetic_bytes = 8;
                j.num_servers = 3;
              }),
              HasSubstr("fewer servers"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.workload.synthetic_bytes = 6; }),
              HasSubstr("--workload synthetic"));
  EXPECT_THAT(RefusalOf([](JobConfig& j) { j.workload.kind = "nonesuch"; }),
              HasSubstr("--workload nonesuch"));
  // A coded round in parts of one float: more writes than the immediate can number.
  EXPECT_THAT(RefusalOf([](JobConfig& j) {
                j.coding = coding::CodingSpec::Parse("mm:r=2");
                j.part_bytes = 4;
                j.workload.synthetic_bytes = 16 << 10;  // 4096 parts: the layout takes them
              }),
              HasSubstr("--part-bytes"));
}

}  // namespace
}  // namespace gw
