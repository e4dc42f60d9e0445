// The worker's --inject-fault hooks (ps/worker/fault_points.h): each fires only at its own
// point and iteration, kills with SIGKILL or stops with SIGSTOP as the fault says, and is a
// no-op without --inject-fault. The e2e fault tests check what the job does around them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "ps/fault.h"
#include "ps/worker/fault_points.h"

namespace gw {
namespace {

// Runs `body` in a child process. True if the child stopped (SIGSTOP) before returning from
// it; the child is then continued with SIGCONT, and `stopped_again` says whether it stopped
// again before it exited.
struct StopOutcome {
  bool stopped = false;
  bool stopped_again = false;
};

StopOutcome RunForStop(const std::function<void()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  StopOutcome out;
  int status = 0;
  waitpid(pid, &status, WUNTRACED);
  if (!WIFSTOPPED(status)) return out;
  out.stopped = true;
  kill(pid, SIGCONT);
  waitpid(pid, &status, WUNTRACED);
  if (WIFSTOPPED(status)) {
    out.stopped_again = true;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  return out;
}

TEST(FaultPoints, EveryHookIsANoOpWithoutAFault) {
  FaultPoints faults(InjectedFault::Parse("never"));
  for (uint64_t it = 0; it < 3; ++it) {
    faults.BeforePush(it);
    faults.MidPush(it, 1);
    faults.AfterPush(it);
    faults.MidPull(it, 1, 2);
    faults.MidMessagePush(it, 1, false);
  }
  SUCCEED();  // still alive and running
}

TEST(FaultPoints, HooksOfOtherPointsOrIterationsDoNothing) {
  FaultPoints kill_mid(InjectedFault::Parse("kill-mid-push:5"));
  kill_mid.BeforePush(5);
  kill_mid.MidPush(4, 1);
  kill_mid.MidPush(5, 0);  // no write done yet: not the middle
  kill_mid.AfterPush(4);
  kill_mid.MidPull(5, 1, 2);
  kill_mid.MidMessagePush(5, 1, false);
  FaultPoints stop_pull(InjectedFault::Parse("stop-mid-pull:2"));
  stop_pull.MidPull(1, 1, 2);
  stop_pull.MidPull(2, 0, 2);  // nothing landed yet
  stop_pull.MidPull(2, 2, 2);  // all landed
  stop_pull.BeforePush(2);
  SUCCEED();
}

TEST(FaultPointsDeathTest, KillPointsDieBySigkillAndSayWhere) {
  EXPECT_EXIT(FaultPoints(InjectedFault::Parse("kill-before-push:3")).BeforePush(3),
              ::testing::KilledBySignal(SIGKILL), "SIGKILL before its push of iteration 3");
  EXPECT_EXIT(FaultPoints(InjectedFault::Parse("kill-mid-push:4")).MidPush(4, 1),
              ::testing::KilledBySignal(SIGKILL),
              "SIGKILL in the middle of its push of iteration 4");
  EXPECT_EXIT(FaultPoints(InjectedFault::Parse("kill-after-push:5")).AfterPush(5),
              ::testing::KilledBySignal(SIGKILL), "SIGKILL after its push of iteration 5");
  // A mid-push kill whose push finished within one batch of completions dies after it.
  EXPECT_EXIT(FaultPoints(InjectedFault::Parse("kill-mid-push:6")).AfterPush(6),
              ::testing::KilledBySignal(SIGKILL), "SIGKILL after its push of iteration 6");
}

TEST(FaultPoints, StopBeforePushStopsEveryTimeItsIterationIsPushed) {
  const StopOutcome out = RunForStop([] {
    const FaultPoints faults(InjectedFault::Parse("stop:2"));
    faults.BeforePush(1);
    faults.BeforePush(2);
    faults.BeforePush(2);  // redone after a reconnect
  });
  EXPECT_TRUE(out.stopped);
  EXPECT_TRUE(out.stopped_again);
}

TEST(FaultPoints, StopMidPullStopsOnceInThePartialPull) {
  const StopOutcome out = RunForStop([] {
    FaultPoints faults(InjectedFault::Parse("stop-mid-pull:3"));
    faults.MidPull(3, 1, 4);
    faults.MidPull(3, 1, 4);  // the same partial pull, seen again after SIGCONT
  });
  EXPECT_TRUE(out.stopped);
  EXPECT_FALSE(out.stopped_again);
}

TEST(FaultPoints, StopMidPullStopsAgainInAPullRedoneAfterAReconnect) {
  const StopOutcome out = RunForStop([] {
    FaultPoints faults(InjectedFault::Parse("stop-mid-pull:3"));
    faults.MidPull(3, 1, 4);
    faults.OnReconnect();
    faults.MidPull(3, 2, 4);
  });
  EXPECT_TRUE(out.stopped);
  EXPECT_TRUE(out.stopped_again);
}

TEST(FaultPoints, CodedStopStopsOnceInTheFirstMessagePushFromItsRound) {
  const StopOutcome out = RunForStop([] {
    FaultPoints faults(InjectedFault::Parse("stop:4"));
    faults.MidMessagePush(3, 1, false);  // before round 4
    faults.MidMessagePush(4, 0, false);  // nothing written yet
    faults.MidMessagePush(4, 2, true);   // already out: round 4 got no chance
    faults.MidMessagePush(5, 1, false);  // the first after it: stops
    faults.MidMessagePush(6, 1, false);  // once only
  });
  EXPECT_TRUE(out.stopped);
  EXPECT_FALSE(out.stopped_again);
}

}  // namespace
}  // namespace gw
