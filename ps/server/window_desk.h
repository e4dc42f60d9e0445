// The server's write windows (JobConfig::windows, sched/window_scheduler.h) and R2SP's batch
// tuning (sched/batch_tuner.h): the scheduler, every worker's request and open window, the
// windows log (windows.csv) and the rows behind each push. The core tells the desk what
// happened (a request, a part or a whole push landed, a worker gone, a coded round closed)
// and sends the grants the desk returns; the desk writes on no connection.
//
// A push's id is what requests and grants carry: the iteration, or for coded jobs
// round · messages + message (a window's iteration is then the round).
//
// Per-partition windows (a policy that grants_parts, uncoded jobs): a push stays asked from
// its first request until it landed whole, and the scheduler sees one request per window. A
// request names the partition its window starts at (part_index, counted in posting order); a
// request naming a later partition while that window is open says where the window's writes
// ended (ps/gated_push.h), and the window ends once they all landed (parts land in posting
// order). That request then waits for its turn unless it said kNoneReady. A grant names the
// partition its window starts at.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "ps/job.h"
#include "ps/messages.h"
#include "ps/results.h"
#include "ps/sync_rule.h"
#include "sched/batch_tuner.h"
#include "sched/window_scheduler.h"

namespace gw {

class WindowDesk {
 public:
  struct Grant {
    uint32_t worker;
    WindowGrantMsg msg;
  };
  using Grants = std::vector<Grant>;

  // rule: read for the clocks requests must match and for whether updates aggregate; t0: the
  // server's start, the origin of the windows log's times.
  WindowDesk(const JobConfig& job, uint32_t rank, const SyncRule& rule, TimePoint t0);

  bool enabled() const { return windows_.has_value(); }

  // Uncoded: whether the request of a live worker w is the one expected: windows on, for its
  // current iteration, and none open or a repeat of the open one (a layered push asks again
  // when a more urgent tensor joins it: req.priority, lower is sooner). The core warns about
  // others and drops them.
  bool Expects(uint32_t w, const WindowRequestMsg& req) const;
  // A request asked ahead (req.ready_in_ns, whole-push windows only) is pending from now, its
  // turn timed by now + ready_in (sched/window_scheduler.h, Asked ahead); a ready_in outside
  // 0..the job's timeout is warned about (rate-limited) and taken as 0.
  Grants OnRequest(uint32_t w, const WindowRequestMsg& req, TimePoint now);
  // Coded: worker w's message `push` is ready, for the open round it works on (the core
  // ignores others). A request for a newer message while one is still open (its message did
  // not land whole) replaces that one.
  Grants OnCodedRequest(uint32_t w, uint64_t push, TimePoint now);

  // w's writer posted the first write of the window granted for msg (WindowPostedMsg): logged
  // (posted_s, and held_s: how long the grant waited for a push asked ahead, at most the
  // window's grant-to-post time) and told to the scheduler, which may grant the next turn
  // early. A notice for a window that ended (revoked, cancelled: a race, not an error) or never
  // was, or a repeat, changes nothing and is counted (stale_notices).
  Grants OnPosted(uint32_t w, const WindowPostedMsg& msg, TimePoint now);
  // Part of w's push landed (coded: part `part` of push `push`, checked against its grant).
  // Per-partition windows: may end w's window and grant the next.
  Grants OnPartLanded(uint32_t w, TimePoint now);
  void OnCodedPartLanded(uint32_t w, uint64_t push, uint32_t part, TimePoint now);
  // Uncoded: w's push for `iteration` landed whole; the link is free, so the next windows
  // are granted before its update is applied.
  Grants OnPushLanded(uint32_t w, uint64_t iteration, TimePoint now);
  // Coded: w's message `push` landed whole; true if it ended w's window (the caller polls
  // once the round's fate is known: a grant for a round about to close would waste the link).
  bool OnMessageLanded(uint32_t w, uint64_t push, TimePoint now);
  // w is done or lost: its turn, request and window go.
  Grants OnGone(uint32_t w, TimePoint now);
  // Coded: a round of this length closed; its requests and windows hold no turn any more.
  Grants OnRoundClosed(Duration round, TimePoint now);

  // The grants due now, and the windows that ended since the last poll recorded.
  Grants Poll(TimePoint now);
  Grants PollIfDue(TimePoint now);
  std::optional<TimePoint> NextEvent() const;

  // Rows behind worker w's gradient being applied: --batch, or as its request reported them
  // (--batch too for a push that came without a request: never weighted 0).
  uint64_t RowsOf(uint32_t w) const;
  std::vector<uint64_t> Rows() const;
  const std::vector<WindowRow>& log() const { return rows_; }
  // How many rows of log(), from the first, are final: their window ended and their push
  // landed or was given up (windows.csv streams these; the rest may still change).
  size_t settled_rows() const;
  uint64_t unwindowed_writes() const { return unwindowed_writes_; }
  uint64_t stale_notices() const { return stale_notices_; }

 private:
  // How a worker's window (or its request) ends. Landed: its push arrived. Removed: the
  // worker is gone (done or lost). Coded jobs: Closed, its round closed first; Abandoned, it
  // asked for its next message. The last two withdraw the request.
  enum class End { kLanded, kRemoved, kClosed, kAbandoned };
  static const char* Name(End e);
  struct Worker {
    bool asked = false;  // a request is open (one at a time)
    uint64_t push = 0;
    uint64_t iteration = 0;
    uint32_t message = 0;
    std::optional<uint64_t> granted_push;  // coded: the last push granted a window
    TimePoint asked_at;
    std::optional<size_t> row;      // the open window's row in rows_
    std::vector<size_t> push_rows;  // every window row of the push asked for
    uint32_t push_batch = 0;        // --batch-tuning: the rows behind the push being received
    // Per-partition windows: the partition the window asked for starts at (its request or
    // window open while part_open; granted once a grant went out), where its writes end once
    // reported, the push's parts landed, and a request for the next window waiting its turn.
    uint32_t part = 0;
    bool part_open = false;
    bool part_granted = false;
    std::optional<uint32_t> part_end;
    uint32_t parts_landed = 0;
    std::optional<std::pair<uint32_t, uint32_t>> next_part;  // (part_index, priority)
  };

  void Ask(uint32_t w, uint64_t push, uint64_t iteration, uint32_t message, uint32_t priority,
           TimePoint now, TimePoint ready_at = TimePoint::min());
  // Per-partition windows: a request of the asked push w for partition req.part_index.
  Grants OnPartRequest(uint32_t w, const WindowRequestMsg& req, TimePoint now);
  void AskPart(uint32_t w, uint32_t part, uint32_t priority, TimePoint now);
  // Ends w's per-partition window if every write of it landed, and asks for the next one.
  bool MaybeEndPart(uint32_t w, TimePoint now);
  // Ends worker w's window or request (nothing if it has none open).
  bool EndWindow(uint32_t w, End how, TimePoint now);
  void EndRow(uint32_t w, const char* how, TimePoint now);  // of w's open window, if any
  uint32_t NextBatch(uint32_t w);
  double Since(TimePoint t) const { return std::chrono::duration<double>(t - t0_).count(); }

  const JobConfig& job_;
  const SyncRule& rule_;
  const int messages_;   // coded: a round's messages per worker (0 uncoded)
  const bool per_part_;  // uncoded, and the policy grants_parts
  const TimePoint t0_;
  std::optional<sched::WindowScheduler> windows_;
  std::optional<sched::BatchTuner> tuner_;  // --batch-tuning, server 0
  bool tuning_logged_ = false;
  std::vector<Worker> workers_;
  std::vector<sched::WindowScheduler::Grant> due_;
  std::vector<WindowRow> rows_;
  uint64_t unwindowed_ = 0;         // pushes that arrived without a window request
  uint64_t unwindowed_writes_ = 0;  // coded: message parts that landed without a grant
  uint64_t stale_notices_ = 0;
};

}  // namespace gw
