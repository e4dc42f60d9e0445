// The worker's run loop in a coded job (ps/coded_shape.h): the server drives rounds, writing
// each round's input into our input region; we compute the round's messages (CodedTask) and
// write each as its own push, until the round is done or the server closes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ps/coded_shape.h"
#include "ps/coded_task.h"
#include "ps/gated_push.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/results.h"
#include "ps/worker.h"
#include "ps/worker/fault_points.h"
#include "ps/worker/report.h"
#include "ps/worker/session.h"
#include "ps/workload/workload.h"

namespace gw {

class CodedLoop final : public SessionEvents {
 public:
  // Builds the job's shape and our task (throws gw::Error for a job coding cannot run) and
  // registers the message buffers and the input region with the session's device.
  CodedLoop(const JobConfig& job, const WorkerOptions& options, Workload& workload,
            const ModelLayout& layout, WorkerSession& session);

  // Joins, works on every round the server feeds until the final model, writes the results
  // and shuts the session down.
  void Run();

  void OnWelcome(uint32_t server, const std::shared_ptr<Connection>& conn, const RemoteRegion& slot,
                 uint64_t resume_iteration) override;
  bool OnParamsLanded(uint32_t server, const Imm& imm) override;
  bool OnWriteDone(uint32_t server, uint64_t wr_id) override;
  void OnGrant(uint32_t server, const WindowGrantMsg& grant, TimePoint received) override;
  void OnRoundClosed(uint64_t round) override;
  void OnFinal() override { final_ = true; }

 private:
  // Each message index has its own push; message j's write ids start at j << this.
  static constexpr int kMessageWrShift = 32;

  // Computes and sends this round's messages (see coded_loop.cc).
  void RunRound(uint64_t round, IterationRow* row);
  // Message j's push of `round` (computed into `out`) begins: its writes, its window request.
  void BeginPush(int j, uint64_t round, std::span<const float> out);
  // Message j's push of this round finished (the stop:I fault point is here).
  bool Pushed(int j, uint64_t round);
  // Time every message push waited for windows so far.
  sched::Duration GateWaited() const;
  // Every message push of the last round finished (their buffers may be written again).
  bool MessagesOut() const;
  // Handles completions until done() holds (true) or the server closed `round` (false).
  template <typename Pred>
  bool UntilClosed(Pred done, uint64_t round, const std::string& what);
  // Waits until `seconds` after `start`; false if the server closed `round` first.
  bool SleepUntil(TimePoint start, double seconds, uint64_t round);
  // Waits for the next round's input (or the final model); returns the round.
  uint64_t WaitInput();
  // Tells the server we stopped the last round: its input region is free.
  void SendSkipped();
  // The message pushes' write records completed since the last call, by round and part
  // (writes-<rank>.csv).
  std::vector<WriteRecord> TakeFinishedWrites();

  const JobConfig& job_;
  const WorkerOptions& options_;
  WorkerSession& session_;
  FaultPoints faults_;
  WorkerReport report_;
  const CodedShape shape_;
  CodedTask task_;
  std::vector<GatedPush> message_push_;  // message j's writes of the round under way
  std::vector<size_t> streamed_writes_;  // message_push_[j].records() in writes-<rank>.csv
  std::vector<float> input_;             // written by the server: params or the residual
  std::vector<float> messages_;          // our results, sources of our writes
  int64_t last_round_ = -1;              // the last round we worked on
  int64_t closed_round_ = -1;            // the last round the server told us it closed
  std::optional<uint64_t> incoming_round_;
  uint32_t input_parts_ = 0;
  bool busy_ = false;  // in RunRound: a close of the round is answered when it ends
  bool final_ = false;
};

}  // namespace gw
