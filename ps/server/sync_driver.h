// Carries out an uncoded job's sync path (ps/server/sync_path.h) on the workers'
// connections: a write landing in a worker's slot is assembled into its push and handed to
// the rule, the rule's decisions are applied, and each release is written from its source.
// It is given the parts it works with at construction (the device, the rule, the members,
// the window desk, the held steps' write counts, the checkpointer) and never calls the core:
// the steps that must wait for writes in flight (an update, a release) it returns, and the
// core holds them until they are settled and then hands them back to be taken.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "net/device.h"
#include "ps/checkpoint.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/server/checkpointer.h"
#include "ps/server/held_steps.h"
#include "ps/server/members.h"
#include "ps/server/part_barrier.h"
#include "ps/server/summary.h"
#include "ps/server/sync_path.h"
#include "ps/server/window_desk.h"
#include "ps/sync_rule.h"

namespace gw {

class SyncDriver {
 public:
  // params: server `rank`'s shard of layout. Starts from `resumed` if given; registers with
  // dev the parameters (and each worker's copy), the sources of the release writes, then
  // every worker's gradient slot.
  SyncDriver(const JobConfig& job, uint32_t rank, const ModelLayout& layout,
             std::vector<float> params, const std::optional<Checkpoint>& resumed, Device& dev,
             PeerId self, SyncRule& rule, Members& members, WindowDesk& desk, HeldSteps& held,
             Checkpointer& checkpointer);

  const SyncPath& path() const { return path_; }
  SyncPath& path() { return path_; }

  // A write landed in live worker w's slot: the steps to hold, in order: a part's update when
  // it completed that part of a BSP barrier (SyncPath::UpdatesPerPart), the rule's update
  // when it completed a push the rule took.
  std::vector<HeldSteps::Step> OnLanded(uint32_t w, const Completion& c);
  // Worker w is gone (lost or done): the rule's decision (w's parts of a barrier taken part
  // by part no longer count).
  SyncRule::Decision OnWorkerGone(uint32_t w);
  // The rule's decision d, and worker w's release (nullopt: w is not live), as steps to hold.
  // A decision that completes a barrier taken part by part ends it here (the parts it left
  // go in the step).
  HeldSteps::Step UpdateStep(const SyncRule::Decision& d);
  std::optional<HeldSteps::Step> ReleaseStep(uint32_t w) const;
  // Settled steps taken: an update returns the releases it sets off; a release is written;
  // a part's update (the mean of the copies of `from`) is applied and written to every live
  // worker, tagged `iteration`.
  std::vector<HeldSteps::Step> Update(const SyncRule::Decision& d,
                                      std::span<const uint32_t> parts = {});
  void WriteRelease(uint32_t w);
  void UpdatePart(uint32_t part, std::span<const uint32_t> from, uint64_t iteration);

  // Its part of the summary: updates, pushes, gradients and rows applied, drops, bytes.
  ServerSummary Tally() const;

 private:
  // Part p of the shard written to live worker w from `source` (the shard's bytes: the
  // parameters, or w's copy of them), tagged `iteration`: every parameter write goes here.
  void WritePart(uint32_t w, std::span<const std::byte> source, uint32_t p, uint64_t iteration);

  const JobConfig& job_;
  const uint32_t rank_;
  const ModelLayout& layout_;
  SyncPath path_;
  SyncRule& rule_;
  Members& members_;
  WindowDesk& desk_;
  HeldSteps& held_;
  Checkpointer& checkpointer_;
  std::optional<PartBarrier> barrier_;  // SyncPath::UpdatesPerPart
  uint64_t dropped_ = 0;                // late or duplicate writes, pushes the rule refused
  uint64_t bytes_in_ = 0;               // of gradient writes taken
  uint64_t pushes_received_ = 0;        // that landed whole
};

}  // namespace gw
