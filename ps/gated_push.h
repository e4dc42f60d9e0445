// A worker's gradient push to one server, its writes posted only inside the windows that
// server grants (JobConfig::windows; the gate is sched/window_gate.h). This is the one place
// gradient writes are posted: every Connection::Write of a push goes through Pump, which asks
// the gate first. Gated, at most kMaxPosted writes are outstanding, so a window that runs out
// stops the push within that many parts' wire time; ungated (no windows) every write is
// posted at once, as without this class.
//
// A push has an id, which the worker's window request and the server's grant carry, and an
// iteration, for the records. Plain pushes: both are the iteration. Coded jobs push each
// message of a round on its own (one GatedPush per message index, so ungated messages
// overlap as before): id = round · messages + message, iteration = the round. Cancel stops
// a push whose round closed: what is not posted yet never is.
//
// Gated, the push asks its server for windows itself (Gating::ask): once at Start for the
// whole push, or, per partition (a policy that grants_parts: global-priority), for the ready
// partitions one window at a time. A per-partition window is asked for with the priority of the
// most urgent ready partition and carries ready partitions, most urgent first, until
// Gating::window_bytes were posted (at least one partition) or none is ready; the push then
// reports where the window's writes ended (the next request, with kNoneReady if nothing is
// ready), so the server knows when the window's last write landed. A grant names the first
// partition of its window; one for a partition already posted is ignored, except that a
// re-grant of the window in use (the server revoked it at its deadline and granted it again)
// reopens it.
//
// Ordered pushes (a layered workload's: ps/workload/workload.h) hold each write until Ready says
// backprop produced it; a push order (sched/push_queue.h: fifo, P3's priority, ByteScheduler's
// credit) then decides which ready write goes next and how many may be in flight, each write
// being one partition. Unordered pushes post in Add order, all ready at Start.
//
// Asked ahead (WindowSpec::ask_ahead; whole-push windows, unordered pushes): AskAhead, after
// Add and before Start, asks for the window while the gradient is still being computed,
// saying when it will be ready. A grant that arrives before Start is held: nothing is posted
// before Start. At Start, if the held window is still open the writes go at once and the
// window's notice says how long the grant waited (Gating::posted's held); if it ran out, the
// push missed its start: counted (missed_grants), and the push waits for the server's next
// grant (the server revokes the window at its deadline and keeps the request pending). Without
// a grant yet, Start waits for one as after an ordinary request.
//
// Each write is recorded: how long it was held back by a closed window, how long it queued
// behind the push's own earlier writes, and how long it was on the wire (posted until done:
// TCP, handed to the kernel; RDMA, acknowledged by the server's NIC).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "net/device.h"
#include "ps/results.h"  // WriteRecord
#include "sched/push_order_spec.h"
#include "sched/push_queue.h"
#include "sched/time.h"
#include "sched/window_gate.h"

namespace gw {

// Sends a window request for push `id` (WindowRequestMsg): the priority of the most urgent
// write it has ready, per partition which one (counted in posting order; 0 otherwise), and
// for a request asked ahead when the push will be ready (zero: it is ready now).
using WindowAsker = std::function<void(uint64_t id, uint32_t priority, uint32_t part_index,
                                       sched::Duration ready_in)>;

// Says that the first write of the window granted for push `id` (at partition part_index) is
// about to be posted (WindowPostedMsg), and how long its grant waited for the push to be ready
// (asked ahead; zero otherwise).
using WindowNotice = std::function<void(uint64_t id, uint32_t part_index, sched::Duration held)>;

// How a push gets its windows: none (ask empty: every write is posted at once), or by asking,
// for the whole push or one partition at a time; `posted` (optional) is told of each window's
// first write.
struct Gating {
  WindowAsker ask;
  bool per_part = false;
  uint64_t window_bytes = 0;  // per partition: bytes a window carries (0: one partition)
  WindowNotice posted;
};

class GatedPush {
 public:
  // Two parts outstanding keep the link busy (one on the wire while the next is handed to
  // the transport) and bound what still leaves after a whole-push window ends (a per-partition
  // window's bytes bound it there).
  static constexpr size_t kMaxPosted = 2;

  // Writes are posted with wr_id = wr_base + their index in the push; OnWriteDone takes
  // those ids (several pushes can share a connection with distinct bases).
  GatedPush(uint32_t server, Gating gating, uint64_t wr_base = 0)
      : server_(server), gating_(std::move(gating)), wr_base_(wr_base) {}
  // An ordered push (above) whose ready writes go in `order`.
  GatedPush(uint32_t server, Gating gating, const sched::PushOrderSpec& order)
      : server_(server), gating_(std::move(gating)), wr_base_(0), order_(order) {}

  void Bind(std::shared_ptr<Connection> conn, const RemoteRegion& dst) {
    conn_ = std::move(conn);
    dst_ = dst;
  }
  // A new push for `iteration`: Add its writes (in order), then Start.
  void Begin(uint64_t iteration) { Begin(iteration, iteration); }
  // The same for a push whose grants carry `id` (coded messages, above).
  void Begin(uint64_t id, uint64_t iteration);
  // priority: the write's layer in forward order (lower: needed sooner); ordered pushes only.
  void Add(std::span<const std::byte> src, uint64_t offset, uint32_t imm, uint32_t priority = 0);
  // Ordered pushes: write `index` (in Add order) exists now and may be posted. Throws
  // gw::Error for an unordered push, an index past the writes or one made ready twice.
  void Ready(size_t index, sched::TimePoint now);
  // Whole-push gating, unordered, between Add and Start: asks for the push's window now, its
  // writes expected ready in `ready_in` (Asked ahead, above). Throws gw::Error otherwise.
  void AskAhead(sched::Duration ready_in);
  // The push is ready: ungated, posts every write; gated, asks for a window (unless asked
  // ahead) and waits for OnGrant, or posts in a held grant's window.
  void Start(sched::TimePoint now);
  // A grant from the server that arrived at `now` (per partition: for partition part_index);
  // one for another push id or partition, or for a push with nothing left to post (finished or
  // cancelled), is stale: ignored and counted (stale_grants). A grant for the push's whole-push
  // window while one is open replaces it (a re-grant after a revocation, or round-robin's
  // warm-up ending). Before Start (asked ahead) it is held.
  void OnGrant(uint64_t id, sched::TimePoint now, int64_t window_ns, uint32_t part_index = 0);
  // Our write wr_id (wr_base + its index in the push) finished; posts the next one if the
  // window allows.
  void OnWriteDone(uint64_t wr_id, sched::TimePoint now);
  // The push is no longer wanted (its coded round closed): writes not yet posted are dropped,
  // those posted still complete (their source must stay valid until finished()). Unordered
  // pushes only (coded messages).
  void Cancel(sched::TimePoint now);

  bool finished() const { return done_ == writes_.size(); }
  bool cancelled() const { return cancelled_; }
  uint64_t id() const { return id_; }
  // Bytes of the push's writes (after Cancel: of those posted).
  uint64_t bytes() const;
  size_t writes_done() const { return done_; }
  // No write posted and not yet done (a completion now is not this push's).
  bool idle() const { return posted_ == done_; }
  // Forgets the push under way, e.g. when its connection was lost: its completions never
  // come (or are dropped by the caller), and the next Begin starts afresh.
  void Abandon() {
    Clear();
    queue_.reset();
  }
  // Total time pushes waited for windows (sched::WindowGate::waited).
  sched::Duration gate_waited() const { return gate_.waited(); }
  uint64_t windows_expired() const { return gate_.expired(); }
  uint64_t stale_grants() const { return stale_grants_; }
  // AskAhead was called for the push under way and it has not started.
  bool asked_ahead() const { return asked_ahead_ && !started_; }
  // Held grants (asked ahead) whose window ran out before the push was ready.
  uint64_t missed_grants() const { return missed_grants_; }
  // Records of finished writes, appended push after push; the caller may clear it.
  std::vector<WriteRecord>& records() { return records_; }
  const std::vector<WriteRecord>& records() const { return records_; }

 private:
  struct Pending {
    std::span<const std::byte> src;
    uint64_t offset = 0;
    uint32_t imm = 0;
    uint32_t priority = 0;
    bool ready = false;  // ordered pushes: Ready was called
    sched::TimePoint posted;
    sched::Duration gate_before{};  // gate_.waited() when posted, minus its value at Start
  };
  // Forgets the writes and the window state of the push under way (Begin and Abandon).
  void Clear();
  bool gated() const { return static_cast<bool>(gating_.ask); }
  void Pump(sched::TimePoint now);
  void PostReady(sched::TimePoint now);
  void Post(size_t index, sched::TimePoint now);
  // Per partition: asks for the next partition's window if one is ready and none is asked
  // for or granted, or asks again if a more urgent one became ready while waiting.
  void AskForPart(sched::TimePoint now);
  // Per partition: the window in use carried what it may; reports where its writes ended.
  void EndWindowUse(sched::TimePoint now);
  // Per partition: the priority of the most urgent ready partition not posted yet.
  std::optional<uint32_t> NextReadyPriority() const;

  const uint32_t server_;
  const Gating gating_;
  const uint64_t wr_base_;
  std::shared_ptr<Connection> conn_;
  RemoteRegion dst_;
  sched::WindowGate gate_;
  uint64_t id_ = 0;
  uint64_t iteration_ = 0;
  bool cancelled_ = false;
  std::vector<Pending> writes_;
  // Ordered pushes: the order, and the queue of the push under way (made at Begin).
  std::optional<sched::PushOrderSpec> order_;
  std::optional<sched::PushQueue> queue_;
  // Index of each posted write, in posting order: a write's wr_id is wr_base + its place here
  // (unordered pushes post in index order, so there it is the index itself).
  std::vector<size_t> posted_order_;
  size_t posted_ = 0, done_ = 0;
  // Per partition: the partition (== posted_ when it was asked) a window was asked for and its
  // priority; whether a window is in use, from which partition on, with how many bytes posted.
  bool started_ = false;
  std::optional<size_t> asked_part_;
  uint32_t asked_priority_ = 0;
  bool granted_part_ = false;
  size_t window_first_ = 0;
  uint64_t window_posted_bytes_ = 0;
  // A grant was taken and its window's first write is not posted yet (Gating::posted).
  bool notice_due_ = false;
  // Asked ahead: the request went before Start; the held grant's arrival, if one came before
  // Start; how long the window's grant waited for Start (for its notice).
  bool asked_ahead_ = false;
  std::optional<sched::TimePoint> held_since_;
  sched::Duration held_{};
  uint64_t stale_grants_ = 0;
  uint64_t missed_grants_ = 0;
  sched::TimePoint ready_;
  sched::Duration gate_at_start_{};
  std::vector<WriteRecord> records_;
};

}  // namespace gw
