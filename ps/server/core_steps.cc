// ServerCore: the steps the drivers return (updates, releases, closing rounds), held in
// HeldSteps while the memory a step changes or sends is still the source of writes in
// flight, or being checkpointed, and taken by the main loop once settled.
#include <algorithm>

#include "ps/server/core.h"

namespace gw {
namespace {

// How long a held step waits for completions before the loop looks again: write completions
// wake it at once; a checkpoint write on its thread does not, so that is polled more often.
constexpr std::chrono::milliseconds kWritesPoll{50};
constexpr std::chrono::milliseconds kCheckpointPoll{1};

}  // namespace

void ServerCore::WhenSettled(HeldSteps::Step step) {
  if (held_.RunsNow(step, checkpointer_->busy())) return Take(step);
  held_.Hold(std::move(step));
}

void ServerCore::Take(const HeldSteps::Step& step) {
  switch (step.kind) {
    case HeldSteps::Step::Kind::kUpdate: {
      auto releases = sync_->Update(step.decision, step.parts);
      CheckModelFinite();  // before its releases: a non-finite model is never sent as done
      for (auto& release : releases) WhenSettled(std::move(release));
      return;
    }
    case HeldSteps::Step::Kind::kPartUpdate:
      sync_->UpdatePart(step.part, step.decision.apply, step.iteration);
      return CheckModelFinite();
    case HeldSteps::Step::Kind::kRelease:
      return sync_->WriteRelease(step.worker);
    case HeldSteps::Step::Kind::kCloseRound: {
      const auto failure = coded_->CloseRound(step.since);
      last_progress_ = GetClock().Now();
      if (failure) Fail(*failure);
      return CheckModelFinite();
    }
  }
}

void ServerCore::CheckModelFinite() {
  const SgdMomentum& optimizer = coded_ ? coded_->rounds().optimizer() : sync_->path().optimizer();
  const auto& bad = optimizer.non_finite();
  if (!bad) return;
  // A corrupted model never ends the job as a success: the backstop behind the sum's check
  // (coded rounds refuse messages holding NaN or Inf; finite but huge values can still
  // overflow an update).
  Fail("the model is not finite after update " + std::to_string(bad->step + 1) + ": parameter " +
       std::to_string(layout_.shard_begin(opt_.rank) + bad->index) +
       " (a worker's gradient held NaN or Inf, or values large enough to overflow)");
}

void ServerCore::DriveHeld() {
  while (const auto step = held_.TakeSettled(checkpointer_->busy())) {
    Take(*step);
    held_.Ran();
  }
  if (held_.empty()) return;
  const auto overdue = held_.Overdue(GetClock().Now(), job_.timeout);
  for (uint32_t w : overdue) {
    workers_[w].conn->Abort("not reading its parameters");
    Lose(w,
         "did not take its parameters within " + Seconds(job_.timeout) + " (stalled or stopped?)");
  }
  if (!overdue.empty()) return;  // settled now: the loop takes it next
  Fetch(checkpointer_->busy() ? kCheckpointPoll : kWritesPoll);
  workers_.Send(desk_.PollIfDue(GetClock().Now()));  // a turn or deadline may pass while we wait
}

void ServerCore::Fetch(std::chrono::nanoseconds timeout) {
  fetched_.clear();
  dev_->cq().Wait(fetched_, timeout);
  for (auto& c : fetched_) {
    if (!held_.TakeIfWriteDone(c)) pending_.Push(std::move(c));
  }
  for (uint32_t w : pending_.TakeOverBound()) {
    const std::string why = "sent more than " + std::to_string(Inbound::kMaxBytesPerWorker >> 20) +
                            " MiB of messages and writes the server had not taken yet";
    pending_.Drop(w);
    if (workers_[w].conn) workers_[w].conn->Abort(why);
    Lose(w, why);
  }
}

// How long the main loop may sleep: until the windows' next event, at most 100 ms.
std::chrono::nanoseconds ServerCore::FetchTimeout() const {
  std::chrono::nanoseconds t = std::chrono::milliseconds(100);
  if (const auto next = desk_.NextEvent()) {
    t = std::clamp<std::chrono::nanoseconds>(*next - GetClock().Now(),
                                             std::chrono::nanoseconds::zero(), t);
  }
  return t;
}

}  // namespace gw
