// A coded job's rounds (ps/coded_shape.h): the round tracker and decoder, the model they
// update, the round being collected and every worker's place in it (fed, idle, told the round
// closed). The core tells it what landed and who is gone; it answers with what to do (feed
// worker w, tell w its round closed, give up with this message) and never writes on a
// connection itself.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ps/coded_decoder.h"
#include "ps/coded_shape.h"
#include "ps/imm.h"
#include "ps/optimizer.h"
#include "ps/results.h"

namespace gw {

class CodedRounds {
 public:
  struct Action {
    enum class Kind { kFeed, kClosed } kind;
    uint32_t worker = 0;
    uint64_t round = 0;  // kClosed: the round the worker was fed
  };
  using Actions = std::vector<Action>;
  // What feeding a worker writes into its input region: the round's input (or, finishing,
  // the final model, announced by a final message first).
  struct Feeding {
    bool final = false;
    uint64_t round = 0;
    std::span<const float> input;
  };
  // What a landed write meant. kRejected: a whole message of the open round holding NaN or
  // Inf, left out of the round as if it had never come (an erasure the code may tolerate).
  enum class Landing { kDropped, kPartial, kLate, kRejected, kArrived, kRoundComplete };

  CodedRounds(const JobConfig& job, CodedShape shape, std::vector<float> params);

  // The memory to register: the model, the residual (mds; empty otherwise).
  std::span<float> params() { return params_; }
  std::span<float> residual() { return residual_; }
  size_t slot_floats() const;
  size_t input_floats() const { return shape_.max_input_floats(); }
  size_t part_floats() const { return shape_.part_floats; }
  // Every worker's slot region (slot_floats() floats), once the coded driver registered them.
  void SetSlots(std::vector<std::span<const float>> slots) { slots_ = std::move(slots); }

  // Every worker joined or was lost: round 0 starts, every live worker fed. Possible() false
  // means the code cannot decode with those (the core fails).
  Actions Start(TimePoint now);
  bool Possible() const;
  // Marks an idle worker fed with the current round; nullopt if it is gone or not idle.
  std::optional<Feeding> Feed(uint32_t w);
  // A skipped message for `round`: the worker stopped its closed round and is idle.
  bool OnSkipped(uint32_t w, uint64_t round);
  void OnGone(uint32_t w, bool lost);
  // For the no-progress message: each live worker whose messages of the open round have not
  // all landed, named with how many did (" worker 2 sent 0 of 1 message(s) of round 17;").
  std::string Laggards() const;
  // After a loss: whether the job may go on (finishing, or the code can still decode).
  bool CanGoOn() const { return finishing_ || Possible(); }

  // Worker w's message `push` may ask for a window: the open round, the one it works on.
  bool TakesRequest(uint32_t w, uint64_t round) const;
  // A write from w landed in its slot; *push: the message's push id (not for kDropped).
  Landing OnLanded(uint32_t w, const Imm& imm, uint64_t* push);

  struct Closed {
    Duration duration;                   // from the previous round's close
    std::optional<std::string> failure;  // the next round cannot be decoded
    Actions actions;
  };
  // The tracker completed: decode, update, log the round, start the next. since: when the
  // round completed (decode_s counts from there).
  Closed CloseRound(TimePoint since);

  uint64_t round() const { return round_; }
  bool finishing() const { return finishing_; }
  int messages() const { return shape_.spec.Messages(); }
  std::string spec() const { return shape_.spec.ToString(); }
  uint64_t updates() const { return optimizer_->steps(); }
  const SgdMomentum& optimizer() const { return *optimizer_; }
  uint64_t late() const { return late_; }
  uint64_t rejected_nonfinite() const { return rejected_nonfinite_; }
  uint64_t messages_received() const { return messages_received_; }  // landed whole
  uint64_t messages_used() const { return messages_used_; }          // by the rounds' decoding
  const std::vector<RoundRow>& log() const { return rounds_; }

 private:
  struct Worker {
    bool gone = false, lost = false;
    uint64_t fed_round = 0;  // the round whose input the worker last got
    // It sent all its messages or stopped: its input may be written.
    bool idle = false;
    bool closed_sent = false;  // told the round closed
    std::vector<uint32_t> parts_landed_per_message;
    int messages_landed = 0;
  };
  std::vector<bool> Gone() const;
  // Worker w's message j of the current round's phase, in its slot.
  std::span<const float> Message(uint32_t w, int j) const;

  const JobConfig& job_;
  CodedShape shape_;
  std::unique_ptr<CodedDecoder> decoder_;  // before tracker_: it gives the tracker its check
  coding::RoundTracker tracker_;
  std::vector<float> params_, grad_, ax_, residual_;
  std::unique_ptr<SgdMomentum> optimizer_;
  std::vector<std::span<const float>> slots_;
  std::vector<Worker> workers_;
  uint64_t round_ = 0;
  bool finishing_ = false;  // all iterations done: feeding the final model
  TimePoint round_start_;
  std::vector<RoundRow> rounds_;
  uint64_t late_ = 0;                // messages whose round was decoded without them
  uint64_t rejected_nonfinite_ = 0;  // messages left out for NaN or Inf
  uint64_t messages_received_ = 0, messages_used_ = 0;
};

}  // namespace gw
