// ServerCore: carrying out what the sync path and the coded rounds decide (updates, releases,
// feeding, closing rounds), and holding a step while the memory it changes or sends is still
// the source of writes in flight, or being checkpointed. The main loop drives held steps: no
// update runs a loop of its own.
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
  auto update = [this, d] {
    sync_->Apply(d, desk_.Rows());
    if (!d.apply.empty()) {
      checkpointer_->AfterUpdate(sync_->updates(), sync_->params(), sync_->optimizer().velocity());
    }
    for (uint32_t w : d.release) Release(w);
  };
  // The parameters being the source of writes still in flight, those finish first. With
  // snapshots they are not: one worker's slow link never holds back the others' updates.
  const bool waits = !d.apply.empty() && !SyncPath::SendsFromSnapshots(job_);
  WhenSettled(waits, std::nullopt, std::move(update));
}

void ServerCore::Release(uint32_t w) {
  auto release = [this, w] {
    WorkerState& ws = workers_[w];
    if (!ws.joined || ws.done || ws.lost) return;
    const auto& parts = layout_.parts(opt_.rank);
    const size_t begin = layout_.shard_begin(opt_.rank);
    const auto bytes = std::as_bytes(sync_->ReleaseSource(w));
    for (uint32_t p = 0; p < parts.size(); ++p) {
      const size_t off = (parts[p].begin - begin) * sizeof(float);
      ws.conn->Write(bytes.subspan(off, parts[p].size * sizeof(float)), ws.params, off,
                     Imm::Encode(rule_.clock(w), p), p);
      ++ws.writes_in_flight;
    }
  };
  // With snapshots: w's previous parameters have landed (it pushed since), but their
  // completions may not have been counted yet: its snapshot is their source until they are.
  const bool snapshots = SyncPath::SendsFromSnapshots(job_);
  const WorkerState& ws = workers_[w];
  if (!ws.joined || ws.done || ws.lost) return;
  WhenSettled(snapshots, w, std::move(release));
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
    ++ws.writes_in_flight;
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

void ServerCore::WhenSettled(bool writes, std::optional<uint32_t> only, std::function<void()> run) {
  HeldStep step;
  step.writes = writes;
  step.only = only;
  step.run = std::move(run);
  if (writes) TakeWriteCompletions();
  if (held_.empty() && Settled(step)) return step.run();
  held_.push_back(std::move(step));
}

bool ServerCore::InFlight(const HeldStep& step, uint32_t w) const {
  return step.writes && (!step.only || *step.only == w) && workers_[w].writes_in_flight > 0 &&
         !workers_[w].lost;
}

bool ServerCore::Settled(const HeldStep& step) const {
  for (uint32_t w = 0; w < job_.num_workers; ++w) {
    if (InFlight(step, w)) return false;
  }
  return !checkpointer_->busy();
}

void ServerCore::DriveHeld() {
  while (!held_.empty()) {
    HeldStep& front = held_.front();
    if (front.writes) TakeWriteCompletions();
    if (Settled(front)) {
      HeldStep step = std::move(front);
      held_.pop_front();
      // What it sets off goes before the steps held behind it, as if it had run at once.
      std::deque<HeldStep> behind;
      behind.swap(held_);
      step.run();
      for (auto& s : behind) held_.push_back(std::move(s));
      continue;
    }
    const auto now = GetClock().Now();
    if (!front.deadline) front.deadline = now + job_.timeout;
    if (now > *front.deadline) {
      front.deadline = TimePoint::max();  // the losses below settle its writes
      for (uint32_t w = 0; w < job_.num_workers; ++w) {
        if (!InFlight(front, w)) continue;
        workers_[w].conn->Abort("not reading its parameters");
        Lose(w, "did not take its parameters within " + Seconds(job_.timeout) +
                    " (stalled or stopped?)");
      }
      continue;
    }
    Fetch(checkpointer_->busy() ? kCheckpointPoll : kWritesPoll);
    TakeWriteCompletions();
    Send(desk_.PollIfDue(GetClock().Now()));  // a turn or deadline may pass while we wait
    return;
  }
}

// Moves what the transport completed into pending_, waiting up to timeout for the first.
void ServerCore::Fetch(std::chrono::nanoseconds timeout) {
  fetched_.clear();
  dev_->cq().Wait(fetched_, timeout);
  for (auto& c : fetched_) pending_.push_back(std::move(c));
}

// Counts off write completions among those fetched but not handled yet; others stay queued
// in order for the main loop.
void ServerCore::TakeWriteCompletions() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->kind == CompletionKind::kWriteDone && it->peer.role == Role::kWorker &&
        it->peer.rank < job_.num_workers) {
      auto& n = workers_[it->peer.rank].writes_in_flight;
      if (n > 0) --n;
      it = pending_.erase(it);
    } else {
      ++it;
    }
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
