#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "sched/iteration_estimator.h"
#include "sched/window_gate.h"
#include "sched/window_scheduler.h"
#include "sched/window_spec.h"

namespace gw::sched {
namespace {

using namespace std::chrono_literals;
using Grant = WindowScheduler::Grant;

constexpr TimePoint kNever = TimePoint::max();

// The fake clock: times are offsets from the steady_clock epoch (slots are aligned to it).
TimePoint At(Duration d) { return TimePoint{} + d; }
int64_t Ns(TimePoint t) { return t.time_since_epoch().count(); }

using Ranks = std::vector<uint32_t>;

// Polls at t; the workers granted.
Ranks Granted(WindowScheduler* s, TimePoint t) {
  Ranks out;
  for (const Grant& g : s->Poll(t)) {
    EXPECT_EQ(g.start, t);
    out.push_back(g.worker);
  }
  return out;
}

// Worker 0's warm-up with every iteration taking t_iter (nothing blocked).
void Warm(WindowScheduler* s, Duration t_iter) {
  for (uint32_t i = 0; i < s->spec().warmup; ++i) s->ObserveIteration(0, t_iter, 0ns);
  ASSERT_TRUE(s->warmed_up());
}

// ---------------------------------------------------------------------------------------------
// WindowSpec

TEST(WindowSpec, ParsesEveryFormAndRoundTrips) {
  const WindowSpec rr = WindowSpec::Parse("round-robin");
  EXPECT_EQ(rr.kind, WindowKind::kRoundRobin);
  EXPECT_EQ(rr.warmup, 10u);
  EXPECT_EQ(rr.factor, 1.2);
  EXPECT_EQ(rr.window_gaps, 4);
  EXPECT_EQ(rr.min_window_ms, 10);
  EXPECT_EQ(rr.lead_ms, WindowSpec::kLeadAuto);
  EXPECT_EQ(rr.ToString(),
            "round-robin:warmup=10,factor=1.2,window=4,min-window=10,lead=auto,ask=ready");
  EXPECT_EQ(WindowSpec::Parse("round-robin:lead=0").lead_ms, 0);
  EXPECT_FALSE(rr.ask_ahead);
  EXPECT_TRUE(WindowSpec::Parse("round-robin:ask=ahead").ask_ahead);
  EXPECT_EQ(WindowSpec::Parse("topology:racks=2,lead=0.25").lead_ms, 0.25);
  const WindowSpec slots = WindowSpec::Parse("slots:period=10.5,slot=0.25");
  EXPECT_EQ(slots.period(), 10500us);
  EXPECT_EQ(slots.slot(), 250us);
  EXPECT_EQ(WindowSpec::Parse("topology:rack-of=0+0+1+1").rack_of,
            (std::vector<uint32_t>{0, 0, 1, 1}));
  for (const char* text : {"burst", "round-robin", "round-robin:warmup=20,factor=1.5",
                           "round-robin:window=2.5,min-window=0.125", "round-robin:lead=0",
                           "round-robin:lead=1.5", "round-robin:lead=auto", "round-robin:ask=ahead",
                           "slots:period=10,slot=1.25", "topology:racks=3,ask=ahead",
                           "topology:rack-of=2+0+2+1,factor=2,warmup=5", "topology:racks=1"}) {
    const WindowSpec s = WindowSpec::Parse(text);
    EXPECT_EQ(WindowSpec::Parse(s.ToString()), s) << text << " -> " << s.ToString();
    EXPECT_EQ(WindowSpec::Parse(s.ToString()).ToString(), s.ToString());
  }
  for (const char* canonical :
       {"burst", "round-robin:warmup=12,factor=1.2,window=3,min-window=0.5,lead=0,ask=ready",
        "slots:period=8,slot=2",
        "topology:racks=2,warmup=10,factor=1.2,window=4,min-window=10,lead=auto,ask=ready",
        "topology:rack-of=0+1+0,warmup=10,factor=1,window=8,min-window=100,lead=0.5,ask=ahead"}) {
    EXPECT_EQ(WindowSpec::Parse(canonical).ToString(), canonical);
  }
}

TEST(WindowSpec, RefusesBadTextWithTheValidForms) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "unknown policy \"\""},
      {"bursty", "unknown policy \"bursty\""},
      {"burst:warmup=10", "unknown key warmup for policy burst"},
      {"round-robin:", "nothing after ':'"},
      {"round-robin:warmup", "\"warmup\" is not key=value"},
      {"round-robin:=3", "\"=3\" is not key=value"},
      {"round-robin:warmup=4", "warmup must be >= 5"},
      {"round-robin:warmup=-1", "value of warmup is not an integer"},
      {"round-robin:factor=0", "factor must be > 0"},
      {"round-robin:factor=1.2x", "value of factor is not a number: \"1.2x\""},
      {"round-robin:factor=nan", "value of factor is not a number"},
      {"round-robin:window=0.5", "window (a multiple of the gap) must be in [1, 1e6]"},
      {"round-robin:min-window=0", "min-window must be > 0"},
      {"round-robin:lead=-1", "lead must be auto or >= 0 ms"},
      {"round-robin:lead=soon", "value of lead is not a number: \"soon\""},
      {"round-robin:lead=1e10", "lead must be auto or in [0, 1e+09] ms"},
      {"global-priority:lead=1", "unknown key lead for policy global-priority"},
      {"round-robin:ask=early", "ask must be ready or ahead"},
      {"global-priority:ask=ahead", "unknown key ask for policy global-priority"},
      {"round-robin:gap=3", "unknown key gap for policy round-robin"},
      {"round-robin:factor=1,factor=2", "key factor repeated"},
      {"slots:period=10", "missing key slot"},
      {"slots:slot=1", "missing key period"},
      {"slots:period=10,slot=-1", "slot must be > 0"},
      {"slots:period=1e12,slot=1", "period must be > 0 and <= 1e+09 ms, got 1e+12"},
      {"slots:period=10,slot=1e-9", "rounds to 0 ns"},
      {"topology", "give exactly one of racks= and rack-of="},
      {"topology:racks=2,rack-of=0+1", "give exactly one of racks= and rack-of="},
      {"topology:racks=0", "racks must be >= 1"},
      {"topology:rack-of=0++1", "value of rack-of is not an integer"},
      {"topology:rack-of=a", "value of rack-of is not an integer"},
      {"topology:racks=2,period=3", "unknown key period for policy topology"},
  };
  for (const auto& [text, why] : cases) {
    try {
      WindowSpec::Parse(text);
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("window spec \"" + text + "\""), std::string::npos) << what;
      EXPECT_NE(what.find(why), std::string::npos) << "\"" << text << "\": " << what;
      EXPECT_NE(what.find("expected burst | round-robin"), std::string::npos) << what;
      EXPECT_NE(what.find("slots:period=MS,slot=MS"), std::string::npos) << what;
    }
  }
}

TEST(WindowSpec, ValidateChecksTheWorkerCount) {
  auto refuses = [](const std::string& text, uint32_t n, const std::string& why) {
    try {
      WindowSpec::Parse(text).Validate(n);
      ADD_FAILURE() << text << " accepted for " << n << " workers";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  WindowSpec::Parse("slots:period=10,slot=2.5").Validate(4);
  refuses("slots:period=10,slot=2.5", 5, "do not fit in the period");
  WindowSpec::Parse("topology:racks=4").Validate(4);
  refuses("topology:racks=5", 4, "leaves some rack without a worker");
  WindowSpec::Parse("topology:rack-of=0+1+1").Validate(3);
  refuses("topology:rack-of=0+1", 3, "rack-of lists 2 workers");
  refuses("burst", 0, "need at least one worker");
  WindowSpec hand;  // built by hand, never parsed
  hand.kind = WindowKind::kRoundRobin;
  hand.warmup = 2;
  EXPECT_THROW(hand.Validate(3), Error);
  EXPECT_THROW(WindowScheduler(WindowSpec::Parse("slots:period=1,slot=1"), 2), Error);
}

TEST(WindowSpec, RacksSplitConsecutiveRanksEvenly) {
  EXPECT_EQ(WindowSpec::Parse("topology:racks=3").RackOf(10),
            (std::vector<uint32_t>{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(WindowSpec::Parse("topology:racks=4").RackOf(4), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(WindowSpec::Parse("topology:racks=1").RackOf(3), (std::vector<uint32_t>{0, 0, 0}));
  EXPECT_EQ(WindowSpec::Parse("topology:racks=2").RackOf(7),
            (std::vector<uint32_t>{0, 0, 0, 0, 1, 1, 1}));
}

// ---------------------------------------------------------------------------------------------
// Adaptive gap

Duration ExpectedGap(double t_iter_ns, double factor, size_t ring) {
  return Duration(std::llround(t_iter_ns / (factor * ring)));
}

TEST(WindowScheduler, AdaptiveGapIsTIterOverFactorTimesNAndFollowsChanges) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 4);
  // Iterations 1..4 are start-up: not counted, however long.
  for (int i = 0; i < 4; ++i) s.ObserveIteration(0, 5s, 0s);
  // Iterations 5..10: samples 60, 70, 80, 90, 100, 80 ms (iteration − blocked): mean 80 ms.
  for (int ms : {60, 70, 80, 90, 100, 80}) {
    EXPECT_FALSE(s.warmed_up());
    EXPECT_EQ(s.gap(), 0ns);
    s.ObserveIteration(0, std::chrono::milliseconds(ms + 25), 25ms);
    s.ObserveIteration(1, 1s, 0s);  // only worker 0 counts
    s.ObserveIteration(3, 1ms, 0s);
  }
  ASSERT_TRUE(s.warmed_up());
  EXPECT_EQ(s.iteration_time(), 80ms);
  EXPECT_EQ(s.gap(), ExpectedGap(80e6, 1.2, 4));  // 16.67 ms
  EXPECT_EQ(s.gap(3), s.gap());
  EXPECT_EQ(s.window_bound(), 4 * s.gap());  // 4 gaps > 10 ms
  // A step to 180 ms: the estimate moves by 10 % of the difference per iteration.
  double expected = 80e6;
  for (int i = 0; i < 60; ++i) {
    s.ObserveIteration(0, 200ms, 20ms);
    expected += 0.1 * (180e6 - expected);
    ASSERT_NEAR(s.iteration_time().count(), expected, 1) << i;
    ASSERT_NEAR(s.gap().count(), ExpectedGap(expected, 1.2, 4).count(), 1) << i;
  }
  EXPECT_NEAR(s.gap().count(), 180e6 / 4.8, 0.01 * 180e6 / 4.8);
  // Blocked longer than the iteration counts as 0, pulling the estimate down.
  s.ObserveIteration(0, 10ms, 20ms);
  EXPECT_NEAR(s.iteration_time().count(), 0.9 * expected, 1);
  // A tiny gap: the bound is the min-window floor.
  WindowScheduler fast(WindowSpec::Parse("round-robin:min-window=10"), 8);
  Warm(&fast, 9600us);  // gap = 1 ms
  EXPECT_EQ(fast.gap(), 1ms);
  EXPECT_EQ(fast.window_bound(), 10ms);
}

// When the link paces the ring (pushes longer than the gap), the bound follows the pushes:
// gap-based bounds alone would cut every push. A cut push that was making progress raises it.
TEST(WindowScheduler, BoundFollowsPushTimeAndGrowsWhenProgressIsCut) {
  WindowScheduler s(WindowSpec::Parse("topology:racks=1,min-window=10"), 2);
  EXPECT_EQ(s.window_bound(), 10ms);  // nothing known yet: the floor
  s.Request(0, At(0ms));
  ASSERT_EQ(s.Poll(At(0ms)).size(), 1u);
  s.Progress(0, At(5ms));
  // Revoked at 10 ms while progressing: the push needs more than 10 ms, so push >= 10 ms.
  s.Request(1, At(1ms));
  const std::vector<Grant> g1 = s.Poll(At(10ms));
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(g1[0].worker, 1u);
  EXPECT_EQ(s.revocations(), 1u);
  EXPECT_EQ(s.push_time(), 10ms);
  EXPECT_EQ(s.window_bound(), 40ms);
  EXPECT_EQ(g1[0].deadline, At(50ms));
  // Worker 1 finishes in 30 ms: push = 0.8 x 10 + 0.2 x 30 = 14 ms, bound 56 ms.
  s.Done(1, At(40ms));
  EXPECT_EQ(s.push_time(), 14ms);
  EXPECT_EQ(s.window_bound(), 56ms);
  const std::vector<Grant> g2 = s.Poll(At(40ms));  // worker 0's request is still pending
  ASSERT_EQ(g2.size(), 1u);
  EXPECT_EQ(g2[0].worker, 0u);
  EXPECT_EQ(g2[0].deadline, At(96ms));
  // A stuck holder (no progress) is cut and changes nothing; with nobody else pending (and
  // no gap yet) it is granted again at once, for one bound again.
  const std::vector<Grant> g3 = s.Poll(At(96ms));
  EXPECT_EQ(s.revocations(), 2u);
  EXPECT_EQ(s.window_bound(), 56ms);
  ASSERT_EQ(g3.size(), 1u);
  EXPECT_EQ(g3[0].deadline, At(152ms));
}

TEST(WindowScheduler, TopologyGapIsPerRack) {
  WindowScheduler s(WindowSpec::Parse("topology:rack-of=5+5+5+2"), 4);
  EXPECT_EQ(s.gap(0), 0ns);  // no T_iter yet: turns pass as windows end
  EXPECT_EQ(s.window_bound(0), 10ms);
  Warm(&s, 120ms);
  EXPECT_EQ(s.gap(0), ExpectedGap(120e6, 1.2, 3));  // 33.3 ms: rack of 3
  EXPECT_EQ(s.gap(3), 100ms);                       // rack of 1
}

// ---------------------------------------------------------------------------------------------
// Policies, step by step

TEST(WindowScheduler, BurstGrantsEveryRequestAtOnce) {
  WindowScheduler s(WindowSpec::Parse("burst"), 3);
  EXPECT_EQ(s.NextEvent(), std::nullopt);
  s.Request(0, At(5ms));
  s.Request(2, At(5ms));
  EXPECT_EQ(s.NextEvent(), At(5ms));
  const std::vector<Grant> g = s.Poll(At(5ms));
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].worker, 0u);
  EXPECT_EQ(g[1].worker, 2u);
  for (const Grant& x : g) {
    EXPECT_EQ(x.start, At(5ms));
    EXPECT_EQ(x.deadline, kNever);
  }
  EXPECT_EQ(s.NextEvent(), std::nullopt);
  s.Request(1, At(6ms));
  EXPECT_EQ(s.Poll(At(6ms)).size(), 1u);
  s.Done(0, At(7ms));
  EXPECT_FALSE(s.holding(0));
  EXPECT_TRUE(s.holding(1));
  EXPECT_TRUE(s.Poll(At(1h)).empty());  // no deadline: nothing expires
  EXPECT_TRUE(s.holding(1));
}

TEST(WindowScheduler, RoundRobinIsBurstUntilWarmedUpThenBoundsOpenWindows) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 4);
  s.Request(1, At(0ms));
  s.Request(3, At(0ms));
  ASSERT_EQ(s.Poll(At(0ms)).size(), 2u);  // burst: both at once, open-ended
  EXPECT_EQ(s.NextEvent(), std::nullopt);
  Warm(&s, 48ms);  // gap = 48 / (1.2·4) = 10 ms, bound = 40 ms
  EXPECT_EQ(s.gap(), 10ms);
  s.Request(0, At(2ms));
  EXPECT_EQ(s.NextEvent(), At(2ms));  // rings start at the next Poll
  const std::vector<Grant> rebound = s.Poll(At(2ms));
  // Not a new window for worker 0: the open warm-up windows get a deadline instead.
  ASSERT_EQ(rebound.size(), 2u);
  EXPECT_EQ(rebound[0].worker, 1u);
  EXPECT_EQ(rebound[1].worker, 3u);
  EXPECT_EQ(rebound[0].deadline, At(42ms));
  EXPECT_EQ(s.NextEvent(), At(42ms));
  s.Done(1, At(20ms));  // a 20 ms push: the bound becomes 4 x max(gap, 20 ms) = 80 ms
  EXPECT_EQ(s.push_time(), 20ms);
  EXPECT_EQ(s.window_bound(), 80ms);
  EXPECT_TRUE(s.Poll(At(20ms)).empty());          // worker 3 still writing
  const std::vector<Grant> g = s.Poll(At(42ms));  // 3 revoked at its deadline, 0 granted
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].worker, 0u);
  EXPECT_EQ(g[0].deadline, At(122ms));
  EXPECT_EQ(s.window_bound(), 80ms);  // 3 made no progress: its cut says nothing of pushes
  EXPECT_EQ(s.revocations(), 1u);
  EXPECT_TRUE(s.pending(3));
  EXPECT_FALSE(s.holding(3));
}

TEST(WindowScheduler, RoundRobinPacesTurnsByTheGapInRankOrder) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 4);
  Warm(&s, 48ms);  // gap 10 ms, bound 40 ms
  for (uint32_t w : {3, 1, 0, 2}) s.Request(w, At(0ms));
  std::vector<uint32_t> order;
  auto grant_one = [&](TimePoint at) {
    EXPECT_EQ(s.NextEvent(), at);
    const std::vector<Grant> g = s.Poll(at);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].start, at);
    EXPECT_EQ(g[0].deadline, at + 40ms);
    order.push_back(g[0].worker);
  };
  grant_one(At(0ms));
  s.Done(0, At(3ms));
  grant_one(At(10ms));  // previous grant + gap
  s.Done(1, At(25ms));
  grant_one(At(25ms));  // previous window's end (later than grant + gap)
  s.Done(2, At(26ms));
  grant_one(At(35ms));
  EXPECT_EQ(order, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(s.NextEvent(), At(75ms));  // only 3's deadline is left
}

TEST(WindowScheduler, AbsentWorkerKeepsItsTurnForOneGapThenLosesIt) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 3);
  Warm(&s, 36ms);  // gap 10 ms
  s.Request(0, At(0ms));
  s.Request(2, At(0ms));
  ASSERT_EQ(s.Poll(At(0ms)).size(), 1u);
  s.Done(0, At(1ms));
  // Worker 1's turn starts at 10 ms; it has nothing, so 2 waits for its grace to end at 20.
  EXPECT_EQ(s.NextEvent(), At(20ms));
  WindowScheduler late = s;  // the same state; in this copy worker 1 turns up in its grace
  late.Request(1, At(15ms));
  ASSERT_EQ(late.NextEvent(), At(15ms));
  const std::vector<Grant> g1 = late.Poll(At(15ms));
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(g1[0].worker, 1u);
  const std::vector<Grant> g2 = s.Poll(At(20ms));
  ASSERT_EQ(g2.size(), 1u);
  EXPECT_EQ(g2[0].worker, 2u);
  // Worker 1 asks right after losing its turn: it waits for the ring to come round.
  s.Request(1, At(21ms));
  s.Request(0, At(21ms));
  s.Done(2, At(22ms));
  const std::vector<Grant> g3 = s.Poll(At(30ms));
  ASSERT_EQ(g3.size(), 1u);
  EXPECT_EQ(g3[0].worker, 0u);
}

TEST(WindowScheduler, IdleRingGrantsTheFirstRequestAtOnce) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 4);
  Warm(&s, 48ms);
  s.Request(2, At(1s));  // nobody else wants the link: no waiting for 0 and 1
  const std::vector<Grant> g = s.Poll(At(1s));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].worker, 2u);
}

TEST(WindowScheduler, HolderPastDeadlineIsRevokedAndTheNextGranted) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 3);
  Warm(&s, 36ms);  // gap 10 ms, bound 40 ms
  for (uint32_t w = 0; w < 3; ++w) s.Request(w, At(0ms));
  ASSERT_EQ(Granted(&s, At(0ms)), Ranks{0});
  EXPECT_EQ(s.NextEvent(), At(40ms));
  EXPECT_TRUE(s.Poll(At(39ms)).empty());
  const std::vector<Grant> g = s.Poll(At(40ms));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].worker, 1u);
  EXPECT_EQ(g[0].start, At(40ms));
  EXPECT_FALSE(s.holding(0));
  EXPECT_TRUE(s.pending(0));  // it still has bytes: granted again at its next turn
  EXPECT_EQ(s.revocations(), 1u);
  s.Done(1, At(45ms));
  ASSERT_EQ(Granted(&s, At(50ms)), Ranks{2});
  s.Done(2, At(52ms));
  ASSERT_EQ(s.NextEvent(), At(60ms));
  ASSERT_EQ(Granted(&s, At(60ms)), Ranks{0});
  // A late Done of a revoked push clears its request.
  WindowScheduler t(WindowSpec::Parse("round-robin"), 2);
  Warm(&t, 24ms);  // gap 10 ms
  t.Request(0, At(0ms));
  ASSERT_EQ(t.Poll(At(0ms)).size(), 1u);
  ASSERT_TRUE(t.Poll(At(40ms)).empty() && !t.holding(0) && t.pending(0));
  t.Done(0, At(41ms));
  EXPECT_FALSE(t.pending(0));
  EXPECT_EQ(t.NextEvent(), std::nullopt);
}

TEST(WindowScheduler, RemovedWorkerLosesItsTurnAndWindow) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 4);
  Warm(&s, 48ms);  // gap 10 ms, bound 40 ms
  for (uint32_t w = 0; w < 4; ++w) s.Request(w, At(0ms));
  ASSERT_EQ(Granted(&s, At(0ms)), Ranks{0});
  s.Remove(0, At(12ms));  // the holder dies: its window ends, the next goes at once
  EXPECT_FALSE(s.holding(0));
  ASSERT_EQ(s.NextEvent(), At(12ms));
  ASSERT_EQ(Granted(&s, At(12ms)), Ranks{1});
  s.Remove(2, At(13ms));  // the next owner dies while waiting: skipped, no grace
  s.Done(1, At(14ms));
  ASSERT_EQ(s.NextEvent(), At(22ms));
  ASSERT_EQ(Granted(&s, At(22ms)), Ranks{3});
  s.Request(0, At(23ms));  // the dead stay dead
  s.Request(2, At(23ms));
  EXPECT_FALSE(s.pending(0));
  s.Done(3, At(24ms));
  s.Request(3, At(24ms));
  s.Request(1, At(24ms));
  ASSERT_EQ(Granted(&s, At(32ms)), Ranks{1});
  s.Done(1, At(33ms));
  ASSERT_EQ(Granted(&s, At(42ms)), Ranks{3});
  s.Remove(3, At(43ms));
  s.Remove(1, At(43ms));
  EXPECT_TRUE(s.Poll(At(43ms)).empty());
  EXPECT_EQ(s.NextEvent(), std::nullopt);
}

// Pipelined turns: once the open window's writer posted, the next turn is granted lead before
// that window's expected end (posted + busy); the lead is the measured grant-to-post time
// (auto), a fixed time, or nothing (lead=0: the next grant waits for the window's end).
TEST(WindowScheduler, PipelinedTurnIsGrantedLeadBeforeTheOpenWindowsExpectedEnd) {
  struct Case {
    std::string lead;
    std::optional<TimePoint> early;  // when worker 2 is granted while worker 1 holds
  };
  for (const Case& c : {Case{"auto", At(17ms)}, Case{"3", At(15ms)}, Case{"0", std::nullopt}}) {
    SCOPED_TRACE("lead=" + c.lead);
    WindowScheduler s(WindowSpec::Parse("round-robin:min-window=50,lead=" + c.lead), 3);
    Warm(&s, 3600us);  // gap = 1 ms
    for (uint32_t w = 0; w < 3; ++w) s.Request(w, At(0ms));
    ASSERT_EQ(Granted(&s, At(0ms)), (Ranks{0}));
    s.Posted(0, At(1ms));  // grant-to-post 1 ms
    // Nothing known of how long a transfer takes: the ring waits for the window to end.
    EXPECT_EQ(s.NextEvent(), At(50ms));
    EXPECT_EQ(s.lead(), 0ns);
    s.Done(0, At(9ms));  // busy 8 ms
    EXPECT_EQ(s.lead(), c.early ? At(17ms) - *c.early + 1ms : 0ns);
    ASSERT_EQ(Granted(&s, At(9ms)), (Ranks{1}));
    // Worker 1 has not posted: its window may never carry a byte, so no early turn.
    EXPECT_EQ(s.NextEvent(), At(59ms));  // its deadline (bound max(4 x 9 ms, 50 ms))
    s.Posted(1, At(10ms));
    s.Posted(1, At(11ms));  // a repeated notice changes nothing
    if (!c.early) {
      EXPECT_EQ(s.NextEvent(), At(59ms));
      EXPECT_TRUE(Granted(&s, At(58ms)).empty());
      continue;
    }
    EXPECT_EQ(s.NextEvent(), *c.early);
    EXPECT_TRUE(Granted(&s, *c.early - 1ns).empty());
    ASSERT_EQ(Granted(&s, *c.early), (Ranks{2}));
    EXPECT_TRUE(s.holding(1));
    EXPECT_TRUE(s.holding(2));
    // Two windows open: worker 0 asks again and waits for one of them to end, even though
    // worker 2 posted.
    s.Request(0, *c.early);
    s.Posted(2, *c.early + 1ms);
    EXPECT_TRUE(Granted(&s, At(19ms)).empty());
    s.Done(1, At(19ms));  // busy 9 ms: the mean moves to 8.2 ms
    const TimePoint next = *c.early + 1ms + 8200us - s.lead();
    EXPECT_EQ(s.NextEvent(), std::max(next, At(19ms)));
    ASSERT_EQ(Granted(&s, std::max(next, At(19ms))), (Ranks{0}));
  }
}

// A model of one link: a writer's bytes take `transfer` once the link is free, and it posts
// `handoff` after its grant (the grant's trip and its turnaround). Every worker asks again as
// soon as its push is done. Returns the link's idle time before each writer's first byte
// (negative: its bytes queued behind the previous writer's for that long).
std::vector<Duration> LinkIdleBeforeEachTurn(const std::string& spec, size_t turns,
                                             Duration handoff = 1ms, Duration transfer = 8ms) {
  const uint32_t n = 4;
  WindowScheduler s(WindowSpec::Parse(spec), n);
  Warm(&s, 4800us);  // gap = 1 ms
  std::vector<std::optional<TimePoint>> post_at(n), done_at(n);
  TimePoint now = At(0ms), link_free = At(0ms);
  std::vector<Duration> idle;
  for (uint32_t w = 0; w < n; ++w) s.Request(w, now);
  for (int steps = 0; idle.size() < turns && steps < 100000; ++steps) {
    for (const Grant& g : s.Poll(now)) post_at[g.worker] = now + handoff;
    TimePoint next = TimePoint::max();
    if (const std::optional<TimePoint> e = s.NextEvent(); e && *e > now) next = *e;
    for (uint32_t w = 0; w < n; ++w) {
      if (post_at[w]) next = std::min(next, *post_at[w]);
      if (done_at[w]) next = std::min(next, *done_at[w]);
    }
    EXPECT_NE(next, TimePoint::max());
    now = next;
    for (uint32_t w = 0; w < n; ++w) {
      if (done_at[w] && *done_at[w] <= now) {
        s.Done(w, now);
        s.Request(w, now);
        done_at[w].reset();
      }
      if (post_at[w] && *post_at[w] <= now) {
        s.Posted(w, now);
        idle.push_back(now - link_free);
        done_at[w] = std::max(now, link_free) + transfer;
        link_free = *done_at[w];
        post_at[w].reset();
      }
    }
  }
  EXPECT_EQ(idle.size(), turns);
  return idle;
}

TEST(WindowScheduler, PipelinedTurnsHideTheGrantRoundTrip) {
  // Without a lead every turn idles the link for the handoff.
  const std::vector<Duration> serial = LinkIdleBeforeEachTurn("round-robin:lead=0", 40);
  for (size_t k = 1; k < serial.size(); ++k) EXPECT_EQ(serial[k], 1ms) << "turn " << k;
  // With the measured lead the next writer's first byte comes as the last one lands: once the
  // first turn measured the handoff and the transfer, no turn idles or queues by more than
  // 5 % of a transfer (the target for the idle gap).
  const std::vector<Duration> pipelined = LinkIdleBeforeEachTurn("round-robin", 40);
  for (size_t k = 2; k < pipelined.size(); ++k) {
    EXPECT_LE(std::chrono::abs(pipelined[k]), 400us) << "turn " << k;
  }
}

// Long trips (a 10 ms delay each way: the grant takes longer to be used than a transfer lasts):
// granted at the open writer's post, the next writer's bytes would still arrive trip - busy
// after the link went idle. Grants go out a transfer apart instead, so once the ring measured
// both times no turn idles or queues by more than 5 % of a transfer.
TEST(WindowScheduler, LongTripTurnsAreGrantedATransferApart) {
  // min-window: the first windows (no push time known yet) outlast the trip.
  const std::vector<Duration> serial =
      LinkIdleBeforeEachTurn("round-robin:min-window=100,lead=0", 40, 20ms);
  for (size_t k = 1; k < serial.size(); ++k) EXPECT_EQ(serial[k], 20ms) << "turn " << k;
  const std::vector<Duration> pipelined =
      LinkIdleBeforeEachTurn("round-robin:min-window=100", 40, 20ms);
  for (size_t k = 4; k < pipelined.size(); ++k) {
    EXPECT_LE(std::chrono::abs(pipelined[k]), 400us) << "turn " << k;
  }
}

// The times: a fixed trip of 20 ms against transfers of 8 ms. Grants go out 8 ms apart whether
// or not the writers before posted, with at most 1 + ceil(20 / 8) = 4 windows open; when one
// ends, the next goes a transfer after the latest grant. A writer that never posts holds only
// its own turn.
TEST(WindowScheduler, LongTripGrantsStayATransferApartWithOnlySoManyOpen) {
  WindowScheduler s(WindowSpec::Parse("round-robin:min-window=100,lead=20"), 5);
  Warm(&s, 6ms);  // gap = 1 ms
  for (uint32_t w = 0; w < 5; ++w) s.Request(w, At(0ms));
  ASSERT_EQ(Granted(&s, At(0ms)), (Ranks{0}));
  s.Posted(0, At(20ms));
  EXPECT_EQ(s.NextEvent(), At(100ms)) << "no transfer measured yet: wait for the window";
  s.Done(0, At(28ms));  // busy 8 ms
  ASSERT_EQ(Granted(&s, At(28ms)), (Ranks{1}));
  EXPECT_EQ(s.NextEvent(), At(36ms));
  EXPECT_TRUE(Granted(&s, At(36ms) - 1ns).empty());
  ASSERT_EQ(Granted(&s, At(36ms)), (Ranks{2}));  // worker 1 has not posted: no matter
  ASSERT_EQ(Granted(&s, At(44ms)), (Ranks{3}));
  ASSERT_EQ(Granted(&s, At(52ms)), (Ranks{4}));
  s.Request(0, At(53ms));
  EXPECT_GT(s.NextEvent(), At(100ms)) << "four open: only a deadline is next";
  EXPECT_TRUE(Granted(&s, At(55ms)).empty());
  s.Posted(1, At(48ms));
  s.Done(1, At(56ms));  // busy 8 ms again
  EXPECT_EQ(s.NextEvent(), At(60ms)) << "the latest grant (52 ms) + 8 ms";
  ASSERT_EQ(Granted(&s, At(60ms)), (Ranks{0}));
  // Worker 2 never posts: it holds its window to its deadline, and the ring goes on around it.
  s.Posted(3, At(64ms));
  s.Done(3, At(72ms));
  EXPECT_TRUE(s.holding(2));
  EXPECT_TRUE(Granted(&s, At(72ms)).empty()) << "2, 4 and 0 open, worker 1 has nothing to push";
  s.Request(1, At(73ms));
  ASSERT_EQ(Granted(&s, At(73ms)), (Ranks{1})) << "its turn came at 68 ms";
}

// Asked ahead: a request whose push is ready at 50 ms is granted at 50 ms less the ring's
// grant-to-post time (2 ms), not when it arrives; a worker ready now is granted first meanwhile
// although the turn was the other's; the time a grant was held at its writer stays out of the
// grant-to-post time.
TEST(WindowScheduler, AskedAheadTurnsGoByTheReadyTimeLessTheTrip) {
  WindowScheduler s(WindowSpec::Parse("round-robin:min-window=100"), 3);
  Warm(&s, 3600us);  // gap = 3.6 ms / (1.2 x 3) = 1 ms
  s.Request(0, At(0ms));
  ASSERT_EQ(Granted(&s, At(0ms)), (Ranks{0}));
  s.Posted(0, At(2ms));  // grant to post 2 ms
  s.Done(0, At(10ms));   // transfer 8 ms
  s.Request(1, At(10ms), 0, At(50ms));
  s.Request(2, At(11ms));
  EXPECT_EQ(s.NextEvent(), At(11ms)) << "worker 2 after the grace, long before worker 1 is ready";
  ASSERT_EQ(Granted(&s, At(11ms)), (Ranks{2}));
  s.Posted(2, At(13ms));
  EXPECT_EQ(s.NextEvent(), At(48ms)) << "pipelined turns would allow 19 ms; worker 1 is not ready";
  s.Done(2, At(21ms));
  EXPECT_TRUE(Granted(&s, At(48ms) - 1ns).empty());
  ASSERT_EQ(Granted(&s, At(48ms)), (Ranks{1}));
  s.Posted(1, At(51ms), 1ms);  // its grant waited 1 ms for the gradient: the trip was 2 ms
  EXPECT_EQ(s.lead(1), 2ms);
}

// Coded rounds (Pacing::kRounds): the server's rounds warm round-robin up, worker 0's
// iterations do not; then turns go back to back in request order, not rank order.
using Pacing = WindowScheduler::Pacing;

void WarmRounds(WindowScheduler* s, Duration round) {
  for (uint32_t i = 0; i < s->spec().warmup; ++i) s->ObserveRound(round);
  ASSERT_TRUE(s->warmed_up());
}

TEST(WindowScheduler, RoundsWarmUpOnClosedRoundsNotWorkerIterations) {
  WindowScheduler s(WindowSpec::Parse("round-robin:warmup=5"), 4, Pacing::kRounds);
  for (int i = 0; i < 20; ++i) s.ObserveIteration(0, 100ms, 0ms);  // ignored
  EXPECT_FALSE(s.warmed_up());
  s.Request(2, At(0ms));
  s.Request(1, At(0ms));
  ASSERT_EQ(Granted(&s, At(0ms)), (Ranks{1, 2}));  // burst during warm-up
  for (int i = 0; i < 4; ++i) s.ObserveRound(50ms);
  EXPECT_FALSE(s.warmed_up());
  s.ObserveRound(50ms);
  EXPECT_TRUE(s.warmed_up());
  EXPECT_EQ(s.iteration_time(), 50ms);  // the mean round time (round 5 on)
  EXPECT_EQ(s.gap(), 0ns);              // but no gap: turns go back to back
  EXPECT_EQ(s.NextEvent(), At(0ms));    // the rings start at the next Poll
  const std::vector<Grant> rebound = s.Poll(At(1ms));
  ASSERT_EQ(rebound.size(), 2u);             // the open warm-up windows get a deadline
  EXPECT_EQ(rebound[0].deadline, At(11ms));  // min-window: no push time known yet
  // And the other pacing ignores rounds.
  WindowScheduler t(WindowSpec::Parse("round-robin:warmup=5"), 4);
  for (int i = 0; i < 20; ++i) t.ObserveRound(50ms);
  EXPECT_FALSE(t.warmed_up());
}

TEST(WindowScheduler, RoundsGrantFirstComeFirstServedBackToBack) {
  WindowScheduler s(WindowSpec::Parse("round-robin:warmup=5"), 4, Pacing::kRounds);
  WarmRounds(&s, 50ms);
  s.Request(3, At(1ms));
  ASSERT_EQ(Granted(&s, At(1ms)), Ranks{3});
  s.Request(1, At(2ms));
  s.Request(2, At(2500us));
  s.Request(0, At(3ms));
  EXPECT_TRUE(s.Poll(At(3ms)).empty());  // one window at a time
  EXPECT_EQ(s.NextEvent(), At(11ms));    // 3's deadline (min-window)
  s.Done(3, At(5ms));
  // Rank order would give 0 (after 3); 1 asked first. No gap: granted as 3's window ends.
  EXPECT_EQ(s.NextEvent(), At(5ms));
  ASSERT_EQ(Granted(&s, At(5ms)), Ranks{1});
  s.Done(1, At(6ms));
  ASSERT_EQ(Granted(&s, At(6ms)), Ranks{2});
  s.Request(1, At(6500us));  // asks again (its next message): behind 0
  s.Done(2, At(7ms));
  ASSERT_EQ(Granted(&s, At(7ms)), Ranks{0});
  s.Done(0, At(8ms));
  ASSERT_EQ(Granted(&s, At(8ms)), Ranks{1});
  s.Done(1, At(9ms));
  EXPECT_EQ(s.NextEvent(), std::nullopt);
}

TEST(WindowScheduler, RoundsRevokedHolderQueuesBehindThoseWaiting) {
  WindowScheduler s(WindowSpec::Parse("round-robin:warmup=5,min-window=10"), 3, Pacing::kRounds);
  WarmRounds(&s, 50ms);
  s.Request(0, At(0ms));
  ASSERT_EQ(Granted(&s, At(0ms)), Ranks{0});
  s.Request(2, At(1ms));
  s.Request(1, At(2ms));
  ASSERT_EQ(Granted(&s, At(10ms)), Ranks{2});  // 0 revoked at its deadline; 2 asked first
  EXPECT_TRUE(s.pending(0));
  EXPECT_FALSE(s.holding(0));
  s.Done(2, At(12ms));
  ASSERT_EQ(Granted(&s, At(12ms)), Ranks{1});  // 1 asked before 0 was revoked
  s.Done(1, At(13ms));
  ASSERT_EQ(Granted(&s, At(13ms)), Ranks{0});
}

TEST(WindowScheduler, CancelWithdrawsARequestWithoutCountingAPush) {
  for (const Pacing pacing : {Pacing::kRounds, Pacing::kIterations}) {
    SCOPED_TRACE(pacing == Pacing::kRounds ? "rounds" : "iterations");
    WindowScheduler s(WindowSpec::Parse("round-robin:warmup=5,min-window=10"), 3, pacing);
    if (pacing == Pacing::kRounds) {
      WarmRounds(&s, 30ms);
    } else {
      Warm(&s, 0ms);  // gap 0: turns as in rounds, but in rank order
    }
    s.Request(0, At(0ms));
    ASSERT_EQ(Granted(&s, At(0ms)), Ranks{0});
    s.Request(1, At(1ms));
    s.Request(2, At(2ms));
    s.Cancel(0, At(3ms));  // the holder's round closed: its window ends now
    EXPECT_FALSE(s.holding(0));
    EXPECT_FALSE(s.pending(0));
    s.Cancel(2, At(3ms));  // a waiting request withdrawn: it gets no turn
    EXPECT_FALSE(s.pending(2));
    ASSERT_EQ(Granted(&s, At(3ms)), Ranks{1});
    EXPECT_EQ(s.push_time(), 0ns) << "a cancelled window is not a push";
    s.Done(1, At(5ms));
    EXPECT_EQ(s.push_time(), 2ms);
    EXPECT_TRUE(s.Poll(At(5ms)).empty());
    EXPECT_EQ(s.NextEvent(), std::nullopt);
    s.Cancel(1, At(6ms));   // nothing to withdraw: no-op
    s.Request(2, At(7ms));  // cancelled is not dead: it may ask again
    ASSERT_EQ(Granted(&s, At(7ms)), Ranks{2});
  }
  WindowScheduler b(WindowSpec::Parse("burst"), 2, Pacing::kRounds);
  b.Request(0, At(0ms));
  ASSERT_EQ(Granted(&b, At(0ms)), Ranks{0});
  b.Cancel(0, At(1ms));
  EXPECT_FALSE(b.holding(0));
  EXPECT_EQ(b.NextEvent(), std::nullopt);
}

TEST(WindowScheduler, SlotsGrantInsideTheOwnSlotOnly) {
  // Period 10 ms, slots of 2 ms: worker i owns [10k + 2i, 10k + 2i + 2) ms.
  WindowScheduler s(WindowSpec::Parse("slots:period=10,slot=2"), 4);
  s.Request(1, At(13ms));  // inside its slot [12, 14): granted at once, until the slot end
  s.Request(2, At(13ms));  // its slot [14, 16) is next
  EXPECT_EQ(s.NextEvent(), At(13ms));
  std::vector<Grant> g = s.Poll(At(13ms));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].worker, 1u);
  EXPECT_EQ(g[0].deadline, At(14ms));
  s.Done(1, At(13500us));
  EXPECT_EQ(s.NextEvent(), At(14ms));
  g = s.Poll(At(14ms));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].worker, 2u);
  EXPECT_EQ(g[0].deadline, At(16ms));
  s.Request(0, At(15ms));
  // Worker 2 overruns its slot: revoked at 16, granted again in the next period's slot.
  g = s.Poll(At(16ms));
  EXPECT_TRUE(g.empty());
  EXPECT_TRUE(s.pending(2));
  EXPECT_EQ(s.NextEvent(), At(20ms));  // worker 0's slot comes first
  ASSERT_EQ(Granted(&s, At(20ms)), Ranks{0});
  s.Done(0, At(21ms));
  EXPECT_EQ(s.NextEvent(), At(24ms));
  g = s.Poll(At(24ms));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].deadline, At(26ms));
  // A request exactly at the end of its slot waits for the next period's; a dead worker's
  // slot stays idle.
  WindowScheduler t(WindowSpec::Parse("slots:period=10,slot=2"), 4);
  t.Request(3, At(8ms));
  EXPECT_EQ(t.NextEvent(), At(16ms));
  EXPECT_TRUE(t.Poll(At(8ms)).empty());
  t.Remove(3, At(9ms));
  EXPECT_EQ(t.NextEvent(), std::nullopt);
}

TEST(WindowScheduler, TopologyRacksTakeTurnsInParallel) {
  WindowScheduler s(WindowSpec::Parse("topology:racks=2"), 4);  // {0, 1} and {2, 3}
  for (uint32_t w = 0; w < 4; ++w) s.Request(w, At(0ms));
  std::vector<Grant> g = s.Poll(At(0ms));  // one per rack, no warm-up
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].worker, 0u);
  EXPECT_EQ(g[1].worker, 2u);
  EXPECT_EQ(g[0].deadline, At(10ms));  // min-window until T_iter is known
  s.Done(0, At(1ms));
  g = s.Poll(At(1ms));  // gap 0: the turn passes as the window ends
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].worker, 1u);
  g = s.Poll(At(10ms));  // 2 revoked, 3 granted; 1 still holds
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].worker, 3u);
  EXPECT_TRUE(s.holding(1));
}

TEST(WindowScheduler, OutOfRangeWorkerThrows) {
  WindowScheduler s(WindowSpec::Parse("round-robin"), 3);
  try {
    s.Request(3, At(0ms));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("worker 3 out of range; ranks are 0..2"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(s.Done(7, At(0ms)), Error);
  EXPECT_THROW(s.Remove(3, At(0ms)), Error);
}

// ---------------------------------------------------------------------------------------------
// WindowGate

// Checked by control_message_fuzz: a grant's window_ns comes from the network, and arrival +
// window_ns overflowed (a deadline before the arrival: the window closed at once).
TEST(WindowGate, LocalDeadlineOfAGrantSaturatesInsteadOfOverflowing) {
  const TimePoint arrival{Duration(1'000'000'000'000)};
  EXPECT_EQ(LocalDeadline(arrival, 5'000'000), arrival + 5ms);
  EXPECT_EQ(LocalDeadline(arrival, 0), arrival);
  EXPECT_EQ(LocalDeadline(arrival, -1), TimePoint::max());
  EXPECT_EQ(LocalDeadline(arrival, INT64_MIN), TimePoint::max());
  EXPECT_EQ(LocalDeadline(arrival, INT64_MAX), TimePoint::max());
  EXPECT_EQ(LocalDeadline(TimePoint::max(), 1), TimePoint::max());
  EXPECT_EQ(LocalDeadline(arrival, INT64_MAX - 1'000'000'000'000), TimePoint(Duration(INT64_MAX)));
}

TEST(WindowGate, MayPostOnlyInsideTheWindow) {
  WindowGate gate;
  EXPECT_FALSE(gate.MayPost(At(0ms)));
  gate.OnRequest(At(0ms));
  EXPECT_FALSE(gate.MayPost(At(1ms)));
  gate.OnGrant(At(5ms), At(9ms));
  EXPECT_FALSE(gate.MayPost(At(4ms)));
  EXPECT_TRUE(gate.MayPost(At(5ms)));
  EXPECT_TRUE(gate.MayPost(At(8999us)));
  EXPECT_FALSE(gate.MayPost(At(9ms)));  // the deadline is outside
  gate.OnGrant(At(12ms), At(20ms));
  EXPECT_TRUE(gate.MayPost(At(12ms)));
  gate.OnDone(At(13ms));
  EXPECT_FALSE(gate.MayPost(At(13ms)));
  gate.OnGrant(At(30ms), kNever);  // burst: open until done
  EXPECT_TRUE(gate.MayPost(At(1h)));
  gate.OnDone(At(2h));
  EXPECT_FALSE(gate.MayPost(At(2h)));
}

TEST(WindowGate, CountsWaitingAndHolding) {
  WindowGate gate;
  gate.OnRequest(At(0ms));
  gate.OnGrant(At(5ms), At(9ms));    // waited 5
  gate.OnGrant(At(12ms), At(20ms));  // held 4 (ran out at 9), waited 3 more
  gate.OnDone(At(13ms));             // held 1
  EXPECT_EQ(gate.waited(), 8ms);
  EXPECT_EQ(gate.held(), 5ms);
  EXPECT_EQ(gate.expired(), 1u);
  gate.OnRequest(At(20ms));
  gate.OnGrant(At(20ms), kNever);    // a warm-up window...
  gate.OnGrant(At(25ms), At(30ms));  // ...bounded while open: still held
  gate.OnDone(At(40ms));             // ran out at 30
  EXPECT_EQ(gate.waited(), 8ms);
  EXPECT_EQ(gate.held(), 15ms);
  EXPECT_EQ(gate.expired(), 2u);
  EXPECT_EQ(gate.grants(), 4u);
}

// A coded push withdrawn before its grant came (the round closed): it waited until then, and
// the gate stays shut.
TEST(WindowGate, PushWithdrawnBeforeAGrantWaitedUntilThen) {
  WindowGate gate;
  gate.OnRequest(At(2ms));
  gate.OnDone(At(7ms));
  EXPECT_EQ(gate.waited(), 5ms);
  EXPECT_EQ(gate.held(), 0ms);
  EXPECT_EQ(gate.grants(), 0u);
  EXPECT_FALSE(gate.MayPost(At(7ms)));
  gate.OnDone(At(9ms));  // nothing asked: nothing counted
  EXPECT_EQ(gate.waited(), 5ms);
}

// ---------------------------------------------------------------------------------------------
// Property tests: an event-driven simulation on a fake clock. Workers think for a random
// time, request a window, move their push's bytes only while their WindowGate allows, and
// report Done when the bytes are through; some pushes are stuck (never move), some pushes
// need longer than a window, some workers die. Every window [start, end) is recorded.

struct SimConfig {
  std::string spec;
  uint32_t n = 4;
  uint64_t seed = 1;
  Duration horizon = 10s;
  Duration think_max = 100ms;  // between Done and the next Request, uniform in [0, max]
  Duration push_min = 1ms;     // link time a push needs, uniform in [min, max]
  Duration push_max = 60ms;
  double stuck = 0;                 // probability that a push never moves a byte
  uint32_t removals = 0;            // workers that die at a uniformly random time
  bool spare_worker0 = false;       // worker 0 never dies or sticks (it measures T_iter)
  std::optional<Duration> prewarm;  // T_iter fed before the start: rings from the first push
  // Set: a granted writer posts (and says so: Posted) within this time and moves bytes only
  // from then on; a stuck one never posts. Unset: writers move bytes at the grant, unsaid.
  std::optional<Duration> handoff_max;
  Duration handoff_min = Duration::zero();  // with handoff_max: posts in [min, max]
};

SimConfig Config(std::string spec, uint32_t n, uint64_t seed) {
  SimConfig c;
  c.spec = std::move(spec);
  c.n = n;
  c.seed = seed;
  return c;
}

struct Window {
  uint32_t worker;
  TimePoint start, end, deadline;
  bool finite;  // granted with a deadline (ring or slot), not open-ended
  std::optional<TimePoint> posted = std::nullopt;  // when its writer said it posted
};

struct GrantRecord {
  uint32_t worker;
  TimePoint at;
  bool finite;                // a ring or slot grant (not burst or round-robin's warm-up)
  Duration gap;               // the worker's ring gap when granted
  std::vector<bool> pending;  // live workers with a push and no window, just before the Poll
};

class Sim {
 public:
  explicit Sim(const SimConfig& c)
      : c_(c), sched_(WindowSpec::Parse(c.spec), c.n), rng_(c.seed), workers_(c.n) {
    if (c.prewarm) Warm(&sched_, *c.prewarm);
    std::vector<uint32_t> ranks;
    for (uint32_t w = c.spare_worker0 ? 1 : 0; w < c.n; ++w) ranks.push_back(w);
    std::shuffle(ranks.begin(), ranks.end(), rng_);
    for (uint32_t i = 0; i < c.removals && i < ranks.size(); ++i) {
      workers_[ranks[i]].remove_at = start_ + Uniform(0ns, c.horizon);
    }
    for (SimWorker& x : workers_) {
      x.ready_at = start_ + Uniform(0ns, c.think_max);
      x.iteration_start = start_;
    }
    const WindowSpec spec = sched_.spec();
    if (spec.kind == WindowKind::kTopology) {
      rack_of_ = spec.RackOf(c.n);
    } else {
      rack_of_.assign(c.n, 0);
    }
    NoteLimits();
  }

  void Run() {
    const TimePoint end = start_ + c_.horizon;
    int stuck_at_same_time = 0;
    while (!::testing::Test::HasFatalFailure()) {
      TimePoint t = end;
      if (const std::optional<TimePoint> e = sched_.NextEvent()) t = std::min(t, *e);
      for (SimWorker& x : workers_) {
        if (x.state == kThinking) t = std::min(t, x.ready_at);
        if (x.state == kHolding && Moving(x)) t = std::min(t, now_ + x.remaining);
        if (x.state == kHolding && x.post_at) t = std::min(t, *x.post_at);
        if (x.state != kDead && x.remove_at) t = std::min(t, *x.remove_at);
      }
      ASSERT_GE(t, now_);
      stuck_at_same_time = t == now_ ? stuck_at_same_time + 1 : 0;
      ASSERT_LT(stuck_at_same_time, 100) << "no progress at " << Ns(now_);
      for (SimWorker& x : workers_) {
        if (x.state == kHolding && Moving(x)) x.remaining -= t - now_;
      }
      now_ = t;
      if (now_ >= end) break;
      Step();
    }
    for (uint32_t w = 0; w < c_.n; ++w) {
      SimWorker& x = workers_[w];
      if (x.state == kHolding) windows_[x.window].end = std::min(windows_[x.window].deadline, end);
      if (x.state == kWaiting) {
        EXPECT_LE(end - x.waiting_since, StallBound(w)) << "worker " << w << " still waiting";
      }
    }
  }

  const std::vector<Window>& windows() const { return windows_; }
  const std::vector<GrantRecord>& grants() const { return grants_; }
  const std::vector<uint32_t>& rack_of() const { return rack_of_; }
  const WindowScheduler& sched() const { return sched_; }
  Duration max_wait() const { return max_wait_; }

 private:
  enum State { kThinking, kWaiting, kHolding, kDead };
  struct SimWorker {
    State state = kThinking;
    TimePoint ready_at;
    std::optional<TimePoint> remove_at;
    Duration remaining{};  // link time the current push still needs
    bool stuck = false;
    std::optional<TimePoint> post_at;  // handoff_max: when it posts in the window it holds
    bool posted = false;
    WindowGate gate;
    TimePoint waiting_since;
    size_t window = 0;  // index of the open window while holding
    TimePoint iteration_start;
    Duration blocked{};
  };

  Duration Uniform(Duration lo, Duration hi) {
    return Duration(std::uniform_int_distribution<int64_t>(lo.count(), hi.count())(rng_));
  }
  bool Moving(const SimWorker& x) const {
    return !x.stuck && x.gate.MayPost(now_) && (!c_.handoff_max || x.posted);
  }

  // Longest a live worker may wait for a grant: burst 0, slots one period, a ring of m
  // workers (m + 1)·(bound + 2·gap) with the largest gap and bound seen (see the header).
  Duration StallBound(uint32_t w) const {
    const WindowSpec& spec = sched_.spec();
    switch (spec.kind) {
      case WindowKind::kBurst:
        return 0ns;
      case WindowKind::kSlots:
        return spec.period();
      default:
        break;
    }
    const auto m = std::count(rack_of_.begin(), rack_of_.end(), rack_of_[w]);
    return (m + 1) * (max_bound_ + 2 * max_gap_);
  }
  void NoteLimits() {
    for (uint32_t w = 0; w < c_.n; ++w) {
      max_gap_ = std::max(max_gap_, sched_.gap(w));
      if (sched_.spec().kind != WindowKind::kBurst) {
        max_bound_ = std::max(max_bound_, sched_.window_bound(w));
      }
    }
  }

  void CloseWindow(SimWorker& x, TimePoint end) { windows_[x.window].end = end; }

  void Step() {
    for (uint32_t w = 0; w < c_.n; ++w) {
      SimWorker& x = workers_[w];
      if (x.state != kHolding || !x.post_at || *x.post_at > now_) continue;
      sched_.Posted(w, now_);
      windows_[x.window].posted = now_;
      x.posted = true;
      x.post_at.reset();
    }
    for (uint32_t w = 0; w < c_.n; ++w) {
      SimWorker& x = workers_[w];
      if (x.state != kHolding || x.stuck || x.remaining > 0ns) continue;
      sched_.Done(w, now_);
      x.gate.OnDone(now_);
      CloseWindow(x, now_);
      x.state = kThinking;
      x.ready_at = now_ + Uniform(0ns, c_.think_max);
      if (w == 0) {
        sched_.ObserveIteration(0, now_ - x.iteration_start, x.blocked);
        x.iteration_start = now_;
        x.blocked = 0ns;
      }
      NoteLimits();  // the gap and the push time both move the bound
    }
    for (uint32_t w = 0; w < c_.n; ++w) {
      SimWorker& x = workers_[w];
      if (x.state == kDead || !x.remove_at || *x.remove_at > now_) continue;
      sched_.Remove(w, now_);
      if (x.state == kHolding) CloseWindow(x, now_);
      x.state = kDead;
    }
    for (uint32_t w = 0; w < c_.n; ++w) {
      SimWorker& x = workers_[w];
      if (x.state != kThinking || x.ready_at > now_) continue;
      sched_.Request(w, now_);
      x.gate.OnRequest(now_);
      x.state = kWaiting;
      x.waiting_since = now_;
      x.remaining = Uniform(c_.push_min, c_.push_max);
      x.stuck = std::bernoulli_distribution(c_.stuck)(rng_) && !(w == 0 && c_.spare_worker0);
    }
    std::vector<bool> pending(c_.n);
    for (uint32_t w = 0; w < c_.n; ++w) {
      const SimWorker& x = workers_[w];
      pending[w] = x.state == kWaiting ||
                   (x.state == kHolding && windows_[x.window].deadline <= now_);  // revoked now
    }
    std::vector<bool> granted(c_.n);
    for (const Grant& g : sched_.Poll(now_)) {
      ASSERT_LT(g.worker, c_.n);
      ASSERT_EQ(g.start, now_);
      SimWorker& x = workers_[g.worker];
      ASSERT_NE(x.state, kDead) << "removed worker " << g.worker << " granted at " << Ns(now_);
      granted[g.worker] = true;
      if (x.state == kHolding) {
        Window& open = windows_[x.window];
        if (open.deadline > now_) {
          // Round-robin's end of warm-up: an open-ended window gets a deadline.
          EXPECT_EQ(open.deadline, kNever);
          open.deadline = g.deadline;
          x.gate.OnGrant(g.start, g.deadline);
          continue;
        }
        CloseWindow(x, open.deadline);  // revoked and granted again in the same Poll
        x.waiting_since = open.deadline;
      } else {
        ASSERT_EQ(x.state, kWaiting) << "grant without a request to " << g.worker;
      }
      const Duration wait = now_ - x.waiting_since;
      EXPECT_LE(wait, StallBound(g.worker)) << "worker " << g.worker << " at " << Ns(now_);
      max_wait_ = std::max(max_wait_, wait);
      x.blocked += wait;
      x.gate.OnGrant(g.start, g.deadline);
      ASSERT_TRUE(x.gate.MayPost(now_));
      x.state = kHolding;
      x.posted = false;
      x.post_at.reset();
      if (c_.handoff_max && !x.stuck) x.post_at = now_ + Uniform(c_.handoff_min, *c_.handoff_max);
      x.window = windows_.size();
      windows_.push_back({g.worker, now_, kNever, g.deadline, g.deadline != kNever});
      grants_.push_back({g.worker, now_, g.deadline != kNever, sched_.gap(g.worker), pending});
    }
    for (uint32_t w = 0; w < c_.n; ++w) {
      SimWorker& x = workers_[w];
      if (x.state == kHolding && !granted[w] && !sched_.holding(w)) {
        const TimePoint deadline = windows_[x.window].deadline;
        ASSERT_EQ(deadline, now_) << "worker " << w << " lost its window before its deadline";
        CloseWindow(x, deadline);
        x.state = kWaiting;
        x.waiting_since = deadline;
      }
      ASSERT_EQ(sched_.holding(w), x.state == kHolding) << "worker " << w << " at " << Ns(now_);
      ASSERT_EQ(sched_.pending(w), x.state == kWaiting || x.state == kHolding) << w;
    }
  }

  SimConfig c_;
  WindowScheduler sched_;
  std::mt19937_64 rng_;
  std::vector<SimWorker> workers_;
  std::vector<uint32_t> rack_of_;
  const TimePoint start_ = At(1h);
  TimePoint now_ = start_;
  std::vector<Window> windows_;
  std::vector<GrantRecord> grants_;
  Duration max_gap_{}, max_bound_{}, max_wait_{};
};

bool Overlap(const Window& a, const Window& b) { return a.start < b.end && b.start < a.end; }

std::string Show(const Window& w) {
  return "worker " + std::to_string(w.worker) + " [" + std::to_string(Ns(w.start)) + ", " +
         std::to_string(Ns(w.end)) + ")";
}

// Windows of the same rack never overlap (for round-robin: the rack is everyone, and only
// windows granted with a deadline count; warm-up windows may overlap each other but not them).
void ExpectNoOverlapWithinRacks(const Sim& sim) {
  const std::vector<Window>& ws = sim.windows();
  for (size_t i = 0; i < ws.size(); ++i) {
    for (size_t j = i + 1; j < ws.size(); ++j) {
      if (!ws[i].finite && !ws[j].finite) continue;
      if (sim.rack_of()[ws[i].worker] != sim.rack_of()[ws[j].worker]) continue;
      ASSERT_FALSE(Overlap(ws[i], ws[j])) << Show(ws[i]) << " and " << Show(ws[j]);
    }
  }
}

// Pipelined rings (sched/window_scheduler.h): a ring window is granted while another of its
// rack is open only once that one's writer posted, and never while two are open.
// Returns how many were granted so.
size_t ExpectOverlapOnlyAfterAPost(const Sim& sim) {
  const std::vector<Window>& ws = sim.windows();
  size_t early = 0;
  for (size_t j = 0; j < ws.size(); ++j) {
    if (!ws[j].finite) continue;
    size_t open = 0;
    for (size_t i = 0; i < ws.size(); ++i) {
      if (i == j || !ws[i].finite) continue;
      if (sim.rack_of()[ws[i].worker] != sim.rack_of()[ws[j].worker]) continue;
      if (!(ws[i].start < ws[j].start && ws[j].start < ws[i].end)) continue;
      ++open;
      EXPECT_TRUE(ws[i].posted && *ws[i].posted <= ws[j].start)
          << Show(ws[j]) << " granted while " << Show(ws[i]) << " had not posted";
    }
    EXPECT_LE(open, 1u) << Show(ws[j]) << " granted while two windows were open";
    early += open;
  }
  return early;
}

// Each ring's grants go round in rank order: between two consecutive grants of a ring, every
// member passed over was dead or had nothing to push at the moment of the later grant. And
// they are at least the gap (as it was at the earlier grant) apart.
void ExpectRingOrder(const Sim& sim, uint32_t n) {
  std::map<uint32_t, std::vector<uint32_t>> members;  // rack -> ranks, ascending
  for (uint32_t w = 0; w < n; ++w) members[sim.rack_of()[w]].push_back(w);
  std::map<uint32_t, uint32_t> previous;        // rack -> last granted rank
  std::map<uint32_t, const GrantRecord*> last;  // rack -> its last grant
  size_t checked = 0;
  for (const GrantRecord& g : sim.grants()) {
    if (!g.finite) continue;  // warm-up
    const uint32_t rack = sim.rack_of()[g.worker];
    const std::vector<uint32_t>& ring = members[rack];
    const size_t to = std::find(ring.begin(), ring.end(), g.worker) - ring.begin();
    auto prev = previous.find(rack);
    // The first grant of a ring starts from its lowest rank.
    size_t pos =
        prev == previous.end()
            ? 0
            : (std::find(ring.begin(), ring.end(), prev->second) - ring.begin() + 1) % ring.size();
    for (size_t steps = 0; pos != to && steps < ring.size(); ++steps) {
      EXPECT_FALSE(g.pending[ring[pos]])
          << "worker " << ring[pos] << " was waiting but skipped for " << g.worker << " at "
          << Ns(g.at);
      pos = (pos + 1) % ring.size();
    }
    if (last.count(rack)) {
      EXPECT_GE(g.at, last[rack]->at + last[rack]->gap)
          << "worker " << g.worker << " granted within a gap of worker " << last[rack]->worker;
    }
    last[rack] = &g;
    previous[rack] = g.worker;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

TEST(WindowProperty, BurstGrantsEveryRequestImmediately) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SimConfig c = Config("burst", 3 + static_cast<uint32_t>(seed % 7), seed);
    c.stuck = 0.02;  // a stuck burst push holds its (open-ended) window to the end
    c.removals = seed % 2;
    Sim sim(c);
    SCOPED_TRACE("seed " + std::to_string(seed));
    sim.Run();
    EXPECT_EQ(sim.max_wait(), 0ns);
    EXPECT_GT(sim.grants().size(), 10u);
    bool overlapped = false;  // the incast: windows do overlap under burst
    for (size_t i = 0; i + 1 < sim.windows().size() && !overlapped; ++i) {
      overlapped = Overlap(sim.windows()[i], sim.windows()[i + 1]);
    }
    EXPECT_TRUE(overlapped);
  }
}

TEST(WindowProperty, RoundRobinWindowsNeverOverlapAndGoInRankOrder) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 pick(seed);
    SimConfig c = Config("round-robin", 2 + static_cast<uint32_t>(pick() % 11), seed);
    c.prewarm = c.n * 12ms;  // gap 10 ms, bound 40 ms; then T_iter follows worker 0
    c.push_max = 60ms;       // some pushes outlast the 40 ms bound: revoked, granted again
    c.stuck = seed % 3 == 0 ? 0.05 : 0;
    c.removals = static_cast<uint32_t>(pick() % 3);
    Sim sim(c);
    SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(c.n) + " workers");
    sim.Run();
    ExpectNoOverlapWithinRacks(sim);
    ExpectRingOrder(sim, c.n);
    EXPECT_GT(sim.grants().size(), 30u);
    if (c.push_max > sim.sched().window_bound()) {
      EXPECT_GT(sim.sched().revocations(), 0u);
    }
  }
}

TEST(WindowProperty, RoundRobinWarmsUpOnMeasuredIterationsThenGates) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SimConfig c = Config("round-robin:warmup=6", 3 + static_cast<uint32_t>(seed % 6), seed);
    c.removals = 2;
    c.spare_worker0 = true;
    c.push_max = 200ms;  // long warm-up pushes are still open when the rings start
    c.stuck = 0.05;      // and some never end: the rings must not wait for them forever
    Sim sim(c);
    SCOPED_TRACE("seed " + std::to_string(seed));
    sim.Run();
    ASSERT_TRUE(sim.sched().warmed_up());
    EXPECT_GT(sim.sched().gap(), 0ns);
    ExpectNoOverlapWithinRacks(sim);
    ExpectRingOrder(sim, c.n);
    const auto gated = std::count_if(sim.windows().begin(), sim.windows().end(),
                                     [](const Window& w) { return w.finite; });
    EXPECT_GT(gated, 10);
  }
}

TEST(WindowProperty, SlotsStayInsideTheirOwnSlots) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const uint32_t n = 2 + static_cast<uint32_t>(seed % 9);
    const std::string spec = "slots:period=" + std::to_string(5 * n + seed % 4) + ",slot=5";
    SimConfig c = Config(spec, n, seed);
    c.push_min = 500us;
    c.push_max = 12ms;  // some overrun a 5 ms slot
    c.stuck = 0.02;
    c.removals = seed % 3;
    Sim sim(c);
    SCOPED_TRACE(spec + ", seed " + std::to_string(seed));
    sim.Run();
    const Duration period = sim.sched().spec().period(), slot = sim.sched().spec().slot();
    for (const Window& w : sim.windows()) {
      const Duration phase = w.start.time_since_epoch() % period;
      const TimePoint slot_start = w.start - phase + slot * w.worker;
      ASSERT_GE(w.start, slot_start) << Show(w);
      ASSERT_LE(w.end, slot_start + slot) << Show(w);
      ASSERT_EQ(w.deadline, slot_start + slot) << Show(w);
    }
    ExpectNoOverlapWithinRacks(sim);  // one rack: globally
    EXPECT_GT(sim.sched().revocations(), 0u);
    EXPECT_LE(sim.max_wait(), period);
  }
}

TEST(WindowProperty, TopologyOneWriterPerRackAndRacksOverlap) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 pick(seed);
    const uint32_t n = 4 + static_cast<uint32_t>(pick() % 9);
    std::string spec = "topology:racks=" + std::to_string(2 + pick() % 3);
    if (seed % 2 == 0) {  // explicit racks, labels in any order
      spec = "topology:rack-of=";
      for (uint32_t w = 0; w < n; ++w) {
        spec += (w ? "+" : "") + std::to_string(w < 2 ? 3 * w : pick() % 3 * 3);
      }
    }
    SimConfig c = Config(spec + ",warmup=5,min-window=30", n, seed);
    c.stuck = 0.03;
    c.removals = static_cast<uint32_t>(pick() % 3);
    Sim sim(c);
    SCOPED_TRACE(c.spec + ", seed " + std::to_string(seed));
    sim.Run();
    ExpectNoOverlapWithinRacks(sim);
    ExpectRingOrder(sim, n);
    Duration across{};  // time two racks were writing at once: the point of the policy
    const std::vector<Window>& ws = sim.windows();
    for (size_t i = 0; i < ws.size(); ++i) {
      for (size_t j = i + 1; j < ws.size(); ++j) {
        if (sim.rack_of()[ws[i].worker] == sim.rack_of()[ws[j].worker]) continue;
        across += std::max(std::min(ws[i].end, ws[j].end) - std::max(ws[i].start, ws[j].start),
                           Duration::zero());
      }
    }
    EXPECT_GT(across, 100ms);
  }
}

// A random pipelined ring job: 3-10 workers, round-robin (odd seeds) or topology with 1-3
// racks, warmed up, writers queueing (turns back to back, where leads matter), a stuck writer
// now and then (it never posts) and up to two deaths. The caller sets push and handoff times.
SimConfig PipelinedRingJob(uint64_t seed) {
  std::mt19937_64 pick(seed);
  const uint32_t n = 3 + static_cast<uint32_t>(pick() % 8);
  const std::string spec =
      seed % 2 ? "round-robin" : "topology:racks=" + std::to_string(1 + pick() % 3) + ",warmup=5";
  SimConfig c = Config(spec, n, seed);
  c.prewarm = n * 12ms;
  c.think_max = 5ms;
  c.stuck = seed % 3 == 0 ? 0.05 : 0;
  c.removals = static_cast<uint32_t>(pick() % 3);
  return c;
}

TEST(WindowProperty, PipelinedRingsOverlapOnlyAfterAPostAndTwoAtMost) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SimConfig c = PipelinedRingJob(seed);
    const uint32_t n = c.n;
    c.push_min = 5ms;
    c.handoff_max = 3ms;
    Sim sim(c);
    SCOPED_TRACE(c.spec + ", seed " + std::to_string(seed) + ", " + std::to_string(n) + " workers");
    sim.Run();
    ExpectRingOrder(sim, n);
    EXPECT_GT(ExpectOverlapOnlyAfterAPost(sim), 10u);  // the turns did pipeline
    EXPECT_GT(sim.sched().lead(), 0ns);
    EXPECT_LE(sim.sched().lead(), 3ms);  // a mean of handoffs drawn from [0, 3 ms]
  }
}

// Long trips: grants overlap open windows whether or not those posted, but never more than one
// per member and never closer than the gap; ring order holds, stuck and dying writers included,
// and the rings keep granting to the end.
TEST(WindowProperty, LongTripRingsKeepTheirOrderAndKeepGranting) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SimConfig c = PipelinedRingJob(seed);
    const uint32_t n = c.n;
    c.push_min = 2ms;
    c.push_max = 8ms;
    c.handoff_min = 15ms;  // longer than any transfer
    c.handoff_max = 25ms;
    c.spare_worker0 = true;
    Sim sim(c);
    SCOPED_TRACE(c.spec + ", seed " + std::to_string(seed) + ", " + std::to_string(n) + " workers");
    sim.Run();
    ExpectRingOrder(sim, n);
    size_t ahead_of_a_post = 0;  // grants while a window of the rack was open and unposted
    const std::vector<Window>& ws = sim.windows();
    TimePoint last_grant{};
    for (size_t j = 0; j < ws.size(); ++j) {
      if (!ws[j].finite) continue;
      last_grant = std::max(last_grant, ws[j].start);
      for (size_t i = 0; i < ws.size(); ++i) {
        if (i == j || !ws[i].finite) continue;
        if (sim.rack_of()[ws[i].worker] != sim.rack_of()[ws[j].worker]) continue;
        if (!(ws[i].start < ws[j].start && ws[j].start < ws[i].end)) continue;
        EXPECT_NE(ws[i].worker, ws[j].worker) << Show(ws[j]) << " overlaps its own window";
        if (!ws[i].posted || *ws[i].posted > ws[j].start) ++ahead_of_a_post;
      }
    }
    EXPECT_GT(ahead_of_a_post, 10u) << "grants went out ahead of the posts";
    EXPECT_GT(last_grant, At(1h) + 9s) << "the rings kept granting to the end";
  }
}

TEST(WindowProperty, DeadWorkersDoNotStallTheRing) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const uint32_t n = 6;
    SimConfig c = Config("round-robin", n, seed);
    c.prewarm = n * 12ms;
    c.removals = n - 1;  // all but one die, holders and owners included
    c.stuck = 0.1;
    Sim sim(c);
    SCOPED_TRACE("seed " + std::to_string(seed));
    sim.Run();
    ExpectNoOverlapWithinRacks(sim);
    ExpectRingOrder(sim, n);
    uint32_t survivor = 0;
    while (!sim.sched().live(survivor)) ++survivor;
    // The survivor keeps getting windows to the end.
    TimePoint last{};
    for (const GrantRecord& g : sim.grants()) {
      if (g.worker == survivor) last = std::max(last, g.at);
    }
    EXPECT_GT(last, At(1h) + 9500ms);
  }
}

}  // namespace
}  // namespace gw::sched
