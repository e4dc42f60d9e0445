// The server's parts (ps/server/) on their own, without a device: the checkpointer's
// background writes (same files, last two kept, resume), the window desk's grants and log,
// the sync path's per-worker release copies and push assembly, the held steps that replace a
// second event loop inside an update, a BSP barrier taken part by part, and the summary row.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "ps/checkpoint.h"
#include "ps/layout.h"
#include "ps/roles.h"
#include "ps/server/checkpointer.h"
#include "ps/server/held_steps.h"
#include "ps/server/inbound.h"
#include "ps/server/part_barrier.h"
#include "ps/server/report.h"
#include "ps/server/summary.h"
#include "ps/server/sync_path.h"
#include "ps/server/window_desk.h"
#include "tests/e2e_util.h"

namespace gw {
namespace {

namespace fs = std::filesystem;

constexpr size_t kParams = 100;

// floats cut into `parts` parts, each as long as the first (the last takes what is left).
std::vector<SyncPath::SlotPart> EvenParts(size_t floats, uint32_t parts) {
  const size_t each = (floats + parts - 1) / parts;
  std::vector<SyncPath::SlotPart> out;
  for (size_t begin = 0; begin < floats; begin += each) {
    out.push_back({begin * sizeof(float), std::min(each, floats - begin) * sizeof(float)});
  }
  return out;
}

// A write of part `part` of `iteration` covering exactly that part, landed in w's slot.
SyncPath::Landing Land(SyncPath& path, uint32_t w, uint64_t iteration, uint32_t part,
                       uint64_t expected, const std::vector<SyncPath::SlotPart>& parts) {
  const SyncPath::SlotPart at = part < parts.size() ? parts[part] : SyncPath::SlotPart{0, 4};
  return path.OnLanded(w, Imm::Decode(Imm::Encode(iteration, part)), at.offset, at.length,
                       expected);
}

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

// A desk for two workers under burst windows, and a request for iteration 0.
class WindowDeskTest : public ::testing::Test {
 protected:
  static JobConfig TwoBurstWorkers() {
    JobConfig job;
    job.num_workers = 2;
    job.windows = sched::WindowSpec::Parse("burst");
    return job;
  }
  const JobConfig job = TwoBurstWorkers();
  const SyncRule rule{job.sync, job.num_workers};
  const TimePoint t0 = GetClock().Now();
  WindowDesk desk{job, 0, rule, t0};
  WindowRequestMsg req;  // for iteration 0
};

TEST_F(WindowDeskTest, BurstGrantsAtOnceAndLogsTheWindowUntilThePushLands) {
  ASSERT_TRUE(desk.Expects(1, req));
  const auto grants = desk.OnRequest(1, req, t0);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].worker, 1u);
  EXPECT_EQ(grants[0].msg.window_ns, WindowGrantMsg::kOpenEnded);
  EXPECT_TRUE(desk.Expects(1, req)) << "a repeat of the open push";
  EXPECT_TRUE(desk.OnRequest(1, req, t0).empty()) << "one window per push";
  req.iteration = 3;
  EXPECT_FALSE(desk.Expects(1, req)) << "one push at a time";
  EXPECT_FALSE(desk.Expects(0, req)) << "not the worker's iteration";
  desk.OnPushLanded(1, 0, t0 + std::chrono::milliseconds(5));
  ASSERT_EQ(desk.log().size(), 1u);
  EXPECT_EQ(desk.log()[0].end, "landed");
  EXPECT_NEAR(desk.log()[0].landed_s, 0.005, 1e-9);
  EXPECT_EQ(desk.RowsOf(1), static_cast<uint64_t>(job.workload.batch_size));
}

// windows.csv streams a row only once nothing can change it: its window ended and its push
// landed (a row whose window is open, or whose push may still land, holds back those after it).
TEST_F(WindowDeskTest, ARowSettlesOnceItsPushIsOver) {
  ASSERT_EQ(desk.OnRequest(1, req, t0).size(), 1u);
  ASSERT_EQ(desk.OnRequest(0, req, t0).size(), 1u);
  EXPECT_EQ(desk.settled_rows(), 0u);
  desk.OnPushLanded(0, 0, t0 + std::chrono::milliseconds(1));
  EXPECT_EQ(desk.settled_rows(), 0u) << "worker 1's open window comes first";
  desk.OnPushLanded(1, 0, t0 + std::chrono::milliseconds(2));
  EXPECT_EQ(desk.settled_rows(), 2u);
  req.iteration = 1;
  ASSERT_EQ(desk.OnRequest(1, req, t0 + std::chrono::milliseconds(3)).size(), 1u);
  EXPECT_EQ(desk.settled_rows(), 2u);
  desk.OnGone(1, t0 + std::chrono::milliseconds(4));
  EXPECT_EQ(desk.settled_rows(), 3u);
  EXPECT_EQ(desk.log()[2].end, "removed");
}

// Pipelined turns at the desk: a window's first-write notice is logged and lets the next turn
// start lead before the window's expected end; a notice for a window the worker does not hold,
// or a repeat, is counted and changes nothing.
TEST(WindowDeskPipelineTest, ANoticeLogsThePostAndLetsTheNextTurnStartEarly) {
  JobConfig job;
  job.num_workers = 3;
  job.windows = sched::WindowSpec::Parse("topology:racks=1,min-window=1000");  // gated at once
  const SyncRule rule{job.sync, job.num_workers};
  const TimePoint t0 = GetClock().Now();
  WindowDesk desk{job, 0, rule, t0};
  auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  const WindowRequestMsg req;  // iteration 0
  ASSERT_EQ(desk.OnRequest(0, req, at(0)).size(), 1u) << "the link is free";
  EXPECT_TRUE(desk.OnRequest(1, req, at(0)).empty());
  EXPECT_TRUE(desk.OnRequest(2, req, at(0)).empty());
  EXPECT_TRUE(desk.OnPosted(1, WindowPostedMsg{0}, at(1)).empty()) << "worker 1 holds none";
  EXPECT_TRUE(desk.OnPosted(0, WindowPostedMsg{5}, at(1)).empty()) << "not the push granted";
  EXPECT_EQ(desk.stale_notices(), 2u);
  EXPECT_TRUE(desk.OnPosted(0, WindowPostedMsg{0}, at(1)).empty()) << "no transfer measured yet";
  EXPECT_TRUE(desk.OnPosted(0, WindowPostedMsg{0}, at(2)).empty());
  EXPECT_EQ(desk.stale_notices(), 3u) << "a repeat";
  EXPECT_NEAR(desk.log()[0].posted_s, 0.001, 1e-9);
  const auto turn = desk.OnPushLanded(0, 0, at(9));  // grant-to-post 1 ms, transfer 8 ms
  ASSERT_EQ(turn.size(), 1u);
  EXPECT_EQ(turn[0].worker, 1u);
  EXPECT_TRUE(desk.OnPosted(1, WindowPostedMsg{0}, at(10)).empty());
  EXPECT_EQ(desk.NextEvent(), at(17)) << "posted + transfer - lead = 10 + 8 - 1 ms";
  const auto early = desk.Poll(at(17));
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0].worker, 2u);
  ASSERT_EQ(desk.log().size(), 3u);
  EXPECT_NEAR(desk.log()[1].posted_s, 0.010, 1e-9);
  EXPECT_TRUE(std::isnan(desk.log()[2].posted_s));
  EXPECT_TRUE(std::isnan(desk.log()[1].landed_s)) << "worker 1's window is still open";
}

// The end of round-robin's warm-up gives a burst window still open a deadline: the log ends
// its row ("replaced"), which keeps the post its writer announced in it, and opens one for the
// bounded window, whose post is its own (the grant with the deadline makes the writer announce
// its next post again; each row's grant-to-post time is its own). The scheduler keeps the
// first post for the window (the e2e ring checks read the replaced row's).
TEST(WindowDeskPipelineTest, AWindowGivenADeadlineIsLoggedAsTwoRowsThePostInTheFirst) {
  JobConfig job;
  job.num_workers = 2;
  job.windows = sched::WindowSpec::Parse("round-robin:warmup=5,min-window=1000");
  const SyncRule rule{job.sync, job.num_workers};
  const TimePoint t0 = GetClock().Now();
  WindowDesk desk{job, 0, rule, t0};
  auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  ASSERT_EQ(desk.OnRequest(1, WindowRequestMsg{}, at(0)).size(), 1u) << "burst";
  EXPECT_TRUE(desk.OnPosted(1, WindowPostedMsg{0}, at(1)).empty());
  // Worker 0 pushes in burst windows until its iterations end the warm-up; worker 1 holds on.
  auto rebound = [](const WindowDesk::Grants& grants) {
    return std::any_of(grants.begin(), grants.end(), [](const auto& g) {
      return g.worker == 1 && g.msg.window_ns == 1'000'000'000;
    });
  };
  int ms = 1;
  bool rings_started = false;
  for (uint64_t i = 0; i < 10 && !rings_started; ++i) {
    WindowRequestMsg req;
    req.iteration = i;
    req.last_iteration_ns = i ? 3'000'000 : 0;
    const WindowDesk::Grants grants = desk.OnRequest(0, req, at(++ms));
    ASSERT_FALSE(grants.empty()) << "iteration " << i;
    rings_started = rebound(grants);
    if (!rings_started) desk.OnPushLanded(0, i, at(++ms));
  }
  ASSERT_TRUE(rings_started) << "the rings bound worker 1's window";
  const std::vector<WindowRow>& log = desk.log();
  const auto replaced = std::find_if(log.begin(), log.end(), [](const WindowRow& r) {
    return r.worker == 1 && r.end == "replaced";
  });
  ASSERT_NE(replaced, log.end());
  EXPECT_TRUE(std::isinf(replaced->bound_s));
  EXPECT_NEAR(replaced->posted_s, 0.001, 1e-9) << "the post announced in its burst";
  const auto bounded = std::find_if(log.begin(), log.end(), [](const WindowRow& r) {
    return r.worker == 1 && std::isfinite(r.bound_s);
  });
  ASSERT_NE(bounded, log.end());
  EXPECT_TRUE(std::isnan(bounded->posted_s));
  EXPECT_GE(bounded->start_s, replaced->end_s);
  const size_t row = static_cast<size_t>(bounded - log.begin());
  EXPECT_TRUE(desk.OnPosted(1, WindowPostedMsg{0}, at(++ms)).empty());
  EXPECT_NEAR(desk.log()[row].posted_s, 0.001 * ms, 1e-9) << "the notice the new grant brought";
  EXPECT_EQ(desk.stale_notices(), 0u);
}

// Asked ahead at the desk: a request whose push is ready in 30 ms waits for then (less the
// ring's grant-to-post time), while ready times the server cannot take (negative, past the
// job's timeout) are taken as "ready now"; a notice's held time is bounded by what the server
// saw (grant to notice) in the log and in the trip the ring learns.
TEST(WindowDeskPipelineTest, ARequestAskedAheadWaitsForItsReadyTimeAndBadOnesAreReadyNow) {
  JobConfig job;
  job.num_workers = 4;
  job.windows = sched::WindowSpec::Parse("topology:racks=1,min-window=1000,ask=ahead");
  const SyncRule rule{job.sync, job.num_workers};
  const TimePoint t0 = GetClock().Now();
  WindowDesk desk{job, 0, rule, t0};
  auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  ASSERT_EQ(desk.OnRequest(0, WindowRequestMsg{}, at(0)).size(), 1u);
  EXPECT_TRUE(desk.OnPosted(0, WindowPostedMsg{0, 0, 5000}, at(1)).empty());
  EXPECT_NEAR(desk.log()[0].held_s, 0.001, 1e-9) << "5 ms claimed, 1 ms from grant to notice";
  EXPECT_TRUE(desk.OnPushLanded(0, 0, at(9)).empty());
  WindowRequestMsg ahead;
  ahead.ready_in_ns = 30'000'000;
  EXPECT_TRUE(desk.OnRequest(1, ahead, at(10)).empty());
  EXPECT_EQ(desk.NextEvent(), at(40)) << "ready at 40 ms; the trip learnt is 1 - 1 = 0 ms";
  WindowRequestMsg negative;
  negative.ready_in_ns = -5;
  const auto now = desk.OnRequest(2, negative, at(10));
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].worker, 2u) << "ready now: before worker 1, whose turn it was";
  EXPECT_TRUE(desk.OnPushLanded(2, 0, at(12)).empty());
  WindowRequestMsg too_far;
  too_far.ready_in_ns = std::chrono::nanoseconds(job.timeout).count() + 1;
  const auto soon = desk.OnRequest(3, too_far, at(13));
  ASSERT_EQ(soon.size(), 1u);
  EXPECT_EQ(soon[0].worker, 3u);
  EXPECT_TRUE(desk.OnPushLanded(3, 0, at(14)).empty());
  EXPECT_EQ(desk.NextEvent(), at(40));
  const auto late = desk.Poll(at(40));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].worker, 1u);
}

// A server's rounds and windows reach its own files as they become final, at most every
// kStreamEvery; Finish writes what is left and the summary row (survives a kill: the rows
// are flushed, see WorkerReportTest.RowsAppendedSurviveTheProcessBeingKilled).
TEST(ServerReportTest, StreamsFinalRowsAndFinishesWithTheRestAndTheSummary) {
  e2e::TempDir dir;
  ServerReport report(dir.path(), 1);  // each server its own files: rank 1's
  report.Open(/*coded=*/true, /*windows=*/true);
  std::vector<RoundRow> rounds(2);
  std::vector<WindowRow> windows(3);
  const TimePoint t = GetClock().Now();
  report.Stream(rounds, windows, /*settled_windows=*/1, t);
  EXPECT_EQ(e2e::ReadCsv(dir / "rounds-1.csv").rows.size(), 2u);
  EXPECT_EQ(e2e::ReadCsv(dir / "windows-1.csv").rows.size(), 1u);
  rounds.emplace_back();
  EXPECT_FALSE(report.Due(t + ServerReport::kStreamEvery / 2)) << "too soon";
  ASSERT_TRUE(report.Due(t + ServerReport::kStreamEvery));
  report.Stream(rounds, windows, 3, t + ServerReport::kStreamEvery);
  EXPECT_EQ(e2e::ReadCsv(dir / "rounds-1.csv").rows.size(), 3u);
  EXPECT_EQ(e2e::ReadCsv(dir / "windows-1.csv").rows.size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(dir / "server-1.csv"));
  windows.emplace_back();  // unsettled, but the job is over
  ServerSummary summary;
  summary.partial = true;
  summary.updates = 7;
  report.Finish(rounds, windows, summary);
  EXPECT_EQ(e2e::ReadCsv(dir / "windows-1.csv").rows.size(), 4u);
  EXPECT_EQ(e2e::ReadCsv(dir / "rounds-1.csv").rows.size(), 3u);
  EXPECT_EQ(e2e::SummaryCell(dir / "server-1.csv", "partial"), "1");
  EXPECT_EQ(e2e::SummaryValue(dir / "server-1.csv", "updates"), 7.0);
  EXPECT_FALSE(std::filesystem::exists(dir / "windows.csv")) << "the launcher's merge, not ours";
}

// Global priority grants one partition at a time: worker 0 holds the link for its partition 0
// while 1 (its most urgent ready tensor: layer 5) and 2 (layer 3) wait with theirs.
class GlobalPriorityDeskTest : public ::testing::Test {
 protected:
  GlobalPriorityDeskTest()
      : job_(ThreeWorkers()), rule_(job_.sync, job_.num_workers), desk_(job_, 0, rule_, t0_) {
    EXPECT_EQ(Ask(0, 9).size(), 1u) << "the link is free";
    EXPECT_TRUE(Ask(1, 5).empty());
    EXPECT_TRUE(Ask(2, 3).empty());
  }
  static JobConfig ThreeWorkers() {
    JobConfig job;
    job.num_workers = 3;
    job.windows = sched::WindowSpec::Parse("global-priority");
    return job;
  }
  WindowDesk::Grants Ask(uint32_t w, uint32_t priority, uint32_t part = 0) {
    WindowRequestMsg req;
    req.priority = priority;
    req.part_index = part;
    EXPECT_TRUE(desk_.Expects(w, req));
    return desk_.OnRequest(w, req, t0_);
  }
  // A part of w's push landed; the worker granted next and the partition, if any.
  std::optional<std::pair<uint32_t, uint32_t>> Landed(uint32_t w, std::chrono::milliseconds at) {
    const auto grants = desk_.OnPartLanded(w, t0_ + at);
    EXPECT_LE(grants.size(), 1u) << "one window at a time";
    if (grants.empty()) return std::nullopt;
    return std::pair(grants[0].worker, grants[0].msg.part_index);
  }
  // w's window's writes end before partition `end` (the next request's report).
  WindowDesk::Grants Report(uint32_t w, uint32_t end,
                            uint32_t priority = WindowRequestMsg::kNoneReady) {
    return Ask(w, priority, end);
  }
  using Next = std::optional<std::pair<uint32_t, uint32_t>>;

  JobConfig job_;
  const TimePoint t0_ = GetClock().Now();
  SyncRule rule_;
  WindowDesk desk_;
};

TEST_F(GlobalPriorityDeskTest, TheRequestsPriorityPicksTheNextWindow) {
  EXPECT_TRUE(Report(0, 1).empty()) << "0's partition is not in yet";
  EXPECT_EQ(Landed(0, std::chrono::milliseconds(1)), Next({2, 0})) << "layer 3 before layer 5";
  EXPECT_EQ(Landed(2, std::chrono::milliseconds(2)), std::nullopt) << "its end is not known";
  EXPECT_EQ(Report(2, 1).size(), 1u) << "now it is: 1 goes";
  EXPECT_EQ(Landed(1, std::chrono::milliseconds(3)), std::nullopt);
  EXPECT_TRUE(Report(1, 1).empty());
  EXPECT_EQ(desk_.log().size(), 3u);
  for (const WindowRow& row : desk_.log()) EXPECT_EQ(row.end, "landed");
}

TEST_F(GlobalPriorityDeskTest, ARepeatedRequestMakesAWaitingWindowMoreUrgent) {
  EXPECT_TRUE(Ask(1, 1).empty()) << "layer 1 became ready before 1's window came";
  EXPECT_TRUE(Ask(1, 7).empty()) << "a less urgent repeat lowers nothing";
  Report(0, 1);
  EXPECT_EQ(Landed(0, std::chrono::milliseconds(1)), Next({1, 0}));
  Report(1, 1);
  EXPECT_EQ(Landed(1, std::chrono::milliseconds(2)), Next({2, 0}));
  EXPECT_EQ(desk_.log().size(), 3u) << "one window per request, repeats included";
}

// The worker asks for its next window right after its writes went out: that request (also
// the report of where the window ended) waits until they all landed, then competes.
TEST_F(GlobalPriorityDeskTest, TheNextWindowAskedWhileOneIsOnTheWireWaitsUntilItLands) {
  EXPECT_TRUE(Ask(0, 0, /*part=*/1).empty()) << "partition 0 is still on the wire";
  EXPECT_EQ(Landed(0, std::chrono::milliseconds(1)), Next({0, 1})) << "layer 0 beats them all";
  EXPECT_TRUE(Ask(0, 8, /*part=*/1).empty()) << "a repeat for a window granted";
  EXPECT_TRUE(Ask(0, 0, /*part=*/0).empty()) << "stale: partition 0 is in";
  EXPECT_TRUE(Report(0, 3).empty()) << "this window carries partitions 1 and 2";
  EXPECT_EQ(Landed(0, std::chrono::milliseconds(2)), std::nullopt);
  EXPECT_EQ(Landed(0, std::chrono::milliseconds(2)), Next({2, 0}));
  EXPECT_EQ(desk_.unwindowed_writes(), 0u);
  EXPECT_EQ(Landed(0, std::chrono::milliseconds(3)), std::nullopt)
      << "a fourth part of 0's push, with no window for it";
  EXPECT_EQ(desk_.unwindowed_writes(), 1u);
  EXPECT_EQ(desk_.log()[1].part, 1u);
}

// A window revoked while its writes are on the wire: the link moves on; the window's request
// stays pending, and ends when its writes landed (nobody is granted a window for them again
// after that).
TEST_F(GlobalPriorityDeskTest, ARevokedWindowEndsWhenItsWritesLand) {
  const auto bound = std::chrono::milliseconds(10);  // min-window: no push time known yet
  const auto grants = desk_.Poll(t0_ + bound);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].worker, 2u) << "0 revoked; the most urgent waiting goes";
  EXPECT_EQ(desk_.log()[0].end, "revoked");
  EXPECT_EQ(Landed(0, std::chrono::milliseconds(12)), std::nullopt) << "2 holds the link";
  EXPECT_TRUE(Report(0, 1).empty());
  Report(2, 1);
  EXPECT_EQ(Landed(2, std::chrono::milliseconds(13)), Next({1, 0})) << "0's window is over";
  Report(1, 1);
  EXPECT_EQ(Landed(1, std::chrono::milliseconds(14)), std::nullopt);
}

TEST(SyncPathTest, AsynchronousReleasesSendACopyTheNextUpdateDoesNotTouch) {
  JobConfig job;
  job.num_workers = 2;
  job.sync = SyncSpec::Parse("asp");
  std::vector<float> slot0(4, 1.0f), slot1(4, 0.0f);
  SyncPath path(job, std::vector<float>(4, 0.0f), EvenParts(4, 2));
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

TEST(SyncPathTest, APushIsWholeWhenEveryPartOfTheExpectedIterationLanded) {
  JobConfig job;
  job.num_workers = 2;
  const auto parts = EvenParts(4, 2);
  SyncPath path(job, std::vector<float>(4, 0.0f), parts);
  EXPECT_EQ(Land(path, 0, 1, 0, 0, parts), SyncPath::Landing::kDropped);
  EXPECT_EQ(Land(path, 0, 0, 2, 0, parts), SyncPath::Landing::kDropped);
  EXPECT_EQ(Land(path, 0, 0, 1, 0, parts), SyncPath::Landing::kPartial);
  EXPECT_EQ(Land(path, 1, 0, 0, 0, parts), SyncPath::Landing::kPartial);
  EXPECT_EQ(Land(path, 0, 0, 0, 0, parts), SyncPath::Landing::kWhole);
  EXPECT_TRUE(path.TakeRejected().empty()) << "the dropped writes landed over nothing";
}

// Only whole pushes count: a part is a write that covers exactly it, once. A zero-length
// write or one of the wrong size or place never stands in for a part.
TEST(SyncPathTest, AWriteCountsAsAPartOnlyIfItCoversExactlyThatPart) {
  JobConfig job;
  job.num_workers = 1;
  const auto parts = EvenParts(6, 3);  // 8 bytes each
  SyncPath path(job, std::vector<float>(6, 0.0f), parts);
  const auto land = [&](uint32_t part, uint64_t offset, uint64_t length) {
    return path.OnLanded(0, Imm::Decode(Imm::Encode(0, part)), offset, length, 0);
  };
  EXPECT_EQ(land(0, 0, 0), SyncPath::Landing::kDropped) << "zero-length";
  EXPECT_EQ(land(0, 0, 4), SyncPath::Landing::kDropped) << "half of part 0";
  EXPECT_EQ(land(1, 0, 8), SyncPath::Landing::kDropped) << "part 0's bytes tagged part 1";
  EXPECT_EQ(land(1, 8, 16), SyncPath::Landing::kDropped) << "parts 1 and 2 tagged part 1";
  EXPECT_EQ(land(0, 0, 8), SyncPath::Landing::kPartial);
  EXPECT_EQ(land(1, 8, 8), SyncPath::Landing::kPartial);
  EXPECT_EQ(land(2, 16, 8), SyncPath::Landing::kWhole);
  EXPECT_TRUE(path.TakeRejected().empty()) << "nothing landed over the parts once they had";
}

// A dropped write's bytes already landed in the slot: over a part of the push in progress
// that had landed, that push is dropped when whole; into a whole push that waits for its
// update, it is dropped at once; over parts not landed yet (a straggler's late write before
// its next push), nothing is. An update settles the push: the next one starts clean.
TEST(SyncPathTest, ADroppedWriteOverLandedBytesTaintsThatPush) {
  JobConfig job;
  job.num_workers = 2;
  job.optimizer.momentum = 0;
  const auto parts = EvenParts(6, 3);
  std::vector<float> slot0(6, 1.0f), slot1(6, 3.0f);
  SyncPath path(job, std::vector<float>(6, 0.0f), parts);
  path.SetSlots({slot0, slot1});
  SyncRule::Decision d;
  d.apply = {0, 1};
  d.aggregate = true;
  const std::vector<uint64_t> rows(2, 1);
  const float lr = static_cast<float>(job.optimizer.lr.base_lr);

  EXPECT_EQ(Land(path, 1, 0, 0, 0, parts), SyncPath::Landing::kPartial);
  EXPECT_EQ(Land(path, 1, 0, 1, 0, parts), SyncPath::Landing::kPartial);
  EXPECT_EQ(Land(path, 1, 0, 0, 0, parts), SyncPath::Landing::kDropped) << "part 0 again";
  EXPECT_TRUE(path.TakeRejected().empty()) << "not before the push is whole";
  EXPECT_EQ(Land(path, 1, 0, 2, 0, parts), SyncPath::Landing::kWhole);
  auto rejected = path.TakeRejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].worker, 1u);
  EXPECT_EQ(rejected[0].why, SyncPath::Why::kTainted);
  // A late write of iteration 5 over part 2 before worker 0's push: nothing landed there yet.
  EXPECT_EQ(Land(path, 0, 5, 2, 0, parts), SyncPath::Landing::kDropped);
  for (uint32_t p = 0; p < 3; ++p) Land(path, 0, 0, p, 0, parts);
  EXPECT_TRUE(path.TakeRejected().empty());
  path.Apply(d, rows);
  for (float p : path.params()) EXPECT_FLOAT_EQ(p, -lr * 1.0f) << "worker 0's gradient alone";
  EXPECT_EQ(path.rejected_tainted(), 1u);
  EXPECT_EQ(path.rejected_nonfinite(), 0u);
  EXPECT_EQ(path.gradients_applied(), 1u);

  // Iteration 1: worker 0's whole push waits; a write of worker 0 lands in it, whatever it
  // claims to be (the next iteration's part 0 here).
  for (uint32_t p = 0; p < 3; ++p)
    EXPECT_NE(Land(path, 0, 1, p, 1, parts), SyncPath::Landing::kDropped);
  EXPECT_EQ(Land(path, 0, 2, 0, 2, parts), SyncPath::Landing::kPartial);
  rejected = path.TakeRejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].worker, 0u);
  for (uint32_t p = 0; p < 3; ++p) Land(path, 1, 1, p, 1, parts);
  path.Apply(d, rows);
  for (float p : path.params()) EXPECT_FLOAT_EQ(p, -lr * 4.0f) << "plus worker 1's alone";
  EXPECT_EQ(path.rejected_tainted(), 2u);
  // Settled: worker 1's next push (iteration 2) is clean, and counts.
  for (uint32_t p = 0; p < 3; ++p) Land(path, 1, 2, p, 2, parts);
  EXPECT_TRUE(path.TakeRejected().empty());
}

// A barrier applied part by part, each part's mean over the workers that pushed it, is the
// barrier's one update (up to float rounding), counted once.
TEST(SyncPathTest, PartsAppliedOneByOneAreTheBarriersUpdate) {
  JobConfig job;
  job.num_workers = 3;
  std::vector<std::vector<float>> slots(3, std::vector<float>(10));
  for (uint32_t w = 0; w < 3; ++w) {
    for (size_t i = 0; i < 10; ++i)
      slots[w][i] = static_cast<float>(w) - 0.1f * static_cast<float>(i);
  }
  std::vector<float> init(10);
  for (size_t i = 0; i < 10; ++i) init[i] = 0.5f * static_cast<float>(i);
  SyncPath whole(job, init, EvenParts(10, 2)), parts(job, init, EvenParts(10, 2));
  whole.SetSlots({slots[0], slots[1], slots[2]});
  parts.SetSlots({slots[0], slots[1], slots[2]});
  SyncRule::Decision d;
  d.apply = {2, 0, 1};
  d.aggregate = true;
  const std::vector<uint64_t> rows(3, 1);
  for (int round = 0; round < 2; ++round) {
    whole.Apply(d, rows);
    const std::vector<uint32_t> late = {1, 2, 0};
    parts.ApplyPart(late, 6, 4);  // the second part completes first
    parts.ApplyPart(d.apply, 0, 6);
    EXPECT_EQ(parts.updates(), whole.updates() - 1);
    parts.EndBarrier(d, rows);
  }
  EXPECT_EQ(parts.updates(), 2u);
  EXPECT_EQ(parts.gradients_applied(), whole.gradients_applied());
  for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(parts.params()[i], whole.params()[i], 1e-6) << i;
}

// A push holding NaN (or values that overflow the sum) is dropped: the update is the others'
// mean, the drop is counted and handed out once with the worker's drops in a row, which a
// clean push of that worker resets. The same per part, for the rest of the barrier.
TEST(SyncPathTest, APushHoldingNanIsDroppedAndTheOthersMeanApplied) {
  JobConfig job;
  job.num_workers = 3;
  job.optimizer.momentum = 0;
  std::vector<std::vector<float>> slots(3, std::vector<float>(6, 0.0f));
  slots[0].assign(6, 1.0f);
  slots[1].assign(6, 3.0f);
  slots[2].assign(6, 5.0f);
  slots[2][4] = std::nanf("");
  SyncPath path(job, std::vector<float>(6, 0.0f), EvenParts(6, 2));
  path.SetSlots({slots[0], slots[1], slots[2]});
  SyncRule::Decision d;
  d.apply = {0, 1, 2};
  d.aggregate = true;
  const std::vector<uint64_t> rows(3, 1);
  const float lr = static_cast<float>(job.optimizer.lr.base_lr);
  path.Apply(d, rows);
  for (float p : path.params()) EXPECT_FLOAT_EQ(p, -lr * 2.0f) << "the mean of 1 and 3";
  EXPECT_EQ(path.rejected_nonfinite(), 1u);
  EXPECT_EQ(path.gradients_applied(), 2u);
  auto rejected = path.TakeRejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].worker, 2u);
  EXPECT_EQ(rejected[0].in_a_row, 1u);
  EXPECT_TRUE(path.TakeRejected().empty()) << "handed out once";
  // Per part: dropped at its first bad part, left out of the barrier's later parts too.
  path.ApplyPart(d.apply, 3, 3);  // holds the NaN
  path.ApplyPart(d.apply, 0, 3);
  path.EndBarrier(d, rows);
  for (float p : path.params()) EXPECT_FLOAT_EQ(p, -lr * 4.0f);
  rejected = path.TakeRejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].in_a_row, 2u);
  slots[2][4] = 5.0f;
  path.Apply(d, rows);
  EXPECT_TRUE(path.TakeRejected().empty());
  for (float p : path.params()) EXPECT_FLOAT_EQ(p, -lr * 7.0f) << "plus the mean of 1, 3, 5";
  slots[2][0] = INFINITY;
  path.Apply(d, rows);
  rejected = path.TakeRejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].in_a_row, 1u) << "a clean push reset the count";
  EXPECT_EQ(path.rejected_nonfinite(), 3u);
  for (float p : path.params()) EXPECT_TRUE(std::isfinite(p));
}

// Asynchronous rules step worker by worker: each gradient is checked on its own.
TEST(SyncPathTest, UnderAspANonFiniteGradientIsDroppedAlone) {
  JobConfig job;
  job.num_workers = 2;
  job.sync = SyncSpec::Parse("asp");
  std::vector<float> slot0(4, 1.0f), slot1(4, -INFINITY);
  SyncPath path(job, std::vector<float>(4, 0.0f), EvenParts(4, 1));
  path.SetSlots({slot0, slot1});
  SyncRule::Decision d;
  d.apply = {1};
  const std::vector<uint64_t> rows(2, static_cast<uint64_t>(job.workload.batch_size));
  path.Apply(d, rows);
  EXPECT_EQ(path.updates(), 0u);
  EXPECT_EQ(path.rejected_nonfinite(), 1u);
  d.apply = {0};
  path.Apply(d, rows);
  EXPECT_EQ(path.updates(), 1u);
  for (float p : path.params()) EXPECT_TRUE(std::isfinite(p));
}

TEST(PartBarrierTest, APartIsCompleteOnceEveryLiveWorkersCopyLanded) {
  PartBarrier barrier(3, 2);
  EXPECT_FALSE(barrier.OnLanded(2, 1, 3));
  EXPECT_FALSE(barrier.OnLanded(0, 1, 3));
  EXPECT_FALSE(barrier.OnLanded(0, 0, 3));
  EXPECT_TRUE(barrier.OnLanded(1, 1, 3));
  EXPECT_EQ(barrier.from(1), (std::vector<uint32_t>{2, 0, 1})) << "in landing order";
  barrier.MarkApplied(1);
  EXPECT_FALSE(barrier.OnLanded(1, 1, 3)) << "an applied part takes nothing more";
  EXPECT_FALSE(barrier.OnLanded(1, 2, 3)) << "no part 2";
  EXPECT_EQ(barrier.Unapplied(), std::vector<uint32_t>{0});
  barrier.Reset();
  EXPECT_EQ(barrier.Unapplied(), (std::vector<uint32_t>{0, 1}));
  EXPECT_TRUE(barrier.from(1).empty());
}

TEST(PartBarrierTest, AGoneWorkersCopiesNoLongerCountForPartsNotApplied) {
  PartBarrier barrier(3, 2);
  EXPECT_FALSE(barrier.OnLanded(2, 0, 3));
  EXPECT_FALSE(barrier.OnLanded(2, 1, 3));
  EXPECT_FALSE(barrier.OnLanded(0, 1, 3));
  EXPECT_TRUE(barrier.OnLanded(1, 1, 3));
  barrier.MarkApplied(1);
  barrier.Forget(2);  // lost: two live workers left
  EXPECT_EQ(barrier.from(0), std::vector<uint32_t>{}) << "its copy of part 0 is not summed";
  EXPECT_EQ(barrier.from(1), (std::vector<uint32_t>{2, 0, 1})) << "part 1 was applied with it";
  EXPECT_FALSE(barrier.OnLanded(0, 0, 2)) << "one of the two live workers is not enough";
  EXPECT_TRUE(barrier.OnLanded(1, 0, 2));
}

HeldSteps::Step Release(uint32_t w, bool writes) {
  HeldSteps::Step s;
  s.kind = HeldSteps::Step::Kind::kRelease;
  s.worker = w;
  s.writes = writes;
  s.only = w;
  return s;
}

TEST(HeldStepsTest, AStepWaitsForItsWritesAndForACheckpointInProgress) {
  HeldSteps held(2);
  held.Posted(0);
  EXPECT_FALSE(held.RunsNow(Release(0, true), false));
  EXPECT_TRUE(held.RunsNow(Release(1, true), false)) << "only worker 0's writes are in flight";
  EXPECT_FALSE(held.RunsNow(Release(1, false), /*checkpoint_busy=*/true));
  held.Hold(Release(0, true));
  EXPECT_FALSE(held.RunsNow(Release(1, false), false)) << "nothing overtakes a held step";
  EXPECT_FALSE(held.TakeSettled(false));
  Completion done, control, stranger;
  done.kind = stranger.kind = CompletionKind::kWriteDone;
  done.peer = {Role::kWorker, 0};
  stranger.peer = {Role::kWorker, 2};  // a rank this job lacks
  control.kind = CompletionKind::kControl;
  control.peer = {Role::kWorker, 0};
  EXPECT_FALSE(held.TakeIfWriteDone(control)) << "left for the loop";
  EXPECT_FALSE(held.TakeIfWriteDone(stranger));
  EXPECT_FALSE(held.TakeSettled(false));
  EXPECT_TRUE(held.TakeIfWriteDone(done));
  const auto step = held.TakeSettled(false);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->worker, 0u);
  held.Ran();
  EXPECT_TRUE(held.empty());
}

// A worker's queued completions are bounded: past the bound it is named once, the queue
// keeps order, and dropping it frees what it queued but its closed notice.
TEST(InboundTest, AWorkerOverItsBoundIsNamedOnceAndDroppingItFreesItsShare) {
  Inbound in(2);
  const auto control = [](uint32_t w, size_t bytes) {
    Completion c;
    c.kind = CompletionKind::kControl;
    c.peer = {Role::kWorker, w};
    c.payload.resize(bytes);
    return c;
  };
  in.Push(control(1, 100));
  Completion closed;
  closed.kind = CompletionKind::kPeerClosed;
  closed.peer = {Role::kWorker, 0};
  in.Push(std::move(closed));
  size_t pushed = 0;
  while (in.bytes(0) <= Inbound::kMaxBytesPerWorker) {
    EXPECT_TRUE(in.TakeOverBound().empty());
    in.Push(control(0, Connection::kMaxControlBytes));
    ++pushed;
  }
  EXPECT_GT(pushed, 16u) << "room for an honest worker's burst";
  EXPECT_EQ(in.TakeOverBound(), std::vector<uint32_t>{0});
  in.Push(control(0, 10));
  EXPECT_TRUE(in.TakeOverBound().empty()) << "named once";
  const size_t of_1 = in.bytes(1);
  in.Drop(0);
  EXPECT_EQ(in.bytes(0), 0u);
  EXPECT_EQ(in.bytes(1), of_1);
  Completion first = in.Pop();
  EXPECT_EQ(first.peer.rank, 1u);
  EXPECT_EQ(in.bytes(1), 0u);
  EXPECT_EQ(in.Pop().kind, CompletionKind::kPeerClosed) << "kept: the loop learns it closed";
  EXPECT_TRUE(in.empty());
}

TEST(HeldStepsTest, WhatAStepSetsOffGoesBeforeTheStepsHeldBehindIt) {
  HeldSteps held(3);
  held.Posted(0);
  held.Hold(Release(0, true));
  held.Hold(Release(1, false));
  held.Completed(0);
  ASSERT_TRUE(held.TakeSettled(false).has_value());
  held.Hold(Release(2, false));  // set off while the first one ran
  held.Ran();
  EXPECT_EQ(held.TakeSettled(false)->worker, 2u);
  held.Ran();
  EXPECT_EQ(held.TakeSettled(false)->worker, 1u);
}

TEST(HeldStepsTest, WritesNotCompletedWithinTheTimeoutAreOverdue) {
  HeldSteps held(2);
  held.Posted(1);
  HeldSteps::Step all;
  all.writes = true;
  held.Hold(all);
  const TimePoint now = GetClock().Now();
  const Duration timeout = std::chrono::seconds(1);
  EXPECT_TRUE(held.Overdue(now, timeout).empty());
  EXPECT_TRUE(held.Overdue(now + timeout, timeout).empty());
  EXPECT_EQ(held.Overdue(now + 2 * timeout, timeout), std::vector<uint32_t>{1});
  held.Forget(1);  // lost
  EXPECT_TRUE(held.TakeSettled(false).has_value());
}

TEST(HeldStepsTest, APartsUpdateWaitsOnlyForThatPartsWrites) {
  HeldSteps held(2);
  held.TrackParts(3);
  held.Posted(0, 1);
  held.Posted(1, 2);
  HeldSteps::Step part;
  part.kind = HeldSteps::Step::Kind::kPartUpdate;
  part.writes = true;
  part.part = 0;
  EXPECT_TRUE(held.RunsNow(part, false)) << "no write of part 0 is in flight";
  part.part = 1;
  EXPECT_FALSE(held.RunsNow(part, false));
  HeldSteps::Step all;
  all.writes = true;
  EXPECT_FALSE(held.RunsNow(all, false));
  held.Completed(0, 1);
  EXPECT_TRUE(held.RunsNow(part, false));
  EXPECT_FALSE(held.RunsNow(all, false)) << "worker 1's write of part 2 is still in flight";
  part.part = 2;
  held.Hold(part);
  EXPECT_EQ(held.Overdue(GetClock().Now(), Duration{}).size(), 0u);
  EXPECT_EQ(held.Overdue(GetClock().Now() + std::chrono::seconds(1), Duration{}),
            std::vector<uint32_t>{1});
  held.Forget(1);
  EXPECT_TRUE(held.TakeSettled(false).has_value()) << "a lost worker's writes hold nothing";
  EXPECT_TRUE(held.RunsNow(all, false));
}

TEST(ServerSummaryTest, AResumedServerAppendsItsRowAfterTheRunBefore) {
  e2e::TempDir dir;
  ServerSummary fresh;
  fresh.updates = 6;
  fresh.checkpoints = 3;
  AppendServerSummary(dir.path(), 1, fresh);
  ServerSummary resumed;
  resumed.resumed_from = 6;
  AppendServerSummary(dir.path(), 1, resumed);
  const e2e::Csv csv = e2e::ReadCsv(dir.path() + "/server-1.csv");
  EXPECT_THAT(csv.header,
              ::testing::ElementsAre("server", "updates", "pushes_received", "gradients_applied",
                                     "rows_applied", "dropped_writes", "rejected_nonfinite",
                                     "rejected_tainted", "late_messages", "unwindowed_writes",
                                     "stale_window_notices", "workers_lost",
                                     "gradient_bytes_received", "partial", "startup_s", "train_s",
                                     "wall_s", "resumed_from", "checkpoints"));
  ASSERT_EQ(csv.rows.size(), 2u);
  const auto at = [&](size_t row, const char* key) { return csv.rows[row][csv.Column(key)]; };
  EXPECT_EQ(at(0, "server"), "1");
  EXPECT_EQ(at(0, "updates"), "6");
  EXPECT_EQ(at(0, "resumed_from"), "-1") << "a fresh start";
  EXPECT_EQ(at(0, "checkpoints"), "3");
  EXPECT_EQ(at(1, "resumed_from"), "6");
}

}  // namespace
}  // namespace gw
