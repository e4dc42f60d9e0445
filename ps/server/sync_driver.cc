#include "ps/server/sync_driver.h"

#include <utility>

#include "base/log.h"
#include "base/rate_limited_log.h"
#include "ps/imm.h"

namespace gw {

SyncDriver::SyncDriver(const JobConfig& job, uint32_t rank, const ModelLayout& layout,
                       std::vector<float> params, const std::optional<Checkpoint>& resumed,
                       Device& dev, PeerId self, SyncRule& rule, Members& members, WindowDesk& desk,
                       HeldSteps& held, Checkpointer& checkpointer)
    : job_(job),
      rank_(rank),
      layout_(layout),
      path_(job, std::move(params), SyncPath::SlotParts(layout, rank)),
      rule_(rule),
      members_(members),
      desk_(desk),
      held_(held),
      checkpointer_(checkpointer) {
  if (SyncPath::UpdatesPerPart(job, layout)) {
    const auto parts = static_cast<uint32_t>(layout.parts(rank).size());
    barrier_.emplace(job.num_workers, parts);
    held_.TrackParts(parts);
  }
  if (resumed) {
    path_.Restore(*resumed);
    rule_.ResumeBspAt(resumed->iteration);
  }
  dev.RegisterMemory(std::as_writable_bytes(path_.params()), self);
  if (path_.has_snapshots()) {
    for (uint32_t w = 0; w < job.num_workers; ++w) {
      dev.RegisterMemory(std::as_writable_bytes(path_.snapshot(w)), self);
    }
  }
  path_.SetSlots(members_.RegisterSlots(dev, layout.shard_size(rank)));
}

std::vector<HeldSteps::Step> SyncDriver::OnLanded(uint32_t w, const Completion& c) {
  std::vector<HeldSteps::Step> steps;
  const uint64_t expected = rule_.clock(w);
  const Imm imm = Imm::Decode(c.imm);
  const auto landing = path_.OnLanded(w, imm, c.offset, c.length, expected);
  if (landing == SyncPath::Landing::kDropped) {
    ++dropped_;
    WarnOfPeer("worker " + std::to_string(w),
               "dropped a late, duplicate or misplaced write (iteration tag " +
                   std::to_string(imm.iteration_tag) + ", part " + std::to_string(imm.part) + ", " +
                   std::to_string(c.length) + " bytes at " + std::to_string(c.offset) +
                   "; expected iteration " + std::to_string(expected) + ")");
    return steps;
  }
  bytes_in_ += c.length;
  members_.Send(desk_.OnPartLanded(w, GetClock().Now()));
  if (barrier_ && expected == rule_.bsp_iteration() &&
      barrier_->OnLanded(w, imm.part, rule_.num_live())) {
    HeldSteps::Step part;
    part.kind = HeldSteps::Step::Kind::kPartUpdate;
    part.part = imm.part;
    part.iteration = expected + 1;
    part.decision.apply = barrier_->from(imm.part);
    part.writes = true;  // the previous release's writes of this part
    barrier_->MarkApplied(imm.part);
    steps.push_back(std::move(part));
  }
  if (landing == SyncPath::Landing::kPartial) return steps;
  ++pushes_received_;
  // The link is free: the next window is granted before this update is applied.
  members_.Send(desk_.OnPushLanded(w, expected, GetClock().Now()));
  bool accepted = false;
  const auto decision = rule_.OnArrival(w, expected, &accepted);
  if (!accepted) {
    ++dropped_;
    path_.Forget(w);
    return steps;
  }
  steps.push_back(UpdateStep(decision));
  return steps;
}

SyncRule::Decision SyncDriver::OnWorkerGone(uint32_t w) {
  if (barrier_) barrier_->Forget(w);
  path_.Forget(w);
  return rule_.OnWorkerGone(w);
}

HeldSteps::Step SyncDriver::UpdateStep(const SyncRule::Decision& d) {
  HeldSteps::Step step;
  step.kind = HeldSteps::Step::Kind::kUpdate;
  step.decision = d;
  // The parameters being the source of writes still in flight, those finish first. With
  // snapshots they are not: one worker's slow link never holds back the others' updates.
  step.writes = !d.apply.empty() && !SyncPath::SendsFromSnapshots(job_);
  if (barrier_ && !d.apply.empty()) {
    // The barrier is over: each part was applied as it completed, but for those a lost worker
    // left (every live worker's push is whole: they come from d.apply). The next barrier's
    // writes can only land once this one's parameters went out, after this step.
    step.parts = barrier_->Unapplied();
    step.writes = !step.parts.empty();
    barrier_->Reset();
  }
  return step;
}

std::optional<HeldSteps::Step> SyncDriver::ReleaseStep(uint32_t w) const {
  if (!members_[w].live()) return std::nullopt;
  HeldSteps::Step step;
  step.kind = HeldSteps::Step::Kind::kRelease;
  step.worker = w;
  // With snapshots: w's previous parameters have landed (it pushed since), but their
  // completions may not have been counted yet: its snapshot is their source until they are.
  step.writes = SyncPath::SendsFromSnapshots(job_);
  step.only = w;
  return step;
}

std::vector<HeldSteps::Step> SyncDriver::Update(const SyncRule::Decision& d,
                                                std::span<const uint32_t> parts) {
  if (barrier_) {
    if (d.apply.empty()) return {};
    for (uint32_t p : parts) UpdatePart(p, d.apply, rule_.bsp_iteration());
    path_.EndBarrier(d, desk_.Rows());
    checkpointer_.AfterUpdate(path_.updates(), path_.params(), path_.optimizer().velocity());
    return {};  // every part went out as it was applied
  }
  path_.Apply(d, desk_.Rows());
  if (!d.apply.empty()) {
    checkpointer_.AfterUpdate(path_.updates(), path_.params(), path_.optimizer().velocity());
  }
  std::vector<HeldSteps::Step> releases;
  for (uint32_t w : d.release) {
    if (auto step = ReleaseStep(w)) releases.push_back(std::move(*step));
  }
  return releases;
}

void SyncDriver::WriteRelease(uint32_t w) {
  const Members::Member& m = members_[w];
  if (!m.live()) return;
  const auto source = std::as_bytes(path_.ReleaseSource(w));
  for (uint32_t p = 0; p < layout_.parts(rank_).size(); ++p) {
    WritePart(w, source, p, rule_.clock(w));
  }
}

void SyncDriver::UpdatePart(uint32_t part, std::span<const uint32_t> from, uint64_t iteration) {
  const Part& p = layout_.parts(rank_)[part];
  const size_t begin = p.begin - layout_.shard_begin(rank_);
  path_.ApplyPart(from, begin, p.size);
  const auto source = std::as_bytes(std::span<const float>(path_.params()));
  for (uint32_t w = 0; w < job_.num_workers; ++w) {
    if (members_[w].live()) WritePart(w, source, part, iteration);
  }
}

void SyncDriver::WritePart(uint32_t w, std::span<const std::byte> source, uint32_t p,
                           uint64_t iteration) {
  const Members::Member& m = members_[w];
  const Part& part = layout_.parts(rank_)[p];
  const size_t off = (part.begin - layout_.shard_begin(rank_)) * sizeof(float);
  m.conn->Write(source.subspan(off, part.size * sizeof(float)), m.params, off,
                Imm::Encode(iteration, p), p);
  held_.Posted(w, p);
}

ServerSummary SyncDriver::Tally() const {
  ServerSummary s;
  s.updates = path_.updates();
  s.pushes_received = pushes_received_;
  s.gradients_applied = path_.gradients_applied();
  s.rows_applied = path_.rows_applied();
  s.dropped_writes = dropped_;
  s.rejected_nonfinite = path_.rejected_nonfinite();
  s.rejected_tainted = path_.rejected_tainted();
  s.gradient_bytes_received = bytes_in_;
  return s;
}

}  // namespace gw
