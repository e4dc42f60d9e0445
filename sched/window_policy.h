// The interface one write-window policy implements (the policies and their rules are
// described in sched/window_scheduler.h). WindowScheduler owns the workers' request and
// window state and the revocation of windows at their deadlines, which every policy shares;
// the policy decides when pending workers are granted and with what deadline, and keeps
// whatever it needs for that (rings, slots). The scheduler tells it about every window that
// opens or closes. Stateless parts (name, keys, checks) live in WindowPolicyType
// (sched/window_registry.h); a policy is one file holding both.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sched/time.h"

namespace gw::sched {

// What paces ring turns (see Pacing at the top of sched/window_scheduler.h).
enum class Pacing { kIterations, kRounds };

struct WindowGrant {
  uint32_t worker;
  TimePoint start;  // == the Poll time
  TimePoint deadline;
  // Granted by a ring's long-trip rule while another of its windows was open: a transfer after
  // the latest grant, whether or not that one's writer posted (sched/window_scheduler.h).
  bool ahead = false;
};

// One worker as the scheduler tracks it.
struct WindowWorker {
  bool live = true;
  bool pending = false;     // has a push not Done yet (held or waiting)
  bool holding = false;     // has an open window
  bool progressed = false;  // Progress seen in the open window
  TimePoint start;          // of the open window
  TimePoint deadline;       // of the open window
  TimePoint queued;         // when its request started waiting (kRounds: turn order)
  // When the open window's writer said it posted its first write (Posted), if it did.
  std::optional<TimePoint> posted;
  // Of the pending request: the forward-pass index of the most urgent tensor it carries (lower
  // = needed sooner by the next forward pass). Only global-priority reads it; a request that
  // carries none has 0, so every other policy sees all requests alike.
  uint32_t priority = 0;
  // Of the pending request: when its push is expected ready (a request asked ahead,
  // WindowSpec::ask_ahead); TimePoint::min() for a push ready when asked. Only rings read it.
  TimePoint ready_at = TimePoint::min();

  bool waiting() const { return live && pending && !holding; }
};

// What a policy sees when it decides.
struct WindowView {
  const std::vector<WindowWorker>& workers;
  bool warmed_up;       // T_iter (or, under kRounds, the warm-up rounds) measured
  TimePoint last_seen;  // latest time passed to the scheduler
};

// How a policy acts in Poll (the scheduler records the window and the grant to send).
class WindowOpener {
 public:
  // Opens w's window [now, deadline); ahead: see WindowGrant.
  virtual void Open(uint32_t w, TimePoint deadline, bool ahead) = 0;
  // Gives w's open window a new deadline, sent as a grant starting now.
  virtual void Rebound(uint32_t w, TimePoint deadline) = 0;

 protected:
  ~WindowOpener() = default;
};

class WindowPolicy {
 public:
  virtual ~WindowPolicy() = default;
  virtual std::unique_ptr<WindowPolicy> Clone() const = 0;

  // Poll, after windows past their deadline were revoked: open (or rebound) what is due now.
  virtual void Grant(const WindowView& view, TimePoint now, WindowOpener& opener) = 0;
  // When Grant would next act if nothing else happens (may be in the past: act at once), or
  // nullopt. The scheduler adds the deadlines of open windows itself.
  virtual std::optional<TimePoint> NextGrant(const WindowView& view) const = 0;

  // Bookkeeping the scheduler reports; a policy that keeps nothing ignores them.
  virtual void Opened(uint32_t w) {}
  virtual void Closed(uint32_t w, TimePoint end) {}
  virtual void PushDone(uint32_t w, Duration push) {}  // w's window ended in Done after push
  // w posted its first write `handoff` after its window opened (the grant's trip and the
  // writer's turnaround), and its window ended in Done `busy` after that post.
  virtual void Posted(uint32_t w, Duration handoff) {}
  virtual void Transferred(uint32_t w, Duration busy) {}
  // w's window was revoked at its deadline, `window` after its start, while w made progress.
  virtual void CutWhileProgressing(uint32_t w, Duration window) {}
  // T_iter measured or updated (Pacing::kIterations only).
  virtual void IterationTime(Duration t_iter) {}

  // Instrumentation (WindowScheduler's gap, push_time and window_bound).
  virtual Duration gap(uint32_t w) const { return Duration::zero(); }
  virtual Duration push_time(uint32_t w) const { return Duration::zero(); }
  virtual Duration window_bound(uint32_t w) const = 0;
  virtual Duration lead(uint32_t w) const { return Duration::zero(); }
};

// Grants every waiting worker an open-ended window (burst, and round-robin's warm-up).
void GrantEveryWaiting(const WindowView& view, WindowOpener& opener);
bool AnyWaiting(const WindowView& view);

}  // namespace gw::sched
