// The parameter server's core: membership (joined, done, lost), liveness and progress, the
// event loop and the dispatch of completions. Its parts own the rest and are called one way:
// the window desk and the checkpointer decide and return what to do; the sync driver (or, for
// coded jobs, the coded driver) carries out the sync path's (the coded rounds') work on the
// workers' connections and returns the steps the core holds until their writes settle. No
// part calls the core back.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "net/device.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/server.h"
#include "ps/server/checkpointer.h"
#include "ps/server/coded_driver.h"
#include "ps/server/held_steps.h"
#include "ps/server/inbound.h"
#include "ps/server/members.h"
#include "ps/server/report.h"
#include "ps/server/summary.h"
#include "ps/server/sync_driver.h"
#include "ps/server/window_desk.h"
#include "ps/sync_rule.h"
#include "ps/workload/workload.h"

namespace gw {

class ServerCore {
 public:
  ServerCore(const JobConfig& job, const ServerOptions& opt);
  // Serves until every worker finished (or was lost, where the rule allows going on), then
  // writes the summary. Throws gw::Error when the job cannot go on.
  void Run();

 private:
  using WorkerState = Members::Member;

  void Handle(const Completion& c);
  void OnControl(uint32_t w, WorkerState& ws, const Completion& c);
  void OnJoin(uint32_t w, WorkerState& ws, const Completion& c);
  // Once every worker joined or was given up: the first round, or every worker's first
  // parameters. Once only.
  void StartIfAllJoined();
  void OnDone(uint32_t w, WorkerState& ws);
  // Ends the job with an error once an update left a parameter NaN or Inf.
  void CheckModelFinite();
  // Names each worker whose push an update dropped for NaN, Inf or overflowing values, and
  // loses one that sent ServerOptions::lose_after_rejected of them in a row.
  void HandleRejected();
  void OnWindowRequest(uint32_t w, const WorkerState& ws, const Completion& c);
  void OnLanded(uint32_t w, const WorkerState& ws, const Completion& c);
  void Refuse(const std::shared_ptr<Connection>& conn, const std::string& why);
  // Uncoded: the rule's decision, held until settled and then applied.
  void Apply(const SyncRule::Decision& d) { WhenSettled(sync_->UpdateStep(d)); }

  // Takes step now if nothing is held and it is settled, else holds it (after the held ones).
  void WhenSettled(HeldSteps::Step step);
  void Take(const HeldSteps::Step& step);
  // Takes the held steps that are settled; if one is still not, waits a little for
  // completions and returns to the loop.
  void DriveHeld();
  // Moves what the transport completed into pending_ (our writes' completions count off in
  // held_ at once), waiting up to timeout for the first; drops a worker over its bound.
  void Fetch(std::chrono::nanoseconds timeout);
  std::chrono::nanoseconds FetchTimeout() const;

  void Lose(uint32_t w, const std::string& why);
  void CheckProgress();
  // A rule that waits for every worker (BSP) ends the job when one is lost unless told to go
  // on; the other rules go on.
  bool MayGoOnWithoutLost() const {
    return rule_.goes_on_without_lost_workers(job_.continue_without_lost);
  }
  [[noreturn]] void Fail(const std::string& why);
  static std::string Seconds(std::chrono::milliseconds ms);
  // The summary row (the drivers' counts completed with what the core, the desk and the
  // checkpointer counted; partial: the job failed) and the rest of the rounds and windows logs.
  void WriteResults(bool partial);

  const JobConfig job_;
  const ServerOptions opt_;
  const TimePoint t0_;
  std::unique_ptr<Workload> shape_;  // parameter count and initialisation only
  ModelLayout layout_;
  SyncRule rule_;
  WindowDesk desk_;
  std::unique_ptr<Checkpointer> checkpointer_;
  // Declared before the device so that the memory they registered outlives it.
  std::unique_ptr<SyncDriver> sync_;    // uncoded jobs
  std::unique_ptr<CodedDriver> coded_;  // coded jobs
  std::unique_ptr<Device> dev_;
  Members workers_;
  HeldSteps held_;
  Inbound pending_;  // fetched from the transport, not handled yet
  std::vector<Completion> fetched_;
  uint64_t lost_ = 0;
  TimePoint last_progress_;
  std::optional<TimePoint> all_joined_at_;  // when the last worker joined
  ServerReport report_;
};

}  // namespace gw
