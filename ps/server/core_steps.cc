// ServerCore: carrying out what the sync path and the coded rounds decide (updates, releases,
// feeding, closing rounds), through HeldSteps when the memory a step changes or sends is
// still the source of writes in flight, or being checkpointed.
#include <algorithm>

#include "base/log.h"
#include "ps/imm.h"
#include "ps/messages.h"
#include "ps/server/core.h"

namespace gw {
namespace {

// How long a held step waits for completions before the loop looks again: write completions
// wake it at once; a checkpoint write on its thread does not, so that is polled more often.
constexpr std::chrono::milliseconds kWritesPoll{50};
constexpr std::chrono::milliseconds kCheckpointPoll{1};

}  // namespace

void ServerCore::Apply(const SyncRule::Decision& d) {
  HeldSteps::Step step;
  step.kind = HeldSteps::Step::Kind::kUpdate;
  step.decision = d;
  // The parameters being the source of writes still in flight, those finish first. With
  // snapshots they are not: one worker's slow link never holds back the others' updates.
  step.writes = !d.apply.empty() && !SyncPath::SendsFromSnapshots(job_);
  WhenSettled(std::move(step));
}

void ServerCore::Update(const SyncRule::Decision& d) {
  sync_->Apply(d, desk_.Rows());
  if (!d.apply.empty()) {
    checkpointer_->AfterUpdate(sync_->updates(), sync_->params(), sync_->optimizer().velocity());
  }
  for (uint32_t w : d.release) Release(w);
}

void ServerCore::Release(uint32_t w) {
  const WorkerState& ws = workers_[w];
  if (!ws.joined || ws.done || ws.lost) return;
  HeldSteps::Step step;
  step.kind = HeldSteps::Step::Kind::kRelease;
  step.worker = w;
  // With snapshots: w's previous parameters have landed (it pushed since), but their
  // completions may not have been counted yet: its snapshot is their source until they are.
  step.writes = SyncPath::SendsFromSnapshots(job_);
  step.only = w;
  WhenSettled(std::move(step));
}

void ServerCore::WriteRelease(uint32_t w) {
  WorkerState& ws = workers_[w];
  if (!ws.joined || ws.done || ws.lost) return;
  const auto& parts = layout_.parts(opt_.rank);
  const size_t begin = layout_.shard_begin(opt_.rank);
  const auto bytes = std::as_bytes(sync_->ReleaseSource(w));
  for (uint32_t p = 0; p < parts.size(); ++p) {
    const size_t off = (parts[p].begin - begin) * sizeof(float);
    ws.conn->Write(bytes.subspan(off, parts[p].size * sizeof(float)), ws.params, off,
                   Imm::Encode(rule_.clock(w), p), p);
    held_.Posted(w);
  }
}

void ServerCore::StartRounds() {
  const auto actions = coded_->Start(GetClock().Now());
  if (!coded_->Possible()) Fail(coded_->spec() + " cannot decode with the workers that joined");
  Carry(actions);
}

void ServerCore::Carry(const CodedRounds::Actions& actions) {
  for (const auto& a : actions) {
    switch (a.kind) {
      case CodedRounds::Action::Kind::kFeed:
        Feed(a.worker);
        break;
      case CodedRounds::Action::Kind::kClosed:
        workers_[a.worker].conn->Send(static_cast<uint16_t>(MsgType::kClosed),
                                      Encode(RoundMsg{a.round}));
        break;
    }
  }
}

// Writes the current round's input (or, when finishing, the final model) into an idle
// worker's input region.
void ServerCore::Feed(uint32_t w) {
  WorkerState& ws = workers_[w];
  if (!ws.joined || ws.done || ws.lost) return;
  const auto feeding = coded_->Feed(w);
  if (!feeding) return;
  if (feeding->final) ws.conn->Send(static_cast<uint16_t>(MsgType::kFinal), {});
  const auto bytes = std::as_bytes(feeding->input);
  const size_t part_bytes = coded_->part_floats() * sizeof(float);
  for (size_t off = 0, p = 0; off < bytes.size(); off += part_bytes, ++p) {
    ws.conn->Write(bytes.subspan(off, std::min(part_bytes, bytes.size() - off)), ws.params, off,
                   Imm::Encode(feeding->round, static_cast<uint32_t>(p)), p);
    held_.Posted(w);
  }
}

void ServerCore::CloseRound(TimePoint since) {
  const auto closed = coded_->CloseRound(since);
  const auto now = GetClock().Now();
  last_progress_ = now;
  Send(desk_.OnRoundClosed(closed.duration, now));
  if (closed.failure) Fail(*closed.failure);
  Carry(closed.actions);
}

void ServerCore::WhenSettled(HeldSteps::Step step) {
  if (step.writes) held_.TakeWriteCompletions(&pending_);
  if (held_.RunsNow(step, checkpointer_->busy())) return Take(step);
  held_.Hold(std::move(step));
}

void ServerCore::Take(const HeldSteps::Step& step) {
  switch (step.kind) {
    case HeldSteps::Step::Kind::kUpdate:
      return Update(step.decision);
    case HeldSteps::Step::Kind::kRelease:
      return WriteRelease(step.worker);
    case HeldSteps::Step::Kind::kCloseRound:
      return CloseRound(step.since);
  }
}

void ServerCore::DriveHeld() {
  held_.TakeWriteCompletions(&pending_);
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
  held_.TakeWriteCompletions(&pending_);
  Send(desk_.PollIfDue(GetClock().Now()));  // a turn or deadline may pass while we wait
}

// Moves what the transport completed into pending_, waiting up to timeout for the first.
void ServerCore::Fetch(std::chrono::nanoseconds timeout) {
  fetched_.clear();
  dev_->cq().Wait(fetched_, timeout);
  for (auto& c : fetched_) pending_.push_back(std::move(c));
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
