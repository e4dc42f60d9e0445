// A connection's receive budget (net/receive_budget.h): the transport stops reading a peer
// whose payloads the application still holds past the bound, and resumes exactly once when
// it has let go of half; a credit gives its bytes back once, however it is moved.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "net/receive_budget.h"

namespace gw {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

TEST(ReceiveBudgetTest, ReadingPausesPastTheBoundAndResumesOnceAtHalf) {
  int resumes = 0;
  auto budget = ReceiveBudget::Create([&] { ++resumes; });
  std::vector<ReceiveCredit> held;
  while (budget->held() <= ReceiveBudget::kMaxHeldBytes) {
    EXPECT_FALSE(budget->PauseIfOver());
    held.push_back(budget->Charge(kMiB));
  }
  EXPECT_EQ(budget->held(), ReceiveBudget::kMaxHeldBytes + kMiB);
  EXPECT_TRUE(budget->PauseIfOver());
  EXPECT_TRUE(budget->paused());
  // Letting go of bytes above half resumes nobody.
  while (budget->held() - kMiB > ReceiveBudget::kResumeBytes) {
    held.pop_back();
    EXPECT_EQ(resumes, 0) << "held " << budget->held();
  }
  held.pop_back();  // down to half
  EXPECT_EQ(budget->held(), ReceiveBudget::kResumeBytes);
  EXPECT_EQ(resumes, 1);
  EXPECT_FALSE(budget->paused());
  held.clear();
  EXPECT_EQ(resumes, 1) << "one resume per pause";
  EXPECT_EQ(budget->held(), 0u);
}

TEST(ReceiveBudgetTest, APauseTakenBackWhenTheBytesAreAlreadyDownNeedsNoResume) {
  int resumes = 0;
  auto budget = ReceiveBudget::Create([&] { ++resumes; });
  EXPECT_FALSE(budget->PauseIfOver()) << "nothing held";
  {
    ReceiveCredit c = budget->Charge(ReceiveBudget::kMaxHeldBytes);
    EXPECT_FALSE(budget->PauseIfOver()) << "at the bound, not past it";
  }
  EXPECT_EQ(budget->held(), 0u);
  EXPECT_EQ(resumes, 0) << "never paused";
}

TEST(ReceiveBudgetTest, ACreditGivesItsBytesBackOnceHoweverItIsMoved) {
  auto budget = ReceiveBudget::Create([] {});
  ReceiveCredit a = budget->Charge(100);
  ReceiveCredit b = std::move(a);
  EXPECT_EQ(budget->held(), 100u);
  // A moved-from credit is empty.
  EXPECT_EQ(a.bytes(), 0u);  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  ReceiveCredit c = budget->Charge(5);
  c = std::move(b);  // c's own 5 bytes go back, b's 100 move in
  EXPECT_EQ(budget->held(), 100u);
  std::vector<ReceiveCredit> v;
  v.push_back(std::move(c));
  v.reserve(64);  // moved again by the reallocation
  EXPECT_EQ(budget->held(), 100u);
  v.clear();
  EXPECT_EQ(budget->held(), 0u);
}

TEST(ReceiveBudgetTest, ADetachedBudgetResumesNobodyAndItsCreditsOutliveIt) {
  int resumes = 0;
  ReceiveCredit held;
  {
    auto budget = ReceiveBudget::Create([&] { ++resumes; });
    held = budget->Charge(ReceiveBudget::kMaxHeldBytes + 1);
    EXPECT_TRUE(budget->PauseIfOver());
    budget->Detach();  // the connection ended
  }
  held = ReceiveCredit();  // the last owner of the budget lets go
  EXPECT_EQ(resumes, 0);
}

// The I/O thread charges and pauses while the application thread lets go: every pause is
// followed by exactly one resume (a lost one would stop the connection for good), and the
// I/O thread reads on only while the budget allows.
TEST(ReceiveBudgetTest, NoResumeIsLostBetweenAReaderAndAReleasingThread) {
  std::atomic<int> resumes{0};
  std::atomic<bool> resumed{false};
  auto budget = ReceiveBudget::Create([&] {
    ++resumes;
    resumed.store(true);
  });
  constexpr int kMessages = 100000;
  constexpr size_t kBytes = 64 * 1024;
  std::mutex mu;
  std::vector<ReceiveCredit> queue;  // what the application has not taken yet
  std::atomic<bool> done{false};
  std::thread app([&] {
    std::vector<ReceiveCredit> taken;
    while (!done.load()) {
      {
        std::lock_guard<std::mutex> lock(mu);
        taken.swap(queue);
      }
      taken.clear();                                               // let go: may resume the reader
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // slower than the reader
    }
  });
  int pauses = 0;
  for (int i = 0; i < kMessages; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      queue.push_back(budget->Charge(kBytes));
    }
    if (budget->PauseIfOver()) {
      ++pauses;
      while (!resumed.exchange(false)) std::this_thread::yield();  // stuck here if lost
    }
    ASSERT_LE(budget->held(), ReceiveBudget::kMaxHeldBytes + kBytes);
  }
  done.store(true);
  app.join();
  queue.clear();
  EXPECT_GT(pauses, 0) << "the reader never outran the application: nothing was tested";
  EXPECT_EQ(resumes.load(), pauses);
  EXPECT_EQ(budget->held(), 0u);
}

}  // namespace
}  // namespace gw
