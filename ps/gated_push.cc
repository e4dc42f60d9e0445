#include "ps/gated_push.h"

#include <algorithm>
#include <chrono>

#include "base/error.h"
#include "ps/imm.h"

namespace gw {
namespace {

double Seconds(sched::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void GatedPush::Begin(uint64_t id, uint64_t iteration) {
  if (!finished()) throw Error("internal: a new push began before the last one finished");
  id_ = id;
  iteration_ = iteration;
  cancelled_ = false;
  writes_.clear();
  posted_ = done_ = 0;
}

void GatedPush::Add(std::span<const std::byte> src, uint64_t offset, uint32_t imm) {
  writes_.push_back({src, offset, imm, {}, {}});
}

void GatedPush::Start(sched::TimePoint now) {
  ready_ = now;
  gate_at_start_ = gate_.waited();
  if (!gated_) {
    gate_.OnGrant(now, sched::TimePoint::max());
  } else {
    gate_.OnRequest(now);
  }
  Pump(now);
}

void GatedPush::OnGrant(uint64_t id, sched::TimePoint now, int64_t window_ns) {
  if (!gated_ || id != id_ || posted_ == writes_.size()) return;
  // The server's deadline is on its clock; ours starts when the grant arrives, so our
  // window ends later than the server's by the grant's one-way delay.
  gate_.OnGrant(now, sched::LocalDeadline(now, window_ns));
  Pump(now);
}

void GatedPush::OnWriteDone(uint64_t wr_id, sched::TimePoint now) {
  wr_id -= wr_base_;
  if (wr_id >= posted_ || wr_id < done_) {
    throw Error("internal: completion for write " + std::to_string(wr_id) + " of a push with " +
                std::to_string(posted_) + " posted, " + std::to_string(done_) + " done");
  }
  // Writes on one connection complete in order.
  const Pending& w = writes_[done_++];
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
  const size_t limit = gated_ ? kMaxPosted : writes_.size();
  while (posted_ < writes_.size() && posted_ - done_ < limit && gate_.MayPost(now)) {
    Pending& w = writes_[posted_];
    w.posted = now;
    w.gate_before = gate_.waited() - gate_at_start_;
    conn_->Write(w.src, dst_, w.offset, w.imm, wr_base_ + posted_);
    ++posted_;
  }
}

}  // namespace gw
