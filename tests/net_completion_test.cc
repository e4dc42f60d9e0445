// The completion queue's hand-off between the transport's I/O thread and the application
// thread (net/completion.h): a push wakes the waiter only when it sleeps, no wake-up is lost
// (a lost one would stall a ping-pong for a whole timeout), and a spinning waiter keeps to its
// timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "net/completion.h"

namespace gw {
namespace {

using namespace std::chrono_literals;

Completion Numbered(uint64_t n) {
  Completion c;
  c.kind = CompletionKind::kControl;
  c.wr_id = n;
  return c;
}

TEST(CompletionQueueTest, PushesWithNobodyAsleepWakeNobody) {
  CompletionQueue cq;
  for (uint64_t i = 0; i < 100; ++i) cq.Push(Numbered(i));
  EXPECT_EQ(cq.wakeups(), 0u);
  std::vector<Completion> out;
  EXPECT_EQ(cq.Wait(out, 0ns, 64), 64u);
  EXPECT_EQ(cq.Poll(out, 64), 36u);
  ASSERT_EQ(out.size(), 100u);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(out[i].wr_id, i);
  EXPECT_EQ(cq.Wait(out, 1ms), 0u) << "empty: times out";
}

// Two threads bounce a message through two queues, each waiting with a 30 s timeout: a lost
// wake-up (a push that saw no sleeper while the waiter was about to sleep) would stall a round
// for the whole timeout, which the round's count catches. Sleeping and spinning waiters alike.
TEST(CompletionQueueTest, APingPongLosesNoWakeUp) {
  for (const std::chrono::nanoseconds spin : {0ns, std::chrono::nanoseconds(20us)}) {
    SCOPED_TRACE("spin " + std::to_string(spin.count()) + " ns");
    CompletionQueue ping(spin), pong(spin);
    constexpr uint64_t kRounds = 5000;
    std::thread echo([&] {
      std::vector<Completion> got;
      for (uint64_t i = 0; i < kRounds; ++i) {
        got.clear();
        if (ping.Wait(got, 30s, 1) != 1) return;
        pong.Push(Numbered(got[0].wr_id));
      }
    });
    uint64_t answered = 0;
    std::vector<Completion> got;
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < kRounds; ++i) {
      ping.Push(Numbered(i));
      got.clear();
      if (pong.Wait(got, 30s, 1) != 1 || got[0].wr_id != i) break;
      ++answered;
    }
    echo.join();
    EXPECT_EQ(answered, kRounds);
    // Generous: 5000 rounds take ~0.1-0.5 s here; a single lost wake-up alone would take 30 s.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 25s);
  }
}

// A spin longer than the timeout ends at the timeout, and a completion pushed while the waiter
// spins is taken without waking anyone.
TEST(CompletionQueueTest, ASpinningWaiterKeepsItsTimeoutAndNeedsNoWakeUp) {
  CompletionQueue cq(10s);
  EXPECT_EQ(cq.spin(), 10s);
  std::vector<Completion> out;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cq.Wait(out, 20ms), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "spun past its 20 ms timeout";
  std::thread pusher([&] {
    std::this_thread::sleep_for(50ms);
    cq.Push(Numbered(7));
  });
  EXPECT_EQ(cq.Wait(out, 30s), 1u);
  pusher.join();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].wr_id, 7u);
  EXPECT_EQ(cq.wakeups(), 0u) << "the waiter was spinning, not asleep, when it came";
}

}  // namespace
}  // namespace gw
