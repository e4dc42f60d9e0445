#include "ps/gated_push.h"

#include <algorithm>
#include <chrono>

#include "base/error.h"
#include "ps/imm.h"
#include "ps/messages.h"
#include "sched/push_order_registry.h"

namespace gw {
namespace {

double Seconds(sched::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void GatedPush::Begin(uint64_t id, uint64_t iteration) {
  if (!finished()) throw Error("internal: a new push began before the last one finished");
  id_ = id;
  iteration_ = iteration;
  cancelled_ = false;
  Clear();
  // Whole writes are the partitions: the layout already cut the model into parts.
  if (order_) queue_.emplace(sched::MakePushOrder(*order_), 0);
}

void GatedPush::Clear() {
  writes_.clear();
  posted_order_.clear();
  posted_ = done_ = 0;
  started_ = false;
  asked_ahead_ = false;
  held_since_.reset();
  held_ = sched::Duration::zero();
  asked_part_.reset();
  granted_part_ = false;
  notice_due_ = false;
}

void GatedPush::Add(std::span<const std::byte> src, uint64_t offset, uint32_t imm,
                    uint32_t priority) {
  Pending w;
  w.src = src;
  w.offset = offset;
  w.imm = imm;
  w.priority = priority;
  writes_.push_back(w);
}

void GatedPush::Ready(size_t index, sched::TimePoint now) {
  if (!queue_) throw Error("internal: Ready on a push that is not ordered");
  if (index >= writes_.size() || writes_[index].ready) {
    throw Error("internal: write " + std::to_string(index) + " of " +
                std::to_string(writes_.size()) + " made ready twice or does not exist");
  }
  Pending& w = writes_[index];
  w.ready = true;
  queue_->Ready({static_cast<uint32_t>(index), w.priority, w.src.size()});
  Pump(now);
}

void GatedPush::AskAhead(sched::Duration ready_in) {
  if (!gated() || gating_.per_part || queue_ || started_ || asked_ahead_ || writes_.empty()) {
    throw Error("internal: AskAhead is for a begun, unstarted, unordered whole-push gated push");
  }
  asked_ahead_ = true;
  // No gate_.OnRequest: the wait for a window counts from Start (computing is not waiting).
  gating_.ask(id_, 0, 0, std::max(ready_in, sched::Duration::zero()));
}

void GatedPush::Start(sched::TimePoint now) {
  started_ = true;
  ready_ = now;
  gate_at_start_ = gate_.waited();
  if (!gated()) {
    gate_.OnGrant(now, sched::TimePoint::max());
  } else if (asked_ahead_) {
    if (held_since_ && gate_.MayPost(now)) {
      held_ = now - *held_since_;  // the grant came first: its window is ours now
    } else {
      if (held_since_) {
        // The held window ran out while the gradient was still being computed: the server
        // revoked it and keeps the request; its next grant opens the gate again.
        ++missed_grants_;
        gate_.OnDone(now);
        notice_due_ = false;
      }
      gate_.OnRequest(now);
    }
    held_since_.reset();
  } else if (!gating_.per_part) {
    gate_.OnRequest(now);
    // Whole-push policies grant in their own order; the push is ready now.
    gating_.ask(id_, 0, 0, sched::Duration::zero());
  }
  Pump(now);
}

void GatedPush::OnGrant(uint64_t id, sched::TimePoint now, int64_t window_ns, uint32_t part_index) {
  if (!gated()) return;
  if (id != id_ || posted_ == writes_.size()) {
    ++stale_grants_;
    return;
  }
  if (gating_.per_part) {
    const bool renewal = granted_part_ && part_index == window_first_;
    if (!renewal && (part_index != posted_ || asked_part_ != posted_)) {
      ++stale_grants_;
      return;
    }
    if (!renewal) {
      granted_part_ = true;
      window_first_ = posted_;
      window_posted_bytes_ = 0;
    }
  }
  // The server's deadline is on its clock; ours starts when the grant arrives, so our
  // window ends later than the server's by the grant's one-way delay.
  gate_.OnGrant(now, sched::LocalDeadline(now, window_ns));
  notice_due_ = true;
  if (!started_) {
    held_since_ = now;  // asked ahead: held until Start (PostReady posts nothing before it)
    return;
  }
  held_ = sched::Duration::zero();
  Pump(now);
}

void GatedPush::OnWriteDone(uint64_t wr_id, sched::TimePoint now) {
  wr_id -= wr_base_;
  if (wr_id >= posted_ || wr_id < done_) {
    throw Error("internal: completion for write " + std::to_string(wr_id) + " of a push with " +
                std::to_string(posted_) + " posted, " + std::to_string(done_) + " done");
  }
  // Writes on one connection complete in order.
  const size_t index = posted_order_[done_++];
  const Pending& w = writes_[index];
  if (queue_) queue_->Done({static_cast<uint32_t>(index), w.priority, 0, w.src.size()});
  WriteRecord r;
  r.iteration = iteration_;
  r.server = server_;
  r.part = Imm::Decode(w.imm).part;
  r.bytes = w.src.size();
  r.gate_s = Seconds(w.gate_before);
  r.queued_s = std::max(0.0, Seconds(w.posted - ready_) - r.gate_s);
  r.wire_s = Seconds(now - w.posted);
  records_.push_back(r);
  if (finished()) {
    gate_.OnDone(now);
    return;
  }
  Pump(now);
}

void GatedPush::Cancel(sched::TimePoint now) {
  if (queue_) throw Error("internal: ordered pushes are not cancelled");
  if (posted_ == writes_.size()) return;  // everything is out: nothing to take back
  cancelled_ = true;
  writes_.resize(posted_);
  if (finished()) gate_.OnDone(now);  // else at the last posted write's completion
}

uint64_t GatedPush::bytes() const {
  uint64_t n = 0;
  for (const Pending& w : writes_) n += w.src.size();
  return n;
}

void GatedPush::Pump(sched::TimePoint now) {
  PostReady(now);
  if (!gating_.per_part) return;
  // Nothing ready is left for the window in use (what the order holds back for a completion
  // is still ready: the window waits for it).
  if (granted_part_ && !NextReadyPriority()) EndWindowUse(now);
  AskForPart(now);
}

void GatedPush::PostReady(sched::TimePoint now) {
  if (!started_) return;  // a grant asked ahead is held until the push is ready
  // A per-partition window's bytes bound what leaves after it ends; so the window's writes go
  // at once, not kMaxPosted or the order's in-flight limit at a time (a completion round trip
  // per small tensor would idle the link that the window reserves).
  const size_t limit = gated() && !gating_.per_part ? kMaxPosted : writes_.size();
  while (posted_ < writes_.size() && posted_ - done_ < limit && gate_.MayPost(now) &&
         (granted_part_ || !gating_.per_part)) {
    if (!queue_) {
      Post(posted_, now);
      continue;
    }
    const std::optional<sched::Partition> next = queue_->Next(gating_.per_part);
    if (!next) return;  // nothing ready, or the order holds the rest until a write is done
    Post(next->tensor, now);
  }
}

void GatedPush::Post(size_t index, sched::TimePoint now) {
  Pending& w = writes_[index];
  w.posted = now;
  w.gate_before = gate_.waited() - gate_at_start_;
  if (notice_due_) {
    notice_due_ = false;  // before the write: the notice goes ahead of its bytes
    if (gating_.posted)
      gating_.posted(id_, gating_.per_part ? static_cast<uint32_t>(window_first_) : 0, held_);
  }
  conn_->Write(w.src, dst_, w.offset, w.imm, wr_base_ + posted_);
  posted_order_.push_back(index);
  ++posted_;
  if (gating_.per_part) {
    window_posted_bytes_ += w.src.size();
    if (window_posted_bytes_ >= gating_.window_bytes) EndWindowUse(now);
  }
}

std::optional<uint32_t> GatedPush::NextReadyPriority() const {
  if (posted_ == writes_.size()) return std::nullopt;
  if (queue_) return queue_->next_priority();
  return writes_[posted_].priority;  // unordered: posted in index order, all ready
}

void GatedPush::EndWindowUse(sched::TimePoint now) {
  granted_part_ = false;
  gate_.OnDone(now);
  const std::optional<uint32_t> priority = NextReadyPriority();
  if (priority) {
    asked_part_ = posted_;
    asked_priority_ = *priority;
    gate_.OnRequest(now);
  }
  gating_.ask(id_, priority.value_or(WindowRequestMsg::kNoneReady), static_cast<uint32_t>(posted_),
              sched::Duration::zero());
}

void GatedPush::AskForPart(sched::TimePoint now) {
  if (!started_ || granted_part_) return;
  const std::optional<uint32_t> priority = NextReadyPriority();
  if (!priority) return;
  if (asked_part_ == posted_) {
    if (*priority >= asked_priority_) return;
  } else {
    asked_part_ = posted_;
    gate_.OnRequest(now);
  }
  asked_priority_ = *priority;
  gating_.ask(id_, *priority, static_cast<uint32_t>(posted_), sched::Duration::zero());
}

}  // namespace gw