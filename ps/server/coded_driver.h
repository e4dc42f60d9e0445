// Carries out a coded job's rounds (ps/server/coded_rounds.h) on the workers' connections:
// feeds idle workers their round's input, tells the ones still working that their round
// closed, and sends the grants the window desk returns about coded messages. It is given the
// parts it works with at construction (the device, the members, the window desk, the held
// steps' write counts) and never calls the core: what only the core does (holding a round's
// close until its input writes settle, noting progress, failing the job) it returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "net/device.h"
#include "ps/job.h"
#include "ps/messages.h"
#include "ps/server/coded_rounds.h"
#include "ps/server/held_steps.h"
#include "ps/server/members.h"
#include "ps/server/summary.h"
#include "ps/server/window_desk.h"

namespace gw {

class CodedDriver {
 public:
  // Registers with dev the model (and the residual), the sources of the input writes, then
  // every worker's slot.
  CodedDriver(const JobConfig& job, size_t num_params, std::vector<float> params, Device& dev,
              PeerId self, Members& members, WindowDesk& desk, HeldSteps& held);

  CodedRounds& rounds() { return rounds_; }
  const CodedRounds& rounds() const { return rounds_; }

  // Every worker joined or was lost: round 0 starts. A failure: the code cannot decode.
  std::optional<std::string> Start();
  // A live worker's window request for message `req.iteration` (round · messages + message).
  void OnWindowRequest(uint32_t w, const WindowRequestMsg& req);
  // A skipped message: if it is the one expected, the worker is idle and fed again.
  bool OnSkipped(uint32_t w, uint64_t round);

  // What a write landing in a live worker's slot meant to the core.
  struct Landed {
    std::optional<TimePoint> progress;  // a message of the open round arrived then
    // The round completed: its close, to hold until the input writes from the model settle.
    std::optional<HeldSteps::Step> close;
    // A refused message left the open round undecodable: the job cannot go on.
    std::optional<std::string> failure;
  };
  Landed OnLanded(uint32_t w, const Completion& c);
  // Takes the held close of a round completed at `since` once it settled. A failure: the
  // next round cannot be decoded.
  std::optional<std::string> CloseRound(TimePoint since);

  // Its part of the summary: updates, drops, late messages, bytes.
  ServerSummary Tally() const;

 private:
  void Carry(const CodedRounds::Actions& actions);
  void Feed(uint32_t w);

  CodedRounds rounds_;
  Members& members_;
  WindowDesk& desk_;
  HeldSteps& held_;
  uint64_t dropped_ = 0;   // unexpected writes
  uint64_t bytes_in_ = 0;  // of message writes taken
};

}  // namespace gw
