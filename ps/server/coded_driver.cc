#include "ps/server/coded_driver.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "base/rate_limited_log.h"
#include "ps/coded_shape.h"
#include "ps/imm.h"

namespace gw {

CodedDriver::CodedDriver(const JobConfig& job, size_t num_params, std::vector<float> params,
                         Device& dev, PeerId self, Members& members, WindowDesk& desk,
                         HeldSteps& held)
    : rounds_(job, CodedShape::Make(job, num_params), std::move(params)),
      members_(members),
      desk_(desk),
      held_(held) {
  dev.RegisterMemory(std::as_writable_bytes(rounds_.params()), self);
  if (!rounds_.residual().empty()) {
    dev.RegisterMemory(std::as_writable_bytes(rounds_.residual()), self);
  }
  rounds_.SetSlots(members_.RegisterSlots(dev, rounds_.slot_floats()));
}

std::optional<std::string> CodedDriver::Start() {
  const auto actions = rounds_.Start(GetClock().Now());
  if (!rounds_.Possible()) return rounds_.spec() + " cannot decode with the workers that joined";
  Carry(actions);
  return std::nullopt;
}

void CodedDriver::OnWindowRequest(uint32_t w, const WindowRequestMsg& req) {
  // A coded message is ready: push = round · messages + message. Only a request for the
  // round that is open and that the worker is working on counts; one for a round that
  // closed (it crossed our closed message, a straggler's) or that we do not know is
  // ignored, so it holds no turn.
  const uint64_t messages = static_cast<uint64_t>(rounds_.messages());
  const uint64_t round = req.iteration / messages;
  if (!rounds_.TakesRequest(w, round)) {
    GW_DEBUG("worker " << w << " asked a window for round " << round << " message "
                       << req.iteration % messages << " (open round: " << rounds_.round()
                       << "); ignored");
    return;
  }
  members_.Send(desk_.OnCodedRequest(w, req.iteration, GetClock().Now()));
}

bool CodedDriver::OnSkipped(uint32_t w, uint64_t round) {
  if (!rounds_.OnSkipped(w, round)) return false;
  Feed(w);
  return true;
}

CodedDriver::Landed CodedDriver::OnLanded(uint32_t w, const Completion& c) {
  const Imm imm = Imm::Decode(c.imm);
  uint64_t push = 0;
  const auto landing = rounds_.OnLanded(w, imm, &push);
  if (landing == CodedRounds::Landing::kDropped) {
    ++dropped_;
    WarnOfPeer("worker " + std::to_string(w), "dropped an unexpected write (round tag " +
                                                  std::to_string(imm.iteration_tag) + ", part " +
                                                  std::to_string(imm.part) + ")");
    return {};
  }
  bytes_in_ += c.length;
  const auto now = GetClock().Now();
  desk_.OnCodedPartLanded(w, push, imm.part, now);
  if (landing == CodedRounds::Landing::kPartial) return {};
  if (landing == CodedRounds::Landing::kRejected) {
    const std::string message = std::to_string(push % rounds_.messages());
    const std::string round = std::to_string(rounds_.round());
    WarnOfPeer("worker " + std::to_string(w), "message " + message + " of round " + round +
                                                  " held NaN or Inf, left out of the round");
    if (!rounds_.Possible()) {
      return {.progress = std::nullopt,
              .close = std::nullopt,
              .failure = rounds_.spec() + " cannot decode round " + round + " without worker " +
                         std::to_string(w) + "'s message " + message + ", which held NaN or Inf"};
    }
  }
  // The link is free: the next window goes out once the round's fate is known (a grant for
  // a round about to close would waste the link).
  const bool ended_window = desk_.OnMessageLanded(w, push, now);
  if (landing == CodedRounds::Landing::kRoundComplete) {
    // The model and residual are the sources of input writes still in flight.
    HeldSteps::Step close;
    close.kind = HeldSteps::Step::Kind::kCloseRound;
    close.since = now;
    close.writes = true;
    return {.progress = now, .close = std::move(close), .failure = std::nullopt};
  }
  if (ended_window) members_.Send(desk_.Poll(GetClock().Now()));
  if (landing == CodedRounds::Landing::kArrived) {
    return {.progress = now, .close = std::nullopt, .failure = std::nullopt};
  }
  return {};
}

std::optional<std::string> CodedDriver::CloseRound(TimePoint since) {
  auto closed = rounds_.CloseRound(since);
  members_.Send(desk_.OnRoundClosed(closed.duration, GetClock().Now()));
  if (closed.failure) return std::move(closed.failure);
  Carry(closed.actions);
  return std::nullopt;
}

void CodedDriver::Carry(const CodedRounds::Actions& actions) {
  for (const auto& a : actions) {
    switch (a.kind) {
      case CodedRounds::Action::Kind::kFeed:
        Feed(a.worker);
        break;
      case CodedRounds::Action::Kind::kClosed:
        members_[a.worker].conn->Send(static_cast<uint16_t>(MsgType::kClosed),
                                      Encode(RoundMsg{a.round}));
        break;
    }
  }
}

// Writes the current round's input (or, when finishing, the final model) into an idle
// worker's input region.
void CodedDriver::Feed(uint32_t w) {
  const Members::Member& m = members_[w];
  if (!m.live()) return;
  const auto feeding = rounds_.Feed(w);
  if (!feeding) return;
  if (feeding->final) m.conn->Send(static_cast<uint16_t>(MsgType::kFinal), {});
  const auto bytes = std::as_bytes(feeding->input);
  const size_t part_bytes = rounds_.part_floats() * sizeof(float);
  for (size_t off = 0, p = 0; off < bytes.size(); off += part_bytes, ++p) {
    m.conn->Write(bytes.subspan(off, std::min(part_bytes, bytes.size() - off)), m.params, off,
                  Imm::Encode(feeding->round, static_cast<uint32_t>(p)), p);
    held_.Posted(w);
  }
}

ServerSummary CodedDriver::Tally() const {
  ServerSummary s;
  s.updates = rounds_.updates();
  // A coded job's pushes are its messages; the gradients behind an update, those decoded.
  s.pushes_received = rounds_.messages_received();
  s.gradients_applied = rounds_.messages_used();
  s.dropped_writes = dropped_;
  s.late_messages = rounds_.late();
  s.rejected_nonfinite = rounds_.rejected_nonfinite();
  s.gradient_bytes_received = bytes_in_;
  return s;
}

}  // namespace gw
