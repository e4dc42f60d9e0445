// Control messages between workers and servers (the small typed messages of the transport).
// Fixed-size little-endian structs, checked for exact size and well-formed fields on receipt.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "net/region.h"

namespace gw {

enum class MsgType : uint16_t {
  kJoin = 1,     // worker -> server: JoinMsg
  kWelcome = 2,  // server -> worker: WelcomeMsg
  kDone = 3,     // worker -> server: finished all iterations (no payload)
  kAbort = 4,    // either way: the job cannot go on (payload: reason text)
  kPush = 5,     // bench: worker -> server, "answer my push" (PushMsg)
  // Coded jobs (ps/coded_shape.h):
  kClosed = 6,   // server -> worker: RoundMsg: that round is decoded; stop working on it
  kSkipped = 7,  // worker -> server: RoundMsg: stopped that round, its input may be written
  kFinal = 8,    // server -> worker: the next input is the final model; evaluate and leave
  // Write windows (JobConfig::windows, sched/):
  kWindowRequest = 9,  // worker -> server: WindowRequestMsg: a push is ready
  kWindowGrant = 10,   // server -> worker: WindowGrantMsg: post that push's writes now
  kWindowPosted = 11,  // worker -> server: WindowPostedMsg: the first write of a window is out
};

struct WindowRequestMsg {
  uint64_t iteration = 0;  // the push's iteration (the worker's clock)
  // The worker's previous iteration, for R2SP's T_iter: its length and the time it was
  // blocked in it (waiting for a window or for parameters); 0, 0 before the first.
  int64_t last_iteration_ns = 0;
  int64_t last_blocked_ns = 0;
  // --batch-tuning: the rows behind this push's gradient (the server weights it by them),
  // and the rows and compute time (gradient plus emulated straggler delay) of the previous
  // iteration, the batch tuner's speed sample; 0 without tuning or before the first.
  int64_t last_compute_ns = 0;
  uint32_t batch = 0;
  uint32_t last_batch = 0;
  // Layered workloads: the forward-pass index of the push's most urgent tensor (lower: the
  // next forward pass needs it sooner); global-priority windows grant the lowest first
  // (sched::WindowScheduler::Request). 0 for a push of one flat gradient.
  uint32_t priority = 0;
  // Per-partition windows (WindowSpec::grants_parts: global-priority, uncoded): the partition
  // this request asks a window for, as the count of the push's partitions the worker posted
  // before it (0, 1, ...), which also says where the previous window's writes ended; 0 for
  // whole-push windows. priority kNoneReady: only that report, nothing is ready to ask for.
  uint32_t part_index = 0;
  static constexpr uint32_t kNoneReady = UINT32_MAX;
  // Asked ahead (WindowSpec::ask_ahead): the push is expected ready this long after the
  // request was sent (the worker's estimate of its compute time); 0: it is ready now. The
  // server takes 0..the job's timeout and warns about anything else (treated as 0).
  int64_t ready_in_ns = 0;
};

struct WindowGrantMsg {
  uint64_t iteration = 0;
  // The window's length, counted from the grant's arrival (hosts' clocks differ); a burst
  // grant is open-ended: kOpenEnded.
  int64_t window_ns = 0;
  static constexpr int64_t kOpenEnded = -1;
  // --batch-tuning (server 0 only): the rows of the worker's next minibatch; 0: unchanged.
  uint32_t next_batch = 0;
  // Per-partition windows: the partition (WindowRequestMsg::part_index) this window is for; a
  // worker that already posted it ignores the grant. 0 for whole-push windows.
  uint32_t part_index = 0;
};

// Sent just before the first write of each granted window is posted, on the connection the
// writes take, so it arrives as the window's first bytes do: the server learns the
// grant-to-post time and when the link is about to carry this writer (pipelined turns,
// sched/window_scheduler.h).
struct WindowPostedMsg {
  uint64_t iteration = 0;   // the grant's (WindowGrantMsg::iteration: the push id)
  uint32_t part_index = 0;  // the grant's
  // Microseconds the grant waited at the worker for its push to be ready (a request asked
  // ahead, whose grant came first); 0 otherwise. The server leaves it out of the
  // grant-to-post time, at most the whole of it.
  uint32_t held_us = 0;
};

struct RoundMsg {
  uint64_t round = 0;
};

struct JoinMsg {
  uint64_t fingerprint = 0;
  RemoteRegion params;  // where this server writes the worker's copy of its shard
};

struct WelcomeMsg {
  RemoteRegion slot;  // where this worker writes its gradient for this server's shard
  uint64_t shard_begin = 0;
  uint64_t shard_size = 0;
  // The iteration the worker starts at: 0, or the checkpoint's when the server resumed one.
  uint64_t resume_iteration = 0;
};

// What a byte count cannot check: a region descriptor's bounded handle (net/region.h), and
// reserved fields, zero so that a later use of them is never misread as an old message's.
inline bool WellFormed(const JoinMsg& msg) { return msg.params.WellFormed(); }
inline bool WellFormed(const WelcomeMsg& msg) { return msg.slot.WellFormed(); }
template <typename T>
bool WellFormed(const T& /*msg*/) {
  return true;  // the others hold no field whose values the receiver does not check itself
}

template <typename T>
std::vector<uint8_t> Encode(const T& msg) {
  static_assert(std::is_trivially_copyable_v<T>);
  // Copied byte for byte: padding would send whatever the stack held (name it, zeroed).
  static_assert(std::has_unique_object_representations_v<T>, "no padding bytes");
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &msg, sizeof(T));
  return out;
}

template <typename T>
std::optional<T> Decode(std::span<const uint8_t> bytes) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (bytes.size() != sizeof(T)) return std::nullopt;
  T msg;
  std::memcpy(&msg, bytes.data(), sizeof(T));
  if (!WellFormed(msg)) return std::nullopt;
  return msg;
}

inline std::vector<uint8_t> EncodeText(const std::string& s) { return {s.begin(), s.end()}; }
inline std::string DecodeText(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

}  // namespace gw
