#include "ps/server/coded_rounds.h"

#include <algorithm>
#include <utility>

#include "ps/aggregate.h"

namespace gw {

CodedRounds::CodedRounds(const JobConfig& job, CodedShape shape, std::vector<float> params)
    : job_(job),
      shape_(std::move(shape)),
      decoder_(std::make_unique<CodedDecoder>(job, shape_)),
      tracker_(shape_.spec, shape_.n, decoder_->DecodableCheck()),
      params_(std::move(params)),
      grad_(shape_.d),
      optimizer_(std::make_unique<SgdMomentum>(job.optimizer, params_.size())),
      workers_(job.num_workers) {
  if (shape_.mds) {
    ax_.resize(shape_.m);
    residual_.resize(shape_.m);
  }
}

size_t CodedRounds::slot_floats() const {
  return static_cast<size_t>(shape_.spec.Messages()) * shape_.max_message_floats();
}

std::vector<bool> CodedRounds::Gone() const {
  std::vector<bool> gone(workers_.size());
  for (size_t w = 0; w < workers_.size(); ++w) gone[w] = workers_[w].gone;
  return gone;
}

bool CodedRounds::Possible() const { return tracker_.Possible(Gone()); }

std::span<const float> CodedRounds::Message(uint32_t w, int j) const {
  return slots_[w].subspan(static_cast<size_t>(j) * shape_.max_message_floats(),
                           shape_.message_floats(shape_.phase(round_)));
}

CodedRounds::Actions CodedRounds::Start(TimePoint now) {
  round_ = 0;
  round_start_ = now;
  Actions actions;
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    if (!workers_[w].lost) {
      workers_[w].idle = true;
      actions.push_back({Action::Kind::kFeed, w});
    }
  }
  return actions;
}

std::optional<CodedRounds::Feeding> CodedRounds::Feed(uint32_t w) {
  Worker& ws = workers_[w];
  if (ws.gone || !ws.idle) return std::nullopt;
  ws.idle = false;
  ws.closed_sent = false;
  ws.fed_round = round_;
  ws.parts_landed_per_message.assign(shape_.spec.Messages(), 0);
  ws.messages_landed = 0;
  const int phase = finishing_ ? 0 : shape_.phase(round_);
  return Feeding{finishing_, round_,
                 phase == 0 ? std::span<const float>(params_) : std::span<const float>(residual_)};
}

bool CodedRounds::OnSkipped(uint32_t w, uint64_t round) {
  Worker& ws = workers_[w];
  if (!ws.closed_sent || round != ws.fed_round) return false;
  ws.idle = true;
  return true;
}

void CodedRounds::OnGone(uint32_t w, bool lost) {
  workers_[w].gone = true;
  workers_[w].lost = workers_[w].lost || lost;
}

bool CodedRounds::TakesRequest(uint32_t w, uint64_t round) const {
  const Worker& ws = workers_[w];
  return !finishing_ && !ws.idle && !ws.closed_sent && round == ws.fed_round && round == round_;
}

std::string CodedRounds::Laggards() const {
  std::string who;
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    const Worker& ws = workers_[w];
    if (ws.gone || ws.idle) continue;
    who += " worker " + std::to_string(w);
    if (ws.fed_round == round_) {
      who += " sent " + std::to_string(ws.messages_landed) + " of " +
             std::to_string(shape_.spec.Messages()) + " message(s) of round " +
             std::to_string(round_) + ";";
    } else {
      who += " is still on round " + std::to_string(ws.fed_round) + ";";
    }
  }
  return who;
}

CodedRounds::Landing CodedRounds::OnLanded(uint32_t w, const Imm& imm, uint64_t* push) {
  Worker& ws = workers_[w];
  const uint32_t ppm = shape_.parts_per_message();
  const int j = static_cast<int>(imm.part / ppm);
  const int phase = shape_.phase(ws.fed_round);
  if (!Imm::Matches(imm.iteration_tag, ws.fed_round) || ws.idle || j >= shape_.spec.Messages() ||
      imm.part % ppm >= shape_.parts(shape_.message_floats(phase))) {
    return Landing::kDropped;
  }
  *push = ws.fed_round * static_cast<uint64_t>(shape_.spec.Messages()) + static_cast<uint64_t>(j);
  if (++ws.parts_landed_per_message[j] < shape_.parts(shape_.message_floats(phase))) {
    return Landing::kPartial;
  }
  ++messages_received_;
  if (++ws.messages_landed == shape_.spec.Messages() && !ws.closed_sent) ws.idle = true;
  if (ws.fed_round != round_ || finishing_) {
    ++late_;  // its round was decoded without it
    return Landing::kLate;
  }
  // Decoding combines messages linearly: one NaN or Inf would reach every parameter it
  // touches. (Finite values too large to decode are the model check's: ServerCore.)
  if (!AllFinite(Message(w, j))) {
    tracker_.Erase(static_cast<int>(w), j);
    ++rejected_nonfinite_;
    return Landing::kRejected;
  }
  tracker_.Arrive(static_cast<int>(w), j);
  return tracker_.Complete() ? Landing::kRoundComplete : Landing::kArrived;
}

CodedRounds::Closed CodedRounds::CloseRound(TimePoint since) {
  const int phase = shape_.phase(round_);
  auto slot = [&](int w, int j) { return Message(static_cast<uint32_t>(w), j); };
  RoundRow row;
  row.round = round_;
  row.iteration = round_ / shape_.rounds_per_iteration();
  row.phase = phase;
  row.messages_used = static_cast<uint32_t>(tracker_.used().size());
  messages_used_ += row.messages_used;
  std::vector<bool> used_worker(job_.num_workers, false);
  for (const auto& u : tracker_.used()) used_worker[u.worker] = true;
  for (bool b : used_worker) row.workers_used += b ? 1 : 0;
  if (shape_.mds && phase == 0) {
    decoder_->Decode(phase, tracker_.used(), slot, ax_);
    row.loss = decoder_->Residual(ax_, residual_);
  } else {
    decoder_->Decode(phase, tracker_.used(), slot, grad_);
    optimizer_->Step(params_, grad_, 1.0f);
  }
  const auto now = GetClock().Now();
  Closed closed;
  row.decode_s = std::chrono::duration<double>(now - since).count();
  row.duration_s = std::chrono::duration<double>(now - round_start_).count();
  // As the windows log reads it (the duration in seconds, back to nanoseconds).
  closed.duration = std::chrono::nanoseconds(static_cast<int64_t>(row.duration_s * 1e9));
  rounds_.push_back(row);
  round_start_ = now;
  ++round_;
  tracker_.Reset();
  if (optimizer_->steps() >= job_.iterations) {
    finishing_ = true;
  } else if (!Possible()) {
    std::string lost;
    for (uint32_t w = 0; w < workers_.size(); ++w) {
      if (workers_[w].lost) lost += " worker " + std::to_string(w);
    }
    closed.failure = shape_.spec.ToString() + " cannot decode round " + std::to_string(round_) +
                     " without the lost workers (lost:" + lost + ")";
  }
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    Worker& ws = workers_[w];
    if (ws.gone) continue;
    if (ws.idle) {
      closed.actions.push_back({Action::Kind::kFeed, w});
    } else if (!ws.closed_sent) {
      ws.closed_sent = true;
      closed.actions.push_back({Action::Kind::kClosed, w, ws.fed_round});
    }
  }
  return closed;
}

}  // namespace gw
