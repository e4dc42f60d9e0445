// The completion queue's hand-off between the transport's I/O thread and the application
// thread (net/completion.h): a push wakes the waiter only when it sleeps, no wake-up is lost
// (a lost one would stall a ping-pong for a whole timeout), a spinning waiter keeps to its
// timeout, and a waiter that runs the device's I/O itself does so only while the I/O thread is
// parked, takes what arrives meanwhile, and always lets the I/O thread go again.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/clock.h"
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

// Bounces `rounds` numbered messages: send_ping(i) must make message i arrive on `ping`, where
// an echo thread takes it and calls send_pong(i), which must make it arrive on `pong`, where this
// thread takes it. Every wait allows 30 s. Returns the rounds answered in order.
uint64_t PingPong(CompletionQueue& ping, CompletionQueue& pong, uint64_t rounds,
                  const std::function<void(uint64_t)>& send_ping,
                  const std::function<void(uint64_t)>& send_pong) {
  std::thread echo([&] {
    std::vector<Completion> got;
    for (uint64_t i = 0; i < rounds; ++i) {
      got.clear();
      if (ping.Wait(got, 30s, 1) != 1) return;
      send_pong(got[0].wr_id);
    }
  });
  uint64_t answered = 0;
  std::vector<Completion> got;
  for (uint64_t i = 0; i < rounds; ++i) {
    send_ping(i);
    got.clear();
    if (pong.Wait(got, 30s, 1) != 1 || got[0].wr_id != i) break;
    ++answered;
  }
  echo.join();
  return answered;
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
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(PingPong(
                  ping, pong, kRounds, [&](uint64_t i) { ping.Push(Numbered(i)); },
                  [&](uint64_t i) { pong.Push(Numbered(i)); }),
              kRounds);
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

// A device's I/O in miniature: messages arrive on a "wire" and an I/O round (on the I/O thread,
// or on a waiter that drives) moves them into the queue; an idle round waits 50 us, as a poll
// with nothing to read would. It records rounds that ran at once on two threads.
class FakeIo final : public IoDriver {
 public:
  explicit FakeIo(CompletionQueue& cq) : cq_(cq) {
    cq_.SetDriver(this);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeIo() override {
    stop_ = true;
    thread_.join();
    cq_.SetDriver(nullptr);
  }
  FakeIo(const FakeIo&) = delete;
  FakeIo& operator=(const FakeIo&) = delete;

  void Arrive(uint64_t n) {
    std::lock_guard<std::mutex> lock(wire_mu_);
    wire_.push_back(n);
  }
  void ThrowOnNextWaiterRound() { throw_next_ = true; }
  bool overlapped() const { return overlapped_; }
  uint64_t io_thread_rounds() const { return io_thread_rounds_; }
  uint64_t waiter_rounds() const { return waiter_rounds_; }
  uint64_t delivered_by_waiter() const { return delivered_by_waiter_; }

  void AskIoToPark() override { park_asked_ = true; }
  bool RunIoOnce(std::chrono::steady_clock::time_point /*until*/) override {
    if (throw_next_.exchange(false)) throw std::runtime_error("the I/O failed");
    delivered_by_waiter_ += Round();
    ++waiter_rounds_;
    return true;
  }

 private:
  uint64_t Round() {
    if (in_round_.fetch_add(1) != 0) overlapped_ = true;
    std::deque<uint64_t> got;
    {
      std::lock_guard<std::mutex> lock(wire_mu_);
      got.swap(wire_);
    }
    for (uint64_t n : got) cq_.Push(Numbered(n));
    if (got.empty()) std::this_thread::sleep_for(50us);
    in_round_.fetch_sub(1);
    return got.size();
  }
  void Loop() {
    while (!stop_) {
      Round();
      ++io_thread_rounds_;
      if (park_asked_.exchange(false)) cq_.ParkIo();
    }
  }

  CompletionQueue& cq_;
  std::mutex wire_mu_;
  std::deque<uint64_t> wire_;
  std::atomic<bool> stop_{false}, park_asked_{false}, throw_next_{false}, overlapped_{false};
  std::atomic<int> in_round_{0};
  std::atomic<uint64_t> io_thread_rounds_{0}, waiter_rounds_{0}, delivered_by_waiter_{0};
  std::thread thread_;
};

// True once pred holds, false if it does not within 10 s.
template <typename Pred>
bool Eventually(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(CompletionQueueTest, AWaiterRunsTheIoItselfOnlyWhileTheIoThreadIsParked) {
  CompletionQueue cq;
  FakeIo io(cq);
  std::vector<Completion> out;
  // Nothing arrives: the waiter runs the I/O for its whole timeout, then lets the thread go.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cq.Wait(out, 200ms), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_EQ(cq.drives(), 1u);
  EXPECT_GT(io.waiter_rounds(), 0u);
  const uint64_t rounds = io.io_thread_rounds();
  EXPECT_TRUE(Eventually([&] { return io.io_thread_rounds() > rounds + 10; }))
      << "the I/O thread stayed parked after the waiter left";

  // Messages that arrive while the waiter waits are taken, in order, mostly by its own rounds.
  constexpr uint64_t kMessages = 300;
  std::thread wire([&] {
    for (uint64_t i = 0; i < kMessages; ++i) {
      std::this_thread::sleep_for(200us);
      io.Arrive(i);
    }
  });
  out.clear();
  while (out.size() < kMessages && cq.Wait(out, 10s) > 0) {
  }
  wire.join();
  ASSERT_EQ(out.size(), kMessages);
  for (uint64_t i = 0; i < kMessages; ++i) EXPECT_EQ(out[i].wr_id, i);
  EXPECT_GT(io.delivered_by_waiter(), 0u);
  EXPECT_FALSE(io.overlapped()) << "the waiter and the I/O thread ran the I/O at once";
  const uint64_t after = io.io_thread_rounds();
  EXPECT_TRUE(Eventually([&] { return io.io_thread_rounds() > after + 10; }));
}

// Nobody wakes a parked I/O thread when a drive ends (that wake fell on every message's path):
// it looks by itself, and ever less often while a waiter still drives, so a long drive costs it
// few wake-ups; it still runs again once the waiter has left.
TEST(CompletionQueueTest, AParkedIoThreadLooksLessOftenWhileAWaiterDrives) {
  CompletionQueue cq;
  FakeIo io(cq);
  std::vector<Completion> out;
  EXPECT_EQ(cq.Wait(out, 300ms), 0u);
  ASSERT_EQ(cq.drives(), 1u) << "the I/O thread never parked";
  // A look every kParkGrace (50 us) would be 6000; one a millisecond, about 300.
  EXPECT_GT(cq.park_looks(), 0u);
  EXPECT_LE(cq.park_looks(), 400u);
  const uint64_t rounds = io.io_thread_rounds();
  EXPECT_TRUE(Eventually([&] { return io.io_thread_rounds() > rounds + 10; }));
}

// The ping-pong above with both queues' waiters driving their I/O: the park hand-off loses no
// message and deadlocks nowhere.
TEST(CompletionQueueTest, APingPongOfDrivingWaitersLosesNothing) {
  CompletionQueue ping, pong;
  FakeIo ping_io(ping), pong_io(pong);
  constexpr uint64_t kRounds = 2000;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(PingPong(
                ping, pong, kRounds, [&](uint64_t i) { ping_io.Arrive(i); },
                [&](uint64_t i) { pong_io.Arrive(i); }),
            kRounds);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 25s);
  EXPECT_GT(ping.drives() + pong.drives(), 0u);
  EXPECT_FALSE(ping_io.overlapped());
  EXPECT_FALSE(pong_io.overlapped());
}

// I/O that throws on the waiter's thread reaches the waiter, and the I/O thread runs again.
TEST(CompletionQueueTest, IoThatThrowsOnTheWaiterLetsTheIoThreadGo) {
  CompletionQueue cq;
  FakeIo io(cq);
  io.ThrowOnNextWaiterRound();
  std::vector<Completion> out;
  EXPECT_THROW(cq.Wait(out, 10s), std::runtime_error);
  const uint64_t rounds = io.io_thread_rounds();
  EXPECT_TRUE(Eventually([&] { return io.io_thread_rounds() > rounds + 10; }));
  io.Arrive(5);
  ASSERT_EQ(cq.Wait(out, 10s), 1u);
  EXPECT_EQ(out[0].wr_id, 5u);
}

// A device without an I/O thread (net/sim): every waiter runs the I/O itself, with no park
// hand-shake, and the deadlines are the process clock's (here a clock that only the I/O moves,
// as a simulated one is): a wait ends when the clock passes its deadline, however little real
// time that took, and returns what the I/O queued.
class ManualClock final : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void SleepUntil(TimePoint t) override { now_ = std::max(now_, t); }

 private:
  TimePoint now_ = TimePoint(std::chrono::hours(1));
};

class ThreadlessIo final : public IoDriver {
 public:
  ThreadlessIo(CompletionQueue& cq, ManualClock& clock) : cq_(cq), clock_(clock) {}
  // The I/O delivers completion n on its n-th run from now (0: never).
  void DeliverOnRun(uint64_t n) { deliver_on_ = runs_ + n; }
  uint64_t runs() const { return runs_; }
  bool asked_to_park() const { return asked_to_park_; }

  void AskIoToPark() override { asked_to_park_ = true; }
  bool has_io_thread() const override { return false; }
  bool RunIoOnce(TimePoint until) override {
    ++runs_;
    if (runs_ == deliver_on_) {
      cq_.Push(Numbered(runs_));
      return true;
    }
    clock_.SleepUntil(std::min(until, clock_.Now() + 1ms));  // nothing came within 1 ms
    return true;
  }

 private:
  CompletionQueue& cq_;
  ManualClock& clock_;
  uint64_t runs_ = 0, deliver_on_ = 0;
  bool asked_to_park_ = false;
};

TEST(CompletionQueueTest, WaitersOfADeviceWithoutAnIoThreadRunItsIoOnTheProcessClock) {
  ManualClock clock;
  SetClock(&clock);
  CompletionQueue cq;
  ThreadlessIo io(cq, clock);
  cq.SetDriver(&io);
  std::vector<Completion> out;
  const auto real_start = std::chrono::steady_clock::now();
  const TimePoint start = clock.Now();
  EXPECT_EQ(cq.Wait(out, 10s), 0u);
  EXPECT_GE(clock.Now() - start, 10s) << "the wait lasted until the clock passed its deadline";
  EXPECT_EQ(io.runs(), 10000u) << "one run of the I/O per ms of the clock";
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 5s) << "none of it real time";
  io.DeliverOnRun(3);
  const uint64_t runs_before = io.runs();
  ASSERT_EQ(cq.Wait(out, 10s), 1u);
  EXPECT_EQ(out.back().wr_id, runs_before + 3);
  EXPECT_EQ(io.runs(), runs_before + 3) << "the wait ends with the run that queued something";
  EXPECT_EQ(cq.Wait(out, 0s), 0u) << "a zero timeout looks without running the I/O";
  EXPECT_EQ(io.runs(), runs_before + 3);
  EXPECT_FALSE(io.asked_to_park());
  SetClock(nullptr);
}

}  // namespace
}  // namespace gw
