// The parameter server's core: membership (joined, done, lost), liveness and progress, the
// event loop and the dispatch of completions. Its parts own the rest and are called one way:
// the sync path (or, for coded jobs, the coded rounds), the window desk and the checkpointer
// decide and return what to do; the core alone writes on connections and carries it out.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "net/device.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/server.h"
#include "ps/server/checkpointer.h"
#include "ps/server/coded_rounds.h"
#include "ps/server/held_steps.h"
#include "ps/server/members.h"
#include "ps/server/sync_path.h"
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
  void OnWindowRequest(uint32_t w, const WorkerState& ws, const Completion& c);
  void OnLanded(uint32_t w, WorkerState& ws, const Completion& c);
  void OnCodedLanded(uint32_t w, const Completion& c);
  void Refuse(const std::shared_ptr<Connection>& conn, const std::string& why);
  void Send(const WindowDesk::Grants& grants);

  // Uncoded: the rule's decision carried out through the sync path.
  void Apply(const SyncRule::Decision& d);
  void Update(const SyncRule::Decision& d);
  void Release(uint32_t w);
  void WriteRelease(uint32_t w);
  // Coded: the coded rounds' actions carried out.
  void StartRounds();
  void Carry(const CodedRounds::Actions& actions);
  void Feed(uint32_t w);
  void CloseRound(TimePoint since);

  // Takes step now if nothing is held and it is settled, else holds it (after the held ones).
  void WhenSettled(HeldSteps::Step step);
  void Take(const HeldSteps::Step& step);
  // Takes the held steps that are settled; if one is still not, waits a little for
  // completions (taking only write completions) and returns to the loop.
  void DriveHeld();
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
  void WriteSummary(double wall_s);
  uint64_t updates() const { return coded_ ? coded_->updates() : sync_->updates(); }

  const JobConfig job_;
  const ServerOptions opt_;
  const TimePoint t0_;
  std::unique_ptr<Workload> shape_;  // parameter count and initialisation only
  ModelLayout layout_;
  SyncRule rule_;
  WindowDesk desk_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::unique_ptr<SyncPath> sync_;      // uncoded jobs
  std::unique_ptr<CodedRounds> coded_;  // coded jobs
  std::unique_ptr<Device> dev_;
  Members workers_;
  std::deque<Completion> pending_;  // fetched from the transport, not handled yet
  std::vector<Completion> fetched_;
  HeldSteps held_;
  uint64_t dropped_ = 0, lost_ = 0, bytes_in_ = 0;
  uint64_t pushes_received_ = 0;  // uncoded pushes that landed whole
  TimePoint last_progress_;
};

}  // namespace gw
