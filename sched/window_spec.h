// Which write-window policy a run uses, and its parameters. A worker posts a push's writes
// only inside a window the server granted (sched/window_scheduler.h decides the windows,
// sched/window_gate.h enforces them on the worker):
//
//   burst         no gating: every request is granted at once, open-ended (BSP's incast).
//   round-robin   R2SP (Chen, Wang, Li, INFOCOM 2019): burst until worker 0 has done `warmup`
//                 iterations, then one window at a time in rank order, grants at least
//                 gap = T_iter / (factor·N) apart, T_iter measured from worker 0's iterations.
//   slots         TDMA: worker i may write in [k·P + i·L, k·P + (i+1)·L) for every k.
//   topology      one round-robin ring per rack, racks in parallel: at most one writer per
//                 (oversubscribed) rack uplink at a time. Gated from the first push.
//   global-priority  the link goes to the most urgent pending partition across all workers
//                 (the lowest forward-pass index), one window (of one partition) at a time;
//                 with racks, one at a time per rack uplink, racks in parallel.
// In coded jobs (--coding) every policy gates each message of a round; rings then take turns
// first come, first served without a gap, and round-robin's warm-up counts rounds the server
// closed (sched/window_scheduler.h, Pacing::kRounds).
//
// Text form (Parse/ToString), times in milliseconds (fractions allowed):
//   "burst"
//   "round-robin" or
//   "round-robin:warmup=10,factor=1.2,window=4,min-window=10,lead=auto,ask=ready" (any subset)
//   "slots:period=MS,slot=MS"
//   "topology:racks=R" (R racks of consecutive ranks, sizes differing by at most one) or
//   "topology:rack-of=0+0+1+1" (the rack of each worker); both take the round-robin keys.
//   "global-priority" or "global-priority:window=4,min-window=10", optionally with racks=R or
//   rack-of=.. as topology's
// `window` bounds a ring window: deadline = start + max(window·gap, min-window). `lead` (rings):
// how long before the open window's writes are expected to end the next writer is granted, so
// the grant's trip and the writer's first post overlap the last bytes of the one before
// (sched/window_scheduler.h, Pipelined turns): "auto" (the measured grant-to-post time), a fixed
// time in ms, or 0 (off: the next grant waits for the window's end, one round trip per turn).
// `ask` (rings): "ready" (a worker asks for its window once its gradient is ready) or "ahead"
// (it asks when it starts computing, saying when the gradient will be ready by its last compute
// time, so the grant can arrive as the gradient does: sched/window_scheduler.h, Asked ahead).
// Each policy reads, prints and checks its own keys (sched/<name>_policy.cc, listed in
// sched/window_registry.cc); this struct holds every policy's fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sched/time.h"

namespace gw::sched {

enum class WindowKind { kBurst, kRoundRobin, kSlots, kTopology, kGlobalPriority };

struct WindowSpec {
  // Worker 0's first iterations carry start-up costs (allocation, connection set-up, cold
  // caches); R2SP measures T_iter from its 5th iteration on, so these are not counted.
  static constexpr uint32_t kSkippedIterations = 4;
  // Warm-up must leave at least one counted iteration to measure T_iter from.
  static constexpr uint32_t kMinWarmup = kSkippedIterations + 1;
  static constexpr uint32_t kDefaultWarmup = 10;  // R2SP's
  static constexpr double kDefaultFactor = 1.2;   // R2SP's: N turns fill T_iter / 1.2
  // A ring window may last 4 gaps: a push that fills its share of the link takes about one
  // gap, so 4 only cuts off a writer that is stuck, not one that is a bit slow.
  static constexpr double kDefaultWindowGaps = 4;
  // Floor of a ring window: with fast iterations the gap can be below timer and grant-delivery
  // jitter (~1 ms on a loaded Linux host); 10x that margin, and a stuck writer still costs at
  // most 10 ms of link per turn. Also the whole bound while T_iter is unknown (topology).
  static constexpr double kDefaultMinWindowMs = 10;
  // Largest time accepted anywhere (about 11.6 days), so nanosecond arithmetic cannot overflow.
  static constexpr double kMaxMs = 1e9;
  // lead_ms value meaning "the measured grant-to-post time" (the text form "lead=auto").
  static constexpr double kLeadAuto = -1;
  static_assert(kDefaultWarmup >= kMinWarmup);
  static_assert(kDefaultWindowGaps >= 1, "a window must be able to last one gap");

  WindowKind kind = WindowKind::kBurst;
  // round-robin and topology (global-priority: window_gaps, min_window_ms and the racks).
  uint32_t warmup = kDefaultWarmup;  // worker 0 iterations before T_iter is known
  double factor = kDefaultFactor;    // gap = T_iter / (factor · ring size)
  double window_gaps = kDefaultWindowGaps;
  double min_window_ms = kDefaultMinWindowMs;
  double lead_ms = kLeadAuto;  // round-robin and topology: kLeadAuto, or >= 0 (0: off)
  bool ask_ahead = false;      // round-robin and topology: ask=ahead
  // slots.
  double period_ms = 0;
  double slot_ms = 0;
  // topology: either racks > 0 (consecutive split) or rack_of (explicit, one per worker);
  // global-priority: either or neither (one rack).
  uint32_t racks = 0;
  std::vector<uint32_t> rack_of;

  // Parses the text form above; throws gw::Error naming what is wrong and listing the valid
  // forms (unknown policy or key, missing or repeated key, malformed or out-of-range number).
  static WindowSpec Parse(std::string_view text);
  // Canonical text form, every key written; Parse(ToString()) == *this.
  std::string ToString() const;
  // Throws gw::Error unless the spec works for num_workers workers: N >= 1, slots fit in the
  // period (N·slot <= period), racks <= N, rack_of has exactly N entries.
  void Validate(uint32_t num_workers) const;

  // The rack of every worker (call Validate first); all in rack 0 if no racks were given.
  std::vector<uint32_t> RackOf(uint32_t num_workers) const;
  Duration period() const;      // slots
  Duration slot() const;        // slots
  Duration min_window() const;  // round-robin, topology, global-priority
  // Its policy grants one partition at a time (WindowPolicyType::grants_parts).
  bool grants_parts() const;

  bool operator==(const WindowSpec&) const = default;
};

}  // namespace gw::sched
