// The server's parts (ps/server/) on their own, without a device: the checkpointer's
// background writes (same files, last two kept, resume), the window desk's grants and log,
// and the sync path's per-worker release copies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "ps/checkpoint.h"
#include "ps/layout.h"
#include "ps/server/checkpointer.h"
#include "ps/server/sync_path.h"
#include "ps/server/window_desk.h"
#include "tests/e2e_util.h"

namespace gw {
namespace {

namespace fs = std::filesystem;

constexpr size_t kParams = 100;

class CheckpointerTest : public ::testing::Test {
 protected:
  CheckpointerTest() : layout_(kParams, kParams, 1) {
    opt_.checkpoint_dir = dir_.path();
    opt_.checkpoint_every = 2;
  }
  std::vector<float> Values(float base) const {
    std::vector<float> v(kParams);
    for (size_t i = 0; i < kParams; ++i) v[i] = base + static_cast<float>(i);
    return v;
  }

  e2e::TempDir dir_;
  JobConfig job_;
  ServerOptions opt_;
  ModelLayout layout_;
};

TEST_F(CheckpointerTest, WritesEveryNthVersionInTheBackgroundKeepingTheLastTwo) {
  Checkpointer c(job_, opt_, layout_);
  for (uint64_t version = 1; version <= 6; ++version) {
    c.AfterUpdate(version, Values(static_cast<float>(version)), Values(-1.0f));
  }
  c.Finish();
  EXPECT_FALSE(c.busy());
  EXPECT_EQ(c.written(), 3u);
  EXPECT_FALSE(fs::exists(CheckpointPath(dir_.path(), 0, 2)));
  EXPECT_TRUE(fs::exists(CheckpointPath(dir_.path(), 0, 4)));
  const Checkpoint newest = ReadCheckpoint(CheckpointPath(dir_.path(), 0, 6));
  EXPECT_EQ(newest.iteration, 6u);
  EXPECT_EQ(newest.params, Values(6.0f));
  EXPECT_EQ(newest.velocity, Values(-1.0f));
}

TEST_F(CheckpointerTest, ResumesFromTheNewestAndSaysWhereItStarted) {
  {
    Checkpointer first(job_, opt_, layout_);
    first.AfterUpdate(2, Values(2.0f), Values(0.0f));
    first.AfterUpdate(4, Values(4.0f), Values(0.0f));
  }  // the destructor finishes the write in progress
  opt_.resume = true;
  Checkpointer second(job_, opt_, layout_);
  const auto resumed = second.Resume();
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->iteration, 4u);
  EXPECT_EQ(resumed->params, Values(4.0f));
  EXPECT_EQ(second.resumed_from(), std::optional<uint64_t>(4));
}

TEST_F(CheckpointerTest, RefusesRulesItCannotRestore) {
  job_.sync = SyncSpec::Parse("asp");
  EXPECT_THROW(Checkpointer(job_, opt_, layout_), Error);
  opt_.checkpoint_dir.clear();
  job_.sync = SyncSpec::Parse("bsp");
  EXPECT_THROW(Checkpointer(job_, opt_, layout_), Error);
}

TEST(WindowDeskTest, BurstGrantsAtOnceAndLogsTheWindowUntilThePushLands) {
  JobConfig job;
  job.num_workers = 2;
  job.windows = sched::WindowSpec::Parse("burst");
  SyncRule rule(job.sync, job.num_workers);
  const TimePoint t0 = GetClock().Now();
  WindowDesk desk(job, 0, rule, t0);
  WindowRequestMsg req;
  req.iteration = 0;
  ASSERT_TRUE(desk.Expects(1, req));
  const auto grants = desk.OnRequest(1, req, t0);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].worker, 1u);
  EXPECT_EQ(grants[0].msg.window_ns, WindowGrantMsg::kOpenEnded);
  EXPECT_FALSE(desk.Expects(1, req)) << "one request at a time";
  req.iteration = 3;
  EXPECT_FALSE(desk.Expects(0, req)) << "not the worker's iteration";
  desk.OnPushLanded(1, 0, t0 + std::chrono::milliseconds(5));
  ASSERT_EQ(desk.log().size(), 1u);
  EXPECT_EQ(desk.log()[0].end, "landed");
  EXPECT_NEAR(desk.log()[0].landed_s, 0.005, 1e-9);
  EXPECT_EQ(desk.RowsOf(1), static_cast<uint64_t>(job.workload.batch_size));
}

TEST(SyncPathTest, AsynchronousReleasesSendACopyTheNextUpdateDoesNotTouch) {
  JobConfig job;
  job.num_workers = 2;
  job.sync = SyncSpec::Parse("asp");
  std::vector<float> slot0(4, 1.0f), slot1(4, 0.0f);
  SyncPath path(job, std::vector<float>(4, 0.0f));
  path.SetSlots({slot0, slot1});
  const std::vector<float> released(path.ReleaseSource(1).begin(), path.ReleaseSource(1).end());
  SyncRule::Decision d;
  d.apply = {0};
  path.Apply(d, {static_cast<uint64_t>(job.workload.batch_size),
                 static_cast<uint64_t>(job.workload.batch_size)});
  EXPECT_EQ(path.updates(), 1u);
  EXPECT_EQ(path.gradients_applied(), 1u);
  EXPECT_NE(path.params()[0], 0.0f);
  EXPECT_EQ(path.snapshot(1)[0], released[0]) << "worker 1's copy is its writes' source";
}

}  // namespace
}  // namespace gw
