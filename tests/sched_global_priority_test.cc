// The global-priority window policy (sched/global_priority_policy.cc): one window at a time
// (per rack, with racks), always to the waiting request with the lowest priority value (ties:
// longest waiting, then lowest rank), deadline max(window·push, min-window). Examples first, then a
// seeded simulation on a fake clock that checks every grant against the test's own record of who
// was waiting with what priority since when.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "base/error.h"
#include "sched/window_scheduler.h"
#include "sched/window_spec.h"

namespace gw::sched {
namespace {

using namespace std::chrono_literals;
using Grant = WindowScheduler::Grant;
using Ranks = std::vector<uint32_t>;

TimePoint At(Duration d) { return TimePoint{} + d; }

Ranks Granted(WindowScheduler* s, TimePoint t) {
  Ranks out;
  for (const Grant& g : s->Poll(t)) {
    EXPECT_EQ(g.start, t);
    out.push_back(g.worker);
  }
  return out;
}

WindowScheduler Make(uint32_t n, const std::string& keys = "") {
  return WindowScheduler(WindowSpec::Parse("global-priority" + keys), n);
}

TEST(GlobalPriority, GrantsTheLowestPriorityValueOneWindowAtATime) {
  WindowScheduler s = Make(4);
  s.Request(0, At(0ms), 5);
  s.Request(1, At(1ms), 2);
  s.Request(2, At(2ms), 7);
  ASSERT_EQ(Granted(&s, At(2ms)), Ranks{1});
  EXPECT_TRUE(s.Poll(At(3ms)).empty()) << "a second window while 1 holds one";
  EXPECT_EQ(s.NextEvent(), At(12ms));  // 1's deadline: min-window, no push time known yet
  s.Request(3, At(4ms), 1);            // more urgent than everybody waiting
  s.Done(1, At(5ms));
  EXPECT_EQ(s.NextEvent(), At(5ms)) << "the link is free and requests wait: no gap";
  ASSERT_EQ(Granted(&s, At(5ms)), Ranks{3});
  s.Done(3, At(6ms));
  ASSERT_EQ(Granted(&s, At(6ms)), Ranks{0});
  s.Done(0, At(7ms));
  ASSERT_EQ(Granted(&s, At(7ms)), Ranks{2});
  s.Done(2, At(8ms));
  EXPECT_TRUE(s.Poll(At(8ms)).empty());
  EXPECT_EQ(s.NextEvent(), std::nullopt);
}

TEST(GlobalPriority, WithRacksEachRackUplinkHasItsOwnWindow) {
  WindowScheduler s = Make(4, ":racks=2");  // {0, 1} and {2, 3}
  s.Request(0, At(0ms), 5);
  s.Request(1, At(1ms), 2);
  s.Request(3, At(2ms), 9);
  ASSERT_EQ(Granted(&s, At(2ms)), (Ranks{1, 3})) << "each rack's most urgent, side by side";
  s.Request(2, At(3ms), 0);
  EXPECT_TRUE(s.Poll(At(3ms)).empty()) << "3 holds rack 1's window";
  s.Done(1, At(4ms));
  ASSERT_EQ(Granted(&s, At(4ms)), Ranks{0}) << "rack 0 is free; 2's urgency is rack 1's";
  s.Done(3, At(5ms));
  ASSERT_EQ(Granted(&s, At(5ms)), Ranks{2});
  WindowScheduler by_list = Make(4, ":rack-of=7+3+7+3");
  by_list.Request(0, At(0ms), 1);
  by_list.Request(2, At(0ms), 0);
  by_list.Request(1, At(0ms), 4);
  EXPECT_EQ(Granted(&by_list, At(0ms)), (Ranks{1, 2}));
}

TEST(GlobalPriority, GrantsOnePartitionAtATimeAndNamesItsRacksInItsText) {
  const WindowSpec spec = WindowSpec::Parse("global-priority:racks=2");
  EXPECT_TRUE(spec.grants_parts());
  EXPECT_EQ(spec.ToString(), "global-priority:window=4,min-window=10,racks=2");
  EXPECT_EQ(WindowSpec::Parse("global-priority").ToString(),
            "global-priority:window=4,min-window=10");
  EXPECT_FALSE(WindowSpec::Parse("topology:racks=2").grants_parts());
  EXPECT_FALSE(WindowSpec::Parse("round-robin").grants_parts());
  EXPECT_THROW(WindowSpec::Parse("global-priority:racks=3").Validate(2), Error);
  EXPECT_THROW(WindowSpec::Parse("global-priority:rack-of=0+1").Validate(3), Error);
  EXPECT_THROW(WindowSpec::Parse("global-priority:racks=2,rack-of=0+1"), Error);
  EXPECT_THROW(WindowSpec::Parse("global-priority:racks=0"), Error);
}

TEST(GlobalPriority, TiesGoToTheLongestWaitingThenTheLowestRank) {
  WindowScheduler s = Make(4);
  s.Request(3, At(0ms), 4);
  ASSERT_EQ(Granted(&s, At(0ms)), Ranks{3});
  s.Request(2, At(1ms), 4);
  s.Request(1, At(2ms), 4);
  s.Request(0, At(2ms), 4);
  s.Done(3, At(3ms));
  ASSERT_EQ(Granted(&s, At(3ms)), Ranks{2});  // asked first
  s.Done(2, At(4ms));
  ASSERT_EQ(Granted(&s, At(4ms)), Ranks{0});  // asked with 1, lower rank
  s.Done(0, At(5ms));
  ASSERT_EQ(Granted(&s, At(5ms)), Ranks{1});
}

TEST(GlobalPriority, AWaitingRequestTakesAMoreUrgentPriorityButNeverALessUrgentOne) {
  WindowScheduler s = Make(3);
  s.Request(2, At(0ms), 0);
  ASSERT_EQ(Granted(&s, At(0ms)), Ranks{2});
  s.Request(0, At(1ms), 6);
  s.Request(1, At(2ms), 3);
  s.Request(0, At(3ms), 1);  // a more urgent tensor joined 0's push
  s.Request(1, At(3ms), 9);  // a less urgent one joined 1's: its request keeps 3
  s.Request(2, At(3ms), 9);  // the holder's: nothing changes
  s.Done(2, At(4ms));
  ASSERT_EQ(Granted(&s, At(4ms)), Ranks{0});
  s.Request(2, At(5ms), 3);  // equal to 1's, but 1 has waited longer
  s.Done(0, At(6ms));
  ASSERT_EQ(Granted(&s, At(6ms)), Ranks{1});
}

TEST(GlobalPriority, DeadlineIsTheRingBoundWithoutAGap) {
  WindowScheduler s = Make(2, ":window=4,min-window=10");
  s.Request(0, At(0ms), 0);
  const std::vector<Grant> first = s.Poll(At(0ms));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].deadline, At(10ms));  // min-window until a push time is known
  s.Done(0, At(30ms));                     // after the deadline passed unpolled: a 30 ms push
  EXPECT_EQ(s.push_time(), 30ms);
  EXPECT_EQ(s.window_bound(), 120ms);
  // T_iter is known now (5 skipped iterations, then 5 of 1 s each), yet no gap appears and the
  // bound does not grow with it: the link passes as soon as it is free.
  for (int i = 0; i < 10; ++i) s.ObserveIteration(0, 1s, 0ms);
  ASSERT_TRUE(s.warmed_up());
  EXPECT_EQ(s.gap(), 0ns);
  EXPECT_EQ(s.window_bound(), 120ms);
  s.Request(1, At(31ms), 0);
  const std::vector<Grant> second = s.Poll(At(31ms));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].deadline, At(151ms));
}

TEST(GlobalPriority, RevokedHolderQueuesBehindEqualPrioritiesButAheadOfLessUrgent) {
  WindowScheduler s = Make(4, ":min-window=10");
  s.Request(0, At(0ms), 2);
  ASSERT_EQ(Granted(&s, At(0ms)), Ranks{0});
  s.Request(1, At(1ms), 2);
  s.Request(2, At(2ms), 5);
  ASSERT_EQ(Granted(&s, At(10ms)), Ranks{1});  // 0 revoked at its deadline; 1 asked before it
  EXPECT_TRUE(s.pending(0));
  EXPECT_EQ(s.revocations(), 1u);
  s.Done(1, At(11ms));
  ASSERT_EQ(Granted(&s, At(11ms)), Ranks{0});  // priority 2 still beats 2's 5
}

TEST(GlobalPriority, RemovedAndCancelledRequestsAreNotGranted) {
  WindowScheduler s = Make(3);
  s.Request(0, At(0ms), 1);
  s.Request(1, At(0ms), 0);
  s.Request(2, At(0ms), 2);
  s.Remove(1, At(1ms));
  s.Cancel(0, At(1ms));
  ASSERT_EQ(Granted(&s, At(1ms)), Ranks{2});
  s.Remove(2, At(2ms));  // the holder dies: the link is free at once
  s.Request(0, At(3ms), 1);
  ASSERT_EQ(Granted(&s, At(3ms)), Ranks{0});
}

// The priority changes nothing for the other policies: rounds stay first come, first served.
TEST(GlobalPriority, OtherPoliciesIgnoreThePriority) {
  WindowScheduler s(WindowSpec::Parse("round-robin:warmup=5"), 3, Pacing::kRounds);
  for (int i = 0; i < 5; ++i) s.ObserveRound(10ms);
  s.Request(2, At(0ms), 9);
  s.Request(1, At(1ms), 0);
  ASSERT_EQ(Granted(&s, At(1ms)), Ranks{2});
  WindowScheduler b(WindowSpec::Parse("burst"), 2);
  b.Request(1, At(0ms), 9);
  b.Request(0, At(0ms), 0);
  EXPECT_EQ(Granted(&b, At(0ms)), (Ranks{0, 1}));
}

// ---------------------------------------------------------------------------------------------
// Seeded simulation: workers think, request with a random priority (sometimes raising it to a
// more urgent one while they wait), push for a random link time while they hold a window (some
// pushes never move: revoked at the deadline, granted again), some workers die.

struct Config {
  uint32_t n = 4;
  uint32_t priorities = 4;  // each request's priority uniform in [0, priorities)
  uint64_t seed = 1;
  double stuck = 0;
  bool removals = false;
  uint32_t racks = 1;  // racks=R (consecutive ranks): one window at a time per rack
};

class Sim {
 public:
  explicit Sim(const Config& c)
      : c_(c),
        spec_(WindowSpec::Parse("global-priority:min-window=20" +
                                (c.racks > 1 ? ",racks=" + std::to_string(c.racks) : ""))),
        sched_(spec_, c.n),
        rack_of_(spec_.RackOf(c.n)),
        rng_(c.seed) {
    workers_.resize(c.n);
    for (Worker& x : workers_) {
      x.ready_at = now_ + Uniform(0ms, 30ms);
      x.passed_by.resize(c.n);
    }
    if (c.removals) workers_[rng_() % c.n].remove_at = now_ + Uniform(0ms, kHorizon);
  }

  void Run() {
    const TimePoint end = now_ + kHorizon;
    while (!::testing::Test::HasFatalFailure()) {
      TimePoint t = end;
      if (const std::optional<TimePoint> e = sched_.NextEvent()) t = std::min(t, *e);
      for (const Worker& x : workers_) {
        if (x.state == kThinking || x.state == kWaiting) t = std::min(t, x.ready_at);
        if (x.state == kHolding && !x.stuck) t = std::min(t, now_ + x.remaining);
        if (x.state != kDead && x.remove_at) t = std::min(t, *x.remove_at);
      }
      ASSERT_GE(t, now_);
      for (Worker& x : workers_) {
        if (x.state == kHolding && !x.stuck) x.remaining -= t - now_;
      }
      now_ = t;
      if (now_ >= end) break;
      Step();
    }
  }

  uint64_t grants() const { return grants_; }
  uint64_t overtakes() const { return overtakes_; }
  uint64_t parallel() const { return parallel_; }
  uint64_t revocations() const { return sched_.revocations(); }

 private:
  static constexpr Duration kHorizon = 20s;
  enum State { kThinking, kWaiting, kHolding, kDead };
  struct Worker {
    State state = kThinking;
    TimePoint ready_at;  // thinking: next request; waiting: next priority raise
    std::optional<TimePoint> remove_at;
    uint32_t priority = 0;
    TimePoint queued;
    Duration remaining{};
    bool stuck = false;
    TimePoint deadline;
    // Grants to each other worker of the same priority since this one queued with it.
    std::vector<uint32_t> passed_by;
  };

  Duration Uniform(Duration lo, Duration hi) {
    return Duration(std::uniform_int_distribution<int64_t>(lo.count(), hi.count())(rng_));
  }
  uint32_t Priority() { return static_cast<uint32_t>(rng_() % c_.priorities); }
  // x waits with this priority from `queued` on: grants ahead of it count afresh.
  static void Queue(Worker& x, uint32_t priority, TimePoint queued) {
    x.priority = priority;
    x.queued = queued;
    std::fill(x.passed_by.begin(), x.passed_by.end(), 0);
  }

  void Step() {
    for (uint32_t w = 0; w < c_.n; ++w) {
      Worker& x = workers_[w];
      if (x.state == kHolding && !x.stuck && x.remaining <= 0ns) {
        sched_.Done(w, now_);
        x.state = kThinking;
        x.ready_at = now_ + Uniform(0ms, 30ms);
      }
      if (x.state != kDead && x.remove_at && *x.remove_at <= now_) {
        sched_.Remove(w, now_);
        x.state = kDead;
      }
      if (x.state == kWaiting && x.ready_at <= now_) {  // a more (or less) urgent tensor joins
        const uint32_t p = Priority();
        sched_.Request(w, now_, p);
        if (p < x.priority) Queue(x, p, x.queued);
        x.ready_at = now_ + Uniform(1ms, 40ms);
      }
      if (x.state == kThinking && x.ready_at <= now_) {
        Queue(x, Priority(), now_);
        sched_.Request(w, now_, x.priority);
        x.state = kWaiting;
        x.remaining = Uniform(1ms, 30ms);
        x.stuck = std::bernoulli_distribution(c_.stuck)(rng_);
        x.ready_at = now_ + Uniform(1ms, 40ms);
      }
    }
    // Holders past their deadline are revoked by this Poll and queue again from the deadline.
    for (Worker& x : workers_) {
      if (x.state == kHolding && x.deadline <= now_) {
        x.state = kWaiting;
        Queue(x, x.priority, x.deadline);
        x.ready_at = now_ + Uniform(1ms, 40ms);
      }
    }
    // The test's own choice per rack: (priority, queued, rank), unless somebody there holds.
    std::vector<std::optional<uint32_t>> best(c_.racks);
    std::vector<bool> holds(c_.racks, false);
    for (uint32_t w = 0; w < c_.n; ++w) {
      const Worker& x = workers_[w];
      const uint32_t r = rack_of_[w];
      holds[r] = holds[r] || x.state == kHolding;
      if (x.state != kWaiting) continue;
      const Worker& b = workers_[best[r].value_or(w)];
      if (!best[r] || std::tie(x.priority, x.queued) < std::tie(b.priority, b.queued)) best[r] = w;
    }
    const std::vector<Grant> granted = sched_.Poll(now_);
    std::vector<uint32_t> granted_in(c_.racks, 0);
    for (const Grant& g : granted) ++granted_in[rack_of_[g.worker]];
    for (uint32_t r = 0; r < c_.racks; ++r) {
      SCOPED_TRACE("rack " + std::to_string(r));
      ASSERT_LE(granted_in[r], 1u) << "two windows granted at once";
      if (holds[r]) {
        ASSERT_EQ(granted_in[r], 0u) << "a window granted while another is open";
      } else {
        // Work-conserving: the link is never idle while somebody waits.
        ASSERT_EQ(granted_in[r], best[r] ? 1u : 0u);
      }
    }
    for (const Grant& g : granted) Granted(g, *best[rack_of_[g.worker]]);
  }

  void Granted(const Grant& g, uint32_t best) {
    ASSERT_EQ(g.worker, best) << "granted " << g.worker << " (priority "
                              << workers_[g.worker].priority << ") over " << best << " (priority "
                              << workers_[best].priority << ")";
    Worker& x = workers_[g.worker];
    EXPECT_EQ(g.deadline, now_ + sched_.window_bound(g.worker));
    // No starvation among equals: no worker is granted twice ahead of a waiting one of the
    // same priority in its rack.
    for (uint32_t w = 0; w < c_.n; ++w) {
      Worker& other = workers_[w];
      if (w == g.worker || other.state != kWaiting || rack_of_[w] != rack_of_[g.worker]) continue;
      if (other.priority == x.priority) {
        EXPECT_LE(++other.passed_by[g.worker], 1u)
            << "worker " << w << " passed over twice by " << g.worker;
      }
      overtakes_ += other.priority > x.priority;
    }
    x.state = kHolding;
    x.deadline = g.deadline;
    ++grants_;
    parallel_ += std::count_if(workers_.begin(), workers_.end(),
                               [](const Worker& y) { return y.state == kHolding; }) > 1;
  }

  Config c_;
  WindowSpec spec_;
  WindowScheduler sched_;
  std::vector<uint32_t> rack_of_;
  std::mt19937_64 rng_;
  std::vector<Worker> workers_;
  TimePoint now_ = At(1h);
  uint64_t grants_ = 0;
  uint64_t overtakes_ = 0;  // grants made while a less urgent request waited
  uint64_t parallel_ = 0;   // grants made while another rack's window was open
};

TEST(GlobalPriorityProperty, EveryGrantGoesToTheMostUrgentWaitingRequest) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Config c;
    c.seed = seed;
    c.n = 2 + static_cast<uint32_t>(seed % 9);
    c.priorities = 1 + static_cast<uint32_t>(seed % 5);
    c.stuck = seed % 3 == 0 ? 0.05 : 0;
    c.removals = seed % 4 == 0;
    c.racks = seed % 2 == 0 ? std::min<uint32_t>(c.n, 2 + seed % 3) : 1;
    SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(c.n) + " workers in " +
                 std::to_string(c.racks) + " racks, " + std::to_string(c.priorities) +
                 " priorities");
    Sim sim(c);
    sim.Run();
    EXPECT_GT(sim.grants(), 100u);
    // The runs exercise what is checked: more urgent requests do overtake waiting ones, stuck
    // pushes are revoked, and racks' windows do overlap.
    if (c.priorities > 1 && c.n > 2 * c.racks) {
      EXPECT_GT(sim.overtakes(), 0u);
    }
    if (c.racks > 1) {
      EXPECT_GT(sim.parallel(), 0u);
    }
    if (c.stuck > 0) {
      EXPECT_GT(sim.revocations(), 0u);
    }
  }
}

}  // namespace
}  // namespace gw::sched
