// TCP backend, hot path: posting writes and control messages, and the receive loop that puts
// each write's payload into the target region after checking it against what this peer may
// write (through a receive buffer, or for a large payload straight in; see rx_buf_). Socket I/O
// runs on the device's I/O thread, but for one shortcut: a small frame posted while nothing is
// queued is sent at once from the posting thread (see kInlineSendBytes).
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/device.h"
#include "net/frame.h"
#include "net/receive_budget.h"

namespace gw::tcp {

class TcpDevice;

class TcpConnection : public Connection, public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(TcpDevice& device, boost::asio::ip::tcp::socket socket, PeerId peer);
  ~TcpConnection() override;

  PeerId peer() const override { return peer_; }
  void Write(std::span<const std::byte> src, const RemoteRegion& dst, uint64_t offset, uint32_t imm,
             uint64_t wr_id) override;
  void Send(uint16_t type, std::span<const uint8_t> payload) override;
  // Ahead of every frame not yet started: frames are never interleaved, so it waits for the
  // rest of the one on the wire (and for what the kernel's send buffer already holds).
  void SendAhead(uint16_t type, std::span<const uint8_t> payload) override;
  bool sends_ahead() const override { return true; }
  bool open() const override { return open_.load(); }
  void Close() override;
  void Abort(const std::string& why) override;

  // I/O thread: starts the receive loop once the handshake is done.
  void Start();
  // I/O thread: ends the connection now, reporting why (peer misbehaved, device shutdown).
  void AbortNow(const std::string& why);

 private:
  struct SendOp {
    HeaderBytes header;
    std::span<const std::byte> payload;
    std::vector<uint8_t> owned;  // control payload copy
    // A control payload still in the caller's memory: copied into owned only when queued (a
    // frame sent inline needs no copy: 32 KiB cost ~1 us on every message).
    bool caller_payload = false;
    uint64_t wr_id = 0;
    bool is_write = false;
    bool is_bye = false;
    size_t sent = 0;
  };

  // Reports a write that was never sent as done and failed.
  void FailWrite(uint64_t wr_id, const std::string& why);
  // Under send_mu_, nothing queued, the socket open: sends what the kernel takes of op now,
  // without blocking, from the calling thread; adds it to op.sent. A failure sends nothing
  // (the I/O thread's send of the op meets it and ends the connection).
  void SendInline(SendOp& op);
  void Enqueue(SendOp op, bool ahead = false);
  SendOp ControlOp(uint16_t type, std::span<const uint8_t> payload) const;
  // Under send_mu_: the op on the wire (picked from ahead_q_ first when none is), or nullptr.
  SendOp* CurrentOp();
  void SendNext();
  void OnSent(const boost::system::error_code& ec, size_t n);
  // Receiving (I/O thread). Parse takes every whole frame rx_buf_ holds, then reads more;
  // ReadMore reads into rx_buf_, ReadPayload the rest of a large payload straight into its
  // target; OnHeader checks a header and points rx_dst_ at where its payload goes (false: the
  // connection ended); OnPayloadDone reports the frame (false: the budget paused reading).
  void Parse();
  void ReadMore();
  void OnReadError(const boost::system::error_code& ec);
  bool OnHeader();
  void ReadPayload();
  bool OnPayloadDone();
  void Finish(bool ok, const std::string& why);

  TcpDevice& device_;
  boost::asio::ip::tcp::socket socket_;
  const PeerId peer_;
  std::string remote_;  // "ip:port", for log lines

  // Control payloads are copied into the queue: a peer that stops reading while we keep
  // sending would grow it without end. Past this many queued bytes the connection is aborted.
  static constexpr size_t kMaxQueuedControlBytes = 16 << 20;
  static_assert(kMaxQueuedControlBytes >= 16 * kMaxControlBytes, "room for a burst");
  // A frame of at most this many bytes posted while the queues are empty goes out from the
  // posting thread: handing it to the I/O thread costs a wake-up (~10 us, as much as the
  // loopback round trip itself) on every window request, grant and small tensor. Larger
  // frames stay on the I/O thread: copying megabytes into the kernel would stall the caller.
  static constexpr size_t kInlineSendBytes = FrameHeader::kSize + kMaxControlBytes;

  std::mutex send_mu_;  // also held while an inline send uses the socket, and to close it
  std::deque<SendOp> send_q_;
  std::deque<SendOp> ahead_q_;       // SendAhead's, sent before send_q_'s next frame
  bool in_frame_ = false;            // an op was started and is not wholly sent
  bool frame_from_ahead_ = false;    // ... and it is ahead_q_'s front (else send_q_'s)
  bool bye_queued_ = false;          // after a bye nothing goes ahead of it
  size_t queued_control_bytes_ = 0;  // sum of both queues' owned payloads
  bool sending_ = false;             // a SendNext chain is running on the I/O thread
  std::atomic<bool> open_{true};
  bool closing_ = false;  // we sent our bye; waiting for the peer's end of stream
  bool finished_ = false;

  // Bytes are read into rx_buf_ as many as the kernel has, up to its size: a small frame's
  // header and payload in one read (and often the frames behind it), not a read for each and a
  // third that finds the socket empty, each a trip through the reactor (16 B control half round
  // trip on loopback: 14.5 -> 11 us, sockperf 9.5 us, tcp_latency_bench). A payload is copied out
  // only once its header passed every check; what it still lacks when rx_buf_ is empty and is more
  // than kRxBufBytes is read straight into its target, so large writes are not copied twice. Sized
  // for the largest control frame, so any control message can arrive in one read.
  static constexpr size_t kRxBufBytes = FrameHeader::kSize + kMaxControlBytes;
  // After a frame larger than rx_buf_, the next read takes at most this much: the next frame
  // is likely large as well, and all of rx_buf_ would copy 64 KiB of its payload twice.
  static constexpr size_t kReadAfterLargeBytes = 4096;
  std::unique_ptr<std::byte[]> rx_buf_;
  size_t rx_begin_ = 0;  // rx_buf_[rx_begin_, rx_end_) is read and not yet parsed
  size_t rx_end_ = 0;
  bool rx_in_payload_ = false;  // rx_ was parsed and its payload is not all there yet
  bool rx_last_large_ = false;  // the last frame was larger than rx_buf_
  FrameHeader rx_{};
  std::byte* rx_dst_ = nullptr;  // where the current payload goes
  size_t rx_done_ = 0;
  std::vector<uint8_t> rx_control_;
  // Control payloads handed over and not yet let go by the application: past its bound the
  // receive loop stops (the bytes wait in the kernel, the peer's sends block) until it resumes.
  std::shared_ptr<ReceiveBudget> budget_;
};

}  // namespace gw::tcp
