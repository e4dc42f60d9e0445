// RDMA backend, hot path: one RC QP per peer. A one-sided write is an RDMA_WRITE of the
// payload followed by a write notice (net/rdma/wire.h): a SEND of the same 32-byte frame
// header the TCP backend uses (net/frame.h: region, offset, length, immediate). RC ordering
// places the payload before that receive completes, so the receiver learns what landed and
// where without touching the payload. Writes queued together share one notice. Control
// messages are SENDs from a small registered slab. Completions are polled by the device's
// poll thread, which calls Poll(); "poll thread" below means whichever thread runs the poll
// loop's round: the poll thread, or an application thread waiting on the device's completion
// queue while the poll thread is parked (net/completion.h), never both at once.
#pragma once

#include <rdma/rdma_cma.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "net/device.h"
#include "net/frame.h"
#include "net/rdma/wire.h"
#include "net/receive_budget.h"

namespace gw::rdma {

class RdmaDevice;

class RdmaConnection : public Connection, public std::enable_shared_from_this<RdmaConnection> {
 public:
  static constexpr uint32_t kRecvDepth = 32;   // receive buffers posted per connection
  static constexpr uint32_t kSendSlots = 16;   // control messages in flight
  static constexpr uint32_t kMaxSendWr = 256;  // send queue depth
  // SENDs (write notices, control frames) posted and not yet completed. Each consumes one of
  // the peer's kRecvDepth posted receives: never have more of them unacknowledged, or the
  // peer's NIC answers "receiver not ready" and the sender stalls for the RNR timer.
  static constexpr uint32_t kMaxSendsInFlight = kRecvDepth;
  // Messages (writes, frames) posted and not yet completed: what keeps the link busy.
  static constexpr uint32_t kMaxInFlight = 128;
  static_assert(WriteNotice::kMaxWrites * 2 <= kMaxSendWr, "a full notice's writes fit the SQ");
  // Writes that wait behind a full window go out together when it opens: one chain of work
  // requests (one doorbell), up to WriteNotice::kMaxWrites of them named by one notice.
  // Selective signalling: a notice asks for a completion only once kSignalEvery writes have
  // gone unsignaled, and only while a signaled one is in flight (RC completes a send queue in
  // order, so one completion covers every message before it). When that completion leaves
  // writes uncovered and nothing follows them, a signaled zero-length write (a flush) covers
  // them, so every write completes. On soft-RoCE each completion event, post and receive is a
  // system call or a thread wake-up, taken from the CPU that moves the data.
  static constexpr uint32_t kSignalEvery = 8;
  static constexpr uint32_t kFlushWrs = 1;  // send-queue room always kept for a flush
  // Notices up to this size are copied into the work request (max_inline_data asked for).
  static constexpr uint32_t kInlineBytes = 64;
  // Minimum RNR NAK timer (IB encoding 12 = 0.64 ms): rdma_cm leaves the QP at 0 = 655 ms.
  static constexpr uint8_t kMinRnrTimer = 12;
  static constexpr size_t kSlotBytes = FrameHeader::kSize + kMaxControlBytes;
  // RC messages may be up to 2 GiB; larger writes are split into several work requests.
  static constexpr size_t kMaxWriteChunk = size_t{1} << 30;
  static_assert(FrameHeader::kSize <= kInlineBytes, "a single write's notice travels inline");
  static_assert(WriteNotice::kMaxBytes <= kSlotBytes, "a receive slot holds a full notice");
  // Control payloads wait in pending_ as copies: a peer that stops reading while we keep
  // sending would grow it without end. Past this many waiting bytes the connection is aborted.
  static constexpr size_t kMaxQueuedControlBytes = 16 << 20;

  enum class State { kConnecting, kHandshake, kOpen, kFinished };  // only moves forward

  // Takes ownership of id (destroyed with the connection). outgoing: we called (Connect).
  RdmaConnection(RdmaDevice& device, rdma_cm_id* id, PeerId peer, ibv_pd* pd,
                 bool outgoing = false);
  ~RdmaConnection() override;

  // Control path: CQ on the device's channel, the QP on id, slabs, receives posted. Throws.
  void CreateQp(ibv_context* ctx, ibv_comp_channel* channel);
  // Frees every verbs resource now (idempotent); the object stays as a closed connection.
  void Release();

  PeerId peer() const override { return peer_; }
  void Write(std::span<const std::byte> src, const RemoteRegion& dst, uint64_t offset, uint32_t imm,
             uint64_t wr_id) override;
  void Send(uint16_t type, std::span<const uint8_t> payload) override;
  bool open() const override;
  void Close() override;
  void Abort(const std::string& why) override;

  // Handshake frames (device). close_after: end the connection once it is sent (a refusal).
  void SendFrame(FrameType type, std::span<const uint8_t> payload, bool close_after = false);
  void set_state(State s);
  // Once established: a short receiver-not-ready wait (best effort; logged if refused).
  void TuneEstablishedQp();
  State state() const;
  void set_handshake_deadline(std::chrono::steady_clock::time_point t) { deadline_ = t; }
  std::chrono::steady_clock::time_point handshake_deadline() const { return deadline_; }
  rdma_cm_id* id() const { return id_; }
  // The id's address when the connection was made: the device's maps are keyed by it, and it
  // stays valid as a key after Release destroys the id (id() is then null).
  rdma_cm_id* key() const { return key_; }
  bool outgoing() const { return outgoing_; }
  ibv_cq* cq() const { return cq_; }

  // Poll thread: drains the CQ and, with arm, re-arms it for the completion channel (busy
  // polling does not: it wants no events, and re-arming is a system call on rxe). If the peer
  // has disconnected, ends the connection only after that drain: what it sent before its
  // disconnect (a last write, its bye) is in the CQ and must be handled first.
  void Poll(bool arm = true);
  // CM thread: the peer disconnected (the poll thread finishes the connection).
  void MarkDisconnected() { peer_gone_ = true; }
  // Ends the connection (any thread); kPeerClosed is reported if it had been open.
  void Finish(bool ok, const std::string& why);

 private:
  struct Posted {  // a write (with the notice, if it carries one) or a frame on the send queue
    uint32_t wrs = 0;
    int slot = -1;         // control slot to free
    int notice_slot = -1;  // notice buffer to free
    bool is_send = false;  // a notice or a frame: holds one of the peer's receives
    bool is_write = false;
    bool close_after = false;
    bool signaled = false;
    uint64_t seq = 0;  // increasing; a signaled one's work request id
    uint64_t wr_id = 0;
    uint64_t length = 0;
  };
  struct Pending {  // waits for send-queue room or a control slot
    bool is_write = false;
    std::span<const std::byte> src;
    uint32_t lkey = 0;    // src's local key, looked up before queueing
    uint32_t region = 0;  // the target's id on the peer
    RegionHandle target;  // where the target is in the peer's memory
    uint64_t offset = 0;
    uint32_t imm = 0;
    uint64_t wr_id = 0;
    FrameType type = FrameType::kControl;
    std::vector<uint8_t> payload;
    bool close_after = false;
  };

  // Queues p behind what already waits and posts what the limits allow. Both return why a
  // post failed ("" if none did): the caller aborts the connection once mu_ is released.
  [[nodiscard]] std::string EnqueueLocked(Pending p);
  [[nodiscard]] std::string PostPendingLocked();
  // Appends the work requests of pending_'s first message (a frame, or up to
  // WriteNotice::kMaxWrites writes and their notice) to the chain; returns how many pending
  // entries it took, 0 if the first must wait.
  size_t ChainFrontLocked();
  size_t ChainWritesLocked();
  size_t ChainFrameLocked();
  void ChainFlushLocked();
  void PostRecv(uint32_t slot);
  void OnSendDone(uint64_t seq);
  void OnRecv(uint32_t slot, uint32_t len);
  void FailWrite(uint64_t wr_id, const std::string& why);

  RdmaDevice& device_;
  rdma_cm_id* id_;
  rdma_cm_id* const key_;
  const PeerId peer_;
  ibv_pd* pd_;
  const bool outgoing_;
  ibv_cq* cq_ = nullptr;
  std::byte* recv_slab_ = nullptr;
  std::byte* send_slab_ = nullptr;  // kSendSlots control slots, then the notices
  ibv_mr* recv_mr_ = nullptr;
  ibv_mr* send_mr_ = nullptr;
  bool released_ = false;
  // Control payloads handed over and not yet let go by the application: past its bound the
  // poll thread keeps each receive it empties unposted (parked_) until the budget resumes.
  std::shared_ptr<ReceiveBudget> budget_;  // set in CreateQp, before the first receive
  std::vector<uint32_t> parked_;           // poll thread only
  bool recv_paused_ = false;               // poll thread only
  std::atomic<bool> resume_due_{false};    // set by the budget's on_resume, any thread

  mutable std::mutex mu_;
  State state_ = State::kConnecting;
  uint32_t sq_used_ = 0;
  uint32_t sends_in_flight_ = 0;
  uint32_t inline_bytes_ = 0;  // what the QP copies inline (at least a header)
  std::deque<Posted> posted_;
  std::deque<Pending> pending_;
  size_t pending_control_bytes_ = 0;  // sum of pending_'s control payloads
  uint64_t next_seq_ = 1;
  uint32_t signaled_in_flight_ = 0;
  uint64_t last_write_addr_ = 0;  // the last chained write's target (a flush's)
  uint32_t last_write_rkey_ = 0;
  uint32_t unsignaled_run_ = 0;  // writes posted unsignaled since the last signaled notice
  // The chain being built (reused: no allocation per post). Capacities are reserved up
  // front, so pointers into them stay valid while a chain grows.
  std::vector<ibv_send_wr> chain_wr_;
  std::vector<ibv_sge> chain_sge_;
  std::vector<int> free_slots_;
  std::vector<Completion> done_scratch_;  // OnSendDone's (poll thread only)
  std::vector<int> free_notices_;
  bool bye_sent_ = false;
  std::atomic<bool> peer_gone_{false};
  std::chrono::steady_clock::time_point deadline_{};
};

}  // namespace gw::rdma
