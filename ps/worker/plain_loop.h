// The worker's run loop under the plain sync rules (BSP, ASP, SSP, R2SP): each iteration
// computes a gradient on the parameters that arrived for it, pushes it to every server
// (inside granted windows, if the job has them), and waits for the next parameters. A server
// lost mid-run is reconnected to when WorkerOptions::reconnect_timeout allows it. A layered
// workload's gradient is pushed layer by layer as backprop produces it (ps/worker/backprop.h),
// in the job's push order, and its next forward pass starts layer by layer as each layer's
// parameters land, while the end of the push is still on the wire.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/zero_pages.h"
#include "ps/gated_push.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/results.h"
#include "ps/worker.h"
#include "ps/worker/backprop.h"
#include "ps/worker/fault_points.h"
#include "ps/worker/landed_parts.h"
#include "ps/worker/reconnect.h"
#include "ps/worker/report.h"
#include "ps/worker/session.h"
#include "ps/worker/tensor_parts.h"
#include "ps/workload/workload.h"

namespace gw {

class PlainLoop final : public SessionEvents {
 public:
  // Registers the gradient and the parameter shards with the session's device: `memory`'s if
  // given (the caller's, of the model's size), else memory of its own.
  PlainLoop(const JobConfig& job, const WorkerOptions& options, Workload& workload,
            const ModelLayout& layout, WorkerSession& session, WorkerMemory memory = {});

  // Joins, trains job.iterations iterations, writes the results and shuts the session down.
  void Run();

  void OnWelcome(uint32_t server, const std::shared_ptr<Connection>& conn, const RemoteRegion& slot,
                 uint64_t resume_iteration) override;
  bool OnParamsLanded(uint32_t server, const Imm& imm) override;
  bool OnWriteDone(uint32_t server, uint64_t wr_id) override;
  void OnGrant(uint32_t server, const WindowGrantMsg& grant, TimePoint received) override;

 private:
  IterationRow RunIteration(uint64_t it, TimePoint t0);
  IterationRow StartRow(uint64_t it);
  void Remember(const IterationRow& row);
  // A layered workload's iteration: forward (as the parameters land), the previous push's
  // last writes, backward with the push begun. Its push ends in the next iteration, or in
  // FinishLayered after the last one (which waits for the final parameters too).
  IterationRow RunLayeredIteration(uint64_t it, TimePoint t0);
  // The same for a workload that runs its own passes (Workload::own_tensors): its forward
  // pass waits tensor by tensor (TensorEvents), its backward pass ends the previous push and
  // makes each part ready once its tensors are. Its push ends as a layered one's does.
  IterationRow RunOwnPassesIteration(uint64_t it, TimePoint t0);
  class OwnPassEvents;
  void FinishLayered(uint64_t it, IterationRow* last);
  // The previous push's last writes (and its layer records): the seconds waited for windows.
  double FinishPendingPush(uint64_t it);
  // After (re)joining, the iteration the servers start this worker at: 0, or the iteration
  // of the checkpoint they resumed. `it` is the iteration this worker was in.
  uint64_t ResumeAt(uint64_t it, std::vector<IterationRow>* rows);
  // Forgets the pushes and parameters under way: their connections are being replaced
  // (and re-arms the faults of a wait, which may be redone).
  void ForgetServers();
  // The iteration's push to every server: AddWrites begins it and adds every write; AskAhead
  // (ask=ahead, whole-push windows) asks for the windows before the gradient is computed, with
  // the time it is expected to take; Begin starts the push, asking for windows if not asked
  // ahead (ordered pushes then wait for Backprop to make them ready); Finish waits until every
  // write is done and returns the seconds spent waiting for windows.
  void AddWrites(uint64_t it);
  void AskAhead();
  void BeginPush(uint64_t it);
  double FinishPush(uint64_t it);
  void RecordLayers(uint64_t it);
  void StreamResults(const std::vector<IterationRow>& rows);
  // priority: the push's most urgent layer so far (0 for a flat gradient).
  void SendWindowRequest(uint32_t server, uint64_t it, uint32_t priority, uint32_t part_index,
                         Duration ready_in);
  void WaitParams(uint64_t it);
  double InjectDelay(TimePoint start, uint64_t it, double scale);
  void PrintProgress(uint64_t it, const std::vector<IterationRow>& rows, TimePoint t0) const;

  const JobConfig& job_;
  const WorkerOptions& options_;
  Workload& workload_;
  const ModelLayout& layout_;
  WorkerSession& session_;
  FaultPoints faults_;
  Reconnector reconnector_;
  WorkerReport report_;
  // Zero pages (base/zero_pages.h), empty when the caller gave its memory: a phantom
  // workload's thousand simulated workers never touch theirs.
  ZeroPages own_params_, own_grad_;
  std::span<float> params_, grad_;
  std::vector<GatedPush> pushes_;  // our gradient writes to server s
  LandedParts landed_;             // the parameters for expected_iteration_, part by part
  // The iteration whose parameters land next (tags are checked against it).
  uint64_t expected_iteration_ = 0;
  std::optional<IterationRow> pushed_row_;            // the iteration whose push went out, if any
  double last_iteration_s_ = 0, last_blocked_s_ = 0;  // reported in window requests
  // --batch-tuning: rows of the next minibatch (server 0's grants set it), of the gradient
  // being pushed, and of the previous iteration with its compute time (reported).
  uint32_t batch_;
  uint32_t push_batch_, last_batch_ = 0;
  double last_compute_s_ = 0;
  uint64_t pushes_sent_ = 0;  // whole pushes our transport finished (one per server)
  std::vector<sched::Duration> gate_before_push_;  // each push's gate_waited() at BeginPush
  // Layered workloads only: the backprop emulation, every layer's record so far, and the
  // iteration whose push is under way (ended in the next iteration, push_pending_ till then).
  std::optional<Backprop> backprop_;
  std::optional<TensorParts> tensor_parts_;  // a workload that runs its own passes
  // Pushes made in iterations and ended in the next (layered, own passes).
  bool pipelined() const { return backprop_ || tensor_parts_; }
  std::vector<LayerRecord> layer_rows_;
  // How many rows, write records (per push) and layer records are in the results files.
  size_t streamed_rows_ = 0, streamed_layers_ = 0;
  std::vector<size_t> streamed_writes_;
  bool push_pending_ = false;
  struct LayeredIteration {
    TimePoint start, push_start;
    std::vector<size_t> records_before;  // pushes_[s].records().size() at its push's Begin
    std::vector<LayerRecord> layers;
  } layered_;
};

}  // namespace gw
