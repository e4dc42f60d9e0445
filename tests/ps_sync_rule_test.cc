#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "base/error.h"
#include "ps/sync_rule.h"

namespace gw {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

SyncRule::Decision Arrive(SyncRule& rule, uint32_t w, uint64_t it) {
  bool accepted = false;
  SyncRule::Decision d = rule.OnArrival(w, it, &accepted);
  EXPECT_TRUE(accepted) << "worker " << w << " iteration " << it;
  return d;
}

void ExpectRejected(SyncRule& rule, uint32_t w, uint64_t it) {
  bool accepted = true;
  SyncRule::Decision d = rule.OnArrival(w, it, &accepted);
  EXPECT_FALSE(accepted) << "worker " << w << " iteration " << it;
  EXPECT_THAT(d.apply, IsEmpty());
  EXPECT_THAT(d.release, IsEmpty());
}

TEST(SyncSpec, ParsesValidForms) {
  EXPECT_EQ(SyncSpec::Parse("bsp").kind, SyncKind::kBsp);
  EXPECT_EQ(SyncSpec::Parse("asp").kind, SyncKind::kAsp);
  EXPECT_EQ(SyncSpec::Parse("ssp").kind, SyncKind::kSsp);
  EXPECT_EQ(SyncSpec::Parse("ssp").staleness, 1u);
  EXPECT_EQ(SyncSpec::Parse("ssp:0").staleness, 0u);
  EXPECT_EQ(SyncSpec::Parse("ssp:17").staleness, 17u);
  for (const char* text : {"bsp", "asp", "ssp:0", "ssp:5"}) {
    EXPECT_EQ(SyncSpec::Parse(text).ToString(), text);
  }
}

TEST(SyncSpec, RejectsBadText) {
  for (const char* text :
       {"", "BSP", "ssp:", "ssp:-1", "ssp:x", "ssp:1x", "ssp 2", "bsp:1", "ssp:99999999999"}) {
    try {
      SyncSpec::Parse(text);
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("ssp:N")) << text;
    }
  }
}

TEST(SyncRuleBsp, AppliesOnlyWhenAllLiveArrived) {
  SyncRule rule({SyncKind::kBsp, 0}, 3);
  for (uint64_t it = 0; it < 3; ++it) {
    EXPECT_EQ(rule.bsp_iteration(), it);
    auto d = Arrive(rule, 2, it);
    EXPECT_THAT(d.apply, IsEmpty());
    EXPECT_THAT(d.release, IsEmpty());
    ExpectRejected(rule, 2, it);      // duplicate
    ExpectRejected(rule, 2, it + 1);  // not released yet
    d = Arrive(rule, 0, it);
    EXPECT_THAT(d.apply, IsEmpty());
    d = Arrive(rule, 1, it);
    EXPECT_THAT(d.apply, ElementsAre(0, 1, 2));
    EXPECT_THAT(d.release, ElementsAre(0, 1, 2));
    ExpectRejected(rule, 1, it);  // late
    for (uint32_t w = 0; w < 3; ++w) EXPECT_EQ(rule.clock(w), it + 1);
  }
  EXPECT_EQ(rule.bsp_iteration(), 3u);
  ExpectRejected(rule, 3, 3);  // no such worker
}

TEST(SyncRuleBsp, DeathCompletesPendingBarrier) {
  SyncRule rule({SyncKind::kBsp, 0}, 3);
  Arrive(rule, 0, 0);
  Arrive(rule, 2, 0);
  auto d = rule.OnWorkerGone(1);
  EXPECT_THAT(d.apply, ElementsAre(0, 2));
  EXPECT_THAT(d.release, ElementsAre(0, 2));
  EXPECT_EQ(rule.bsp_iteration(), 1u);
  EXPECT_FALSE(rule.live(1));
  EXPECT_EQ(rule.num_live(), 2u);
  d = rule.OnWorkerGone(1);  // idempotent
  EXPECT_THAT(d.apply, IsEmpty());
  EXPECT_THAT(d.release, IsEmpty());
  ExpectRejected(rule, 1, 0);  // the dead don't push
  // Next iteration needs only the two live workers.
  Arrive(rule, 2, 1);
  d = Arrive(rule, 0, 1);
  EXPECT_THAT(d.apply, ElementsAre(0, 2));
  EXPECT_THAT(d.release, ElementsAre(0, 2));
}

TEST(SyncRuleBsp, DeathWithoutArrivalsCompletesNothing) {
  SyncRule rule({SyncKind::kBsp, 0}, 2);
  for (uint32_t w : {0u, 1u}) {
    auto d = rule.OnWorkerGone(w);
    EXPECT_THAT(d.apply, IsEmpty());
    EXPECT_THAT(d.release, IsEmpty());
    EXPECT_EQ(rule.bsp_iteration(), 0u);  // no empty update
  }
}

TEST(SyncRuleBsp, ArrivedThenDeadIsStillApplied) {
  SyncRule rule({SyncKind::kBsp, 0}, 3);
  Arrive(rule, 1, 0);
  EXPECT_THAT(rule.OnWorkerGone(1).apply, IsEmpty());  // 0 and 2 still owe iteration 0
  Arrive(rule, 0, 0);
  auto d = Arrive(rule, 2, 0);
  EXPECT_THAT(d.apply, ElementsAre(0, 1, 2));
  EXPECT_THAT(d.release, ElementsAre(0, 2));
}

TEST(SyncRuleBsp, LastWorkerGoneAppliesButReleasesNobody) {
  SyncRule rule({SyncKind::kBsp, 0}, 2);
  Arrive(rule, 0, 0);
  auto d = rule.OnWorkerGone(0);  // worker 1 still owes iteration 0
  EXPECT_THAT(d.apply, IsEmpty());
  d = rule.OnWorkerGone(1);
  EXPECT_THAT(d.apply, ElementsAre(0));
  EXPECT_THAT(d.release, IsEmpty());
  EXPECT_EQ(rule.num_live(), 0u);
  EXPECT_EQ(rule.min_live_clock(), 0u);
}

TEST(SyncRuleAsp, AppliesAndReleasesImmediately) {
  SyncRule rule({SyncKind::kAsp, 0}, 3);
  for (uint64_t it = 0; it < 5; ++it) {
    auto d = Arrive(rule, 1, it);
    EXPECT_THAT(d.apply, ElementsAre(1));
    EXPECT_THAT(d.release, ElementsAre(1));
  }
  ExpectRejected(rule, 1, 4);
  ExpectRejected(rule, 1, 6);
  EXPECT_EQ(rule.clock(1), 5u);
  EXPECT_EQ(rule.min_live_clock(), 0u);
  auto d = Arrive(rule, 0, 0);
  EXPECT_THAT(d.release, ElementsAre(0));
}

TEST(SyncRuleSsp, HoldsFastWorkerUntilSlowestCatchesUp) {
  SyncRule rule({SyncKind::kSsp, 1}, 3);
  auto d = Arrive(rule, 0, 0);  // clock 1, min 0
  EXPECT_THAT(d.apply, ElementsAre(0));
  EXPECT_THAT(d.release, ElementsAre(0));
  d = Arrive(rule, 0, 1);  // clock 2, min 0: waits
  EXPECT_THAT(d.apply, ElementsAre(0));
  EXPECT_THAT(d.release, IsEmpty());
  ExpectRejected(rule, 0, 2);  // not released
  d = Arrive(rule, 1, 0);      // min still 0 (worker 2)
  EXPECT_THAT(d.release, ElementsAre(1));
  d = Arrive(rule, 2, 0);  // min 1: worker 0 (clock 2) may go, and 2 itself
  EXPECT_THAT(d.apply, ElementsAre(2));
  EXPECT_THAT(d.release, ElementsAre(0, 2));
}

TEST(SyncRuleSsp, DeathOfSlowestReleasesOthers) {
  SyncRule rule({SyncKind::kSsp, 0}, 3);
  Arrive(rule, 0, 0);
  Arrive(rule, 1, 0);
  EXPECT_EQ(rule.min_live_clock(), 0u);
  auto d = rule.OnWorkerGone(2);
  EXPECT_THAT(d.apply, IsEmpty());
  EXPECT_THAT(d.release, ElementsAre(0, 1));
  EXPECT_EQ(rule.min_live_clock(), 1u);
  EXPECT_THAT(rule.OnWorkerGone(2).release, IsEmpty());
}

TEST(SyncRuleSsp, WaitingWorkerThatDiesIsNotReleased) {
  SyncRule rule({SyncKind::kSsp, 0}, 2);
  Arrive(rule, 0, 0);  // waits for 1
  EXPECT_THAT(rule.OnWorkerGone(0).release, IsEmpty());
  EXPECT_THAT(Arrive(rule, 1, 0).release, ElementsAre(1));
}

// Random schedules: a worker pushes only when released; workers leave when done, and some die
// early. Checks the staleness bound, exactly-once application and absence of deadlock.
void Simulate(SyncSpec spec, uint32_t n, uint64_t iterations, uint32_t seed) {
  SCOPED_TRACE(spec.ToString() + " n=" + std::to_string(n) + " seed=" + std::to_string(seed));
  const uint64_t bound = spec.kind == SyncKind::kSsp   ? spec.staleness
                         : spec.kind == SyncKind::kBsp ? 0
                                                       : UINT64_MAX;
  std::mt19937 rng(seed);
  SyncRule rule(spec, n);
  std::vector<bool> ready(n, true);
  std::vector<uint64_t> pushed(n, 0), applied(n, 0);
  auto handle = [&](const SyncRule::Decision& d) {
    for (uint32_t w : d.apply) {
      ++applied[w];
      ASSERT_LE(applied[w], pushed[w]) << "worker " << w << " applied twice";
    }
    for (uint32_t w : d.release) {
      ASSERT_TRUE(rule.live(w));
      ASSERT_FALSE(ready[w]) << "worker " << w << " released twice";
      ready[w] = true;
    }
  };
  while (true) {
    // Workers released after their last push leave (which may release more of them).
    for (bool left = true; left;) {
      left = false;
      for (uint32_t w = 0; w < n; ++w) {
        if (rule.live(w) && ready[w] && pushed[w] == iterations) {
          ASSERT_NO_FATAL_FAILURE(handle(rule.OnWorkerGone(w)));
          left = true;
        }
      }
    }
    std::vector<uint32_t> can_push;
    for (uint32_t w = 0; w < n; ++w) {
      if (!rule.live(w)) continue;
      if (ready[w]) {
        ASSERT_LE(rule.clock(w) - rule.min_live_clock(), bound) << "worker " << w;
        if (pushed[w] < iterations) can_push.push_back(w);
      } else if (spec.kind == SyncKind::kSsp) {
        ASSERT_GT(rule.clock(w) - rule.min_live_clock(), bound) << "worker " << w << " stuck";
      }
    }
    if (can_push.empty()) break;
    const uint32_t w = can_push[rng() % can_push.size()];
    if (rng() % 50 == 0) {  // dies before pushing
      ASSERT_NO_FATAL_FAILURE(handle(rule.OnWorkerGone(w)));
      continue;
    }
    ready[w] = false;
    bool accepted = false;
    const auto d = rule.OnArrival(w, pushed[w]++, &accepted);
    ASSERT_TRUE(accepted);
    ASSERT_NO_FATAL_FAILURE(handle(d));
  }
  for (uint32_t w = 0; w < n; ++w) {
    EXPECT_FALSE(rule.live(w)) << "worker " << w << " deadlocked at " << pushed[w];
    EXPECT_EQ(applied[w], pushed[w]) << "worker " << w;
  }
}

// R2SP: a BSP barrier per iteration during warm-up (aggregated), then each arrival applied on
// its own and its sender released, unless it runs N iterations ahead of the slowest.
TEST(SyncRuleR2sp, BspDuringWarmupThenOneUpdatePerArrival) {
  EXPECT_EQ(SyncSpec::Parse("r2sp").kind, SyncKind::kR2sp);
  EXPECT_EQ(SyncSpec::Parse("r2sp").ToString(), "r2sp");
  SyncRule rule(SyncSpec::Parse("r2sp"), 3, /*r2sp_warmup=*/2);
  for (uint64_t it = 0; it < 2; ++it) {
    EXPECT_THAT(Arrive(rule, 0, it).apply, IsEmpty());
    EXPECT_THAT(Arrive(rule, 2, it).apply, IsEmpty());
    const auto d = Arrive(rule, 1, it);
    EXPECT_TRUE(d.aggregate);
    EXPECT_THAT(d.apply, ElementsAre(0, 1, 2));
    EXPECT_THAT(d.release, ElementsAre(0, 1, 2));
  }
  // Warm-up over: one update per arrival, released at once.
  auto d = Arrive(rule, 2, 2);
  EXPECT_FALSE(d.aggregate);
  EXPECT_THAT(d.apply, ElementsAre(2));
  EXPECT_THAT(d.release, ElementsAre(2));
  // Staleness bound N = 3: worker 2 may run 3 iterations ahead of the slowest, not 4.
  Arrive(rule, 2, 3);
  d = Arrive(rule, 2, 4);  // clock 5 vs min 2: ahead by 3, released
  EXPECT_THAT(d.release, ElementsAre(2));
  d = Arrive(rule, 2, 5);  // clock 6: ahead by 4, held
  EXPECT_THAT(d.apply, ElementsAre(2));
  EXPECT_THAT(d.release, IsEmpty());
  Arrive(rule, 0, 2);
  d = Arrive(rule, 1, 2);  // min clock 3: worker 2 is 3 ahead again
  EXPECT_THAT(d.release, ElementsAre(1, 2));
}

TEST(SyncRuleR2sp, DeathDuringWarmupCompletesTheBarrier) {
  SyncRule rule(SyncSpec::Parse("r2sp"), 3, 5);
  Arrive(rule, 0, 0);
  Arrive(rule, 1, 0);
  const auto d = rule.OnWorkerGone(2);
  EXPECT_TRUE(d.aggregate);
  EXPECT_THAT(d.apply, ElementsAre(0, 1));
  EXPECT_THAT(d.release, ElementsAre(0, 1));
}

TEST(SyncRuleProperty, RandomSchedules) {
  for (uint32_t n : {1u, 2u, 3u, 5u, 8u}) {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      for (uint32_t s : {0u, 1u, 2u, 4u}) {
        ASSERT_NO_FATAL_FAILURE(Simulate({SyncKind::kSsp, s}, n, 30, seed));
      }
      ASSERT_NO_FATAL_FAILURE(Simulate({SyncKind::kBsp, 0}, n, 30, seed));
      ASSERT_NO_FATAL_FAILURE(Simulate({SyncKind::kAsp, 0}, n, 30, seed));
    }
  }
}

}  // namespace
}  // namespace gw
