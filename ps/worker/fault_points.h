// The worker's --inject-fault hooks (ps/fault.h), one object so the loops make one call per
// point and hold no fault state of their own. Every hook is a no-op unless the injected fault
// names that point (and its iteration): a run without --inject-fault never stops or dies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ps/fault.h"

namespace gw {

class FaultPoints {
 public:
  explicit FaultPoints(const InjectedFault& fault) : fault_(fault) {}

  // The plain push of iteration `it` is about to be posted: kill-before-push:I dies,
  // stop:I stops (every time iteration I is pushed, e.g. again after a reconnect).
  void BeforePush(uint64_t it) const;
  // While the plain push of `it` is awaited, after each batch of completions: `done` of
  // server 0's writes have finished. kill-mid-push:I dies once some (not all) are done.
  void MidPush(uint64_t it, size_t done) const;
  // The plain push of `it` finished on every server: kill-after-push:I dies, and so does a
  // kill-mid-push:I whose push finished within one batch of completions.
  void AfterPush(uint64_t it) const;
  // While iteration `it`'s parameters are awaited: `landed` of server 0's `parts` parts are
  // in. stop-mid-pull:I stops once some (not all) have landed, once per wait: the same
  // partial pull seen again after SIGCONT goes on.
  void MidPull(uint64_t it, size_t landed, size_t parts);
  // Iteration `it` is next: done-early:I says the worker ends here, as if it had finished
  // (the loop tells the servers it is done).
  bool EndsEarly(uint64_t it) const;
  // Iteration `it`'s gradient (coded: a message of round `it`) is about to be pushed:
  // nan-gradient:I fills it with NaN from iteration (round) I on.
  void Poison(uint64_t it, std::span<float> grad) const;
  // The worker reconnected and redoes iterations: a redone wait for iteration I's parameters
  // may stop again (each wait is a wait of its own).
  void OnReconnect() { pull_stopped_ = false; }
  // Coded jobs: message 0's push of `round` has `done` writes finished (`finished`: all).
  // stop:I stops once, in the middle of the first such push of round I or later.
  void MidMessagePush(uint64_t round, size_t done, bool finished);

 private:
  // The log says where, then SIGKILL (no cleanup: a crash, the OOM killer).
  [[noreturn]] static void Kill(const char* where, uint64_t it);

  const InjectedFault fault_;
  bool pull_stopped_ = false;   // stop-mid-pull fired in the current wait
  bool coded_stopped_ = false;  // the coded stop fired (once per run)
};

}  // namespace gw
