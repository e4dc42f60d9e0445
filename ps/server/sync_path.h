// The uncoded server's update path: the shard's parameters and optimizer, the sum of a BSP
// barrier's gradient slots, and what each release sends (the parameters themselves, or under
// asynchronous rules a per-worker copy). It decides nothing (the SyncRule does) and writes on
// no connection: the core asks it to apply a decision and for a release's source, then posts
// the writes itself.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "ps/checkpoint.h"
#include "ps/imm.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/optimizer.h"
#include "ps/sync/registry.h"
#include "ps/sync_rule.h"

namespace gw {

class SyncPath {
 public:
  // Where one part of a push lands in a worker's slot, in bytes.
  struct SlotPart {
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  // Server `rank`'s parts of layout, as its workers write them into their slots.
  static std::vector<SlotPart> SlotParts(const ModelLayout& layout, uint32_t rank);

  // params: the shard's initial values; parts: the writes one push of it arrives in.
  SyncPath(const JobConfig& job, std::vector<float> params, std::vector<SlotPart> parts);

  // Asynchronous rules release workers one at a time while others' parameters are still on
  // the wire; each worker's writes then come from its own copy, so an update never waits for
  // a slow link. BSP releases everyone together and sends from the parameters (no copies).
  static bool SendsFromSnapshots(const JobConfig& job) {
    return !job.coding && !job.sync.rule().releases_together;
  }

  // Under BSP a layered model's (ps/layout.h: more than one segment) update is applied part
  // by part, each as soon as every worker's copy of it landed, and released at once (P3),
  // instead of once the whole barrier is in (ps/server/part_barrier.h). Flat models keep the
  // one update per barrier: their parts are not tensors of their own.
  static bool UpdatesPerPart(const JobConfig& job, const ModelLayout& layout) {
    return !job.coding && job.sync.rule().releases_together && layout.num_segments() > 1;
  }

  // The memory to register for writes: the parameters, and each worker's copy (if any).
  std::span<float> params() { return params_; }
  std::span<float> snapshot(uint32_t w) { return snapshots_.at(w); }
  // Whether releases are written from per-worker copies (SendsFromSnapshots, unless the
  // payloads are phantom: then from the parameters, whose bytes never travel anyway).
  bool has_snapshots() const { return !snapshots_.empty(); }
  // Every worker's gradient slot, once the sync driver registered them (valid for the server's
  // life).
  void SetSlots(std::vector<std::span<const float>> slots) { slots_ = std::move(slots); }

  // A write of [offset, offset + length) landed in worker w's slot; expected: the iteration
  // its push must be (its clock). It counts as part p of that push only if its tag names
  // that iteration and p, and it covers exactly part p, for the first time: a push is whole
  // when every part landed once. Any other write is dropped, and its bytes, which already
  // landed, must not count either: a write that overlaps a part of the push in progress that
  // already landed, or that lands while a whole push of w waits for its update, taints that
  // push, which is then dropped like a non-finite one (Rejected, kTainted). Writes of an
  // honest worker never do (its next push starts only once its parameters came back).
  enum class Landing { kDropped, kPartial, kWhole };
  Landing OnLanded(uint32_t w, const Imm& imm, uint64_t offset, uint64_t length, uint64_t expected);
  // The rule did not take w's whole push, or w is gone: nothing in its slot waits to be
  // applied any more, and its next write starts a push.
  void Forget(uint32_t w);
  // Steps the optimizer with the gradients of d.apply; rows[w] is the minibatch rows behind
  // worker w's gradient (weights it when updates are not aggregated).
  void Apply(const SyncRule::Decision& d, const std::vector<uint64_t>& rows);
  // UpdatesPerPart: the shard's floats [begin, begin + size) stepped with the sum of the
  // slots of `from` (their mean), at the barrier's learning rate. EndBarrier counts the
  // barrier's one optimizer step and the gradients of d.apply, once every part was applied.
  void ApplyPart(std::span<const uint32_t> from, size_t begin, size_t size);
  void EndBarrier(const SyncRule::Decision& d, const std::vector<uint64_t>& rows);
  // What worker w's release writes: the parameters now (copied into its snapshot when
  // SendsFromSnapshots: call only once its previous writes completed).
  std::span<const float> ReleaseSource(uint32_t w);

  void Restore(const Checkpoint& c);
  const SgdMomentum& optimizer() const { return *optimizer_; }
  uint64_t updates() const { return optimizer_->steps(); }
  uint64_t gradients_applied() const { return gradients_applied_; }
  uint64_t rows_applied() const { return rows_applied_; }

  // A push whose gradient holds NaN or Inf, or values so large that the sum could overflow
  // (aggregate.h's SumBound: 1e38 from one of four workers is), is dropped, as is a tainted
  // one (OnLanded): the update applies the others' mean (found from the sum, which is checked as it
  // is made: the clean path costs no extra pass). Under BSP per part (UpdatesPerPart) the
  // parts of it applied before its first bad part stay applied; the rest of it is not.
  // Each drop is handed to the core once, with how many of that worker's pushes in a row
  // were dropped (its policy: warn, and lose a worker that keeps sending them).
  enum class Why { kNonFinite, kTainted };
  struct Rejected {
    uint32_t worker;
    uint32_t in_a_row;
    Why why;
  };
  std::vector<Rejected> TakeRejected() { return std::exchange(newly_rejected_, {}); }
  uint64_t rejected_nonfinite() const { return rejected_nonfinite_; }
  uint64_t rejected_tainted() const { return rejected_tainted_; }

 private:
  const JobConfig& job_;
  // Phantom payloads (WorkloadSpec::phantom): no gradient's bytes arrived, so nothing is
  // summed, checked or stepped; the arithmetic's time is still spent.
  const bool phantom_;
  std::vector<float> params_, agg_;
  std::vector<std::vector<float>> snapshots_;  // SendsFromSnapshots: one per worker
  std::vector<std::span<const float>> slots_;
  std::vector<std::span<const float>> part_slots_;  // ApplyPart's, kept between calls
  const std::vector<SlotPart> parts_;
  std::vector<uint32_t> parts_landed_;  // per worker, of the push being received
  // [worker][part]: landed in that push (a part counts once: a repeat is dropped).
  std::vector<std::vector<uint8_t>> part_seen_;
  std::unique_ptr<SgdMomentum> optimizer_;
  // Sums the slots of `from` over [begin, begin + size) into agg_, leaving out pushes already
  // dropped and any whose values make the sum non-finite (dropped now). Returns the workers
  // summed (valid until the next call).
  const std::vector<uint32_t>& SumAccepted(std::span<const uint32_t> from, size_t begin,
                                           size_t size);
  void Reject(uint32_t w, Why why);
  // The simulated time of a pass over `floats` of shard memory (JobConfig's
  // aggregate_bytes_per_s; nothing in a real run). A sum of k gradients is k passes, an
  // optimizer step one more.
  void SpendArithmetic(size_t floats) const;
  // Whether [offset, offset + length) overlaps a part of w's push in progress that landed.
  bool OverlapsLanded(uint32_t w, uint64_t offset, uint64_t length) const;
  // An update of `apply` ended: counts the gradients (and rows) applied, clears the drops.
  void Settle(std::span<const uint32_t> apply, const std::vector<uint64_t>& rows);

  // Gradients the optimizer took and the minibatch rows behind them (the load test compares
  // them with the workers' pushes_sent).
  uint64_t gradients_applied_ = 0, rows_applied_ = 0;
  std::vector<uint32_t> summed_;          // SumAccepted's, reused
  std::vector<uint8_t> rejected_;         // per worker: its push of this update was dropped
  std::vector<uint8_t> holding_;          // per worker: a whole push waits for its update
  std::vector<uint8_t> tainted_;          // per worker: its push in progress is to be dropped
  std::vector<uint32_t> in_a_row_;        // per worker: its pushes dropped in a row
  std::vector<Rejected> newly_rejected_;  // not yet taken by the core
  uint64_t rejected_nonfinite_ = 0, rejected_tainted_ = 0;
};

}  // namespace gw
