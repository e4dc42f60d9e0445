#include "net/tcp/connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "net/tcp/device.h"

namespace gw::tcp {

namespace asio = boost::asio;

TcpConnection::TcpConnection(TcpDevice& device, asio::ip::tcp::socket socket, PeerId peer)
    : device_(device), socket_(std::move(socket)), peer_(peer) {
  boost::system::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  remote_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

TcpConnection::~TcpConnection() {
  if (budget_) budget_->Detach();
}

void TcpConnection::Write(std::span<const std::byte> src, const RemoteRegion& dst, uint64_t offset,
                          uint32_t imm, uint64_t wr_id) {
  if (std::string why = WriteOutOfBounds(src.size(), dst, offset); !why.empty()) {
    return FailWrite(wr_id, why);
  }
  // TCP's descriptors carry no handle (the receiver finds the region by id): one with a handle
  // was made by another backend.
  if (!dst.handle_bytes().empty()) {
    return FailWrite(wr_id, "remote region " + std::to_string(dst.id) + ": a handle of " +
                                std::to_string(dst.handle_bytes().size()) +
                                " bytes, but TCP's descriptors have none");
  }
  FrameHeader h;
  h.type = FrameType::kWrite;
  h.imm = imm;
  h.region = dst.id;
  h.offset = offset;
  h.length = src.size();
  SendOp op;
  op.header = EncodeHeader(h);
  op.payload = src;
  op.wr_id = wr_id;
  op.is_write = true;
  Enqueue(std::move(op));
}

void TcpConnection::FailWrite(uint64_t wr_id, const std::string& why) {
  device_.cq().Push(Completion::FailedWrite(peer_, wr_id, why));
}

TcpConnection::SendOp TcpConnection::ControlOp(uint16_t type,
                                               std::span<const uint8_t> payload) const {
  if (payload.size() > kMaxControlBytes) {
    throw Error("control message of " + std::to_string(payload.size()) + " bytes exceeds " +
                std::to_string(kMaxControlBytes));
  }
  FrameHeader h;
  h.type = FrameType::kControl;
  h.imm = type;
  h.length = payload.size();
  SendOp op;
  op.header = EncodeHeader(h);
  op.payload = std::as_bytes(payload);
  op.caller_payload = true;
  return op;
}

void TcpConnection::Send(uint16_t type, std::span<const uint8_t> payload) {
  Enqueue(ControlOp(type, payload));
}

void TcpConnection::SendAhead(uint16_t type, std::span<const uint8_t> payload) {
  Enqueue(ControlOp(type, payload), /*ahead=*/true);
}

void TcpConnection::Close() {
  FrameHeader h;
  h.type = FrameType::kBye;
  SendOp op;
  op.header = EncodeHeader(h);
  op.is_bye = true;
  Enqueue(std::move(op));
}

void TcpConnection::SendInline(SendOp& op) {
  std::array<iovec, 2> iov;
  size_t n = 0;
  if (op.sent < FrameHeader::kSize) {
    iov[n++] = {op.header.data() + op.sent, FrameHeader::kSize - op.sent};
  }
  const size_t done = op.sent > FrameHeader::kSize ? op.sent - FrameHeader::kSize : 0;
  if (done < op.payload.size()) {
    iov[n++] = {const_cast<std::byte*>(op.payload.data()) + done, op.payload.size() - done};
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = n;
  // MSG_NOSIGNAL: a peer gone is an error here, not SIGPIPE; MSG_DONTWAIT: never block.
  const ssize_t sent = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent > 0) op.sent += static_cast<size_t>(sent);
}

void TcpConnection::Enqueue(SendOp op, bool ahead) {
  const bool is_write = op.is_write;
  const uint64_t wr_id = op.wr_id;
  const size_t frame_bytes = FrameHeader::kSize + op.payload.size();
  bool queued = false;
  bool start = false;
  bool overflow = false;
  bool sent_inline = false;
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    // Nothing queued (no chain running) and no bye: the frame may go out now, in order.
    if (open_.load() && !sending_ && !bye_queued_ && !op.is_bye &&
        frame_bytes <= kInlineSendBytes) {
      SendInline(op);
      sent_inline = op.sent == frame_bytes;
    }
    if (!sent_inline && open_.load()) {
      if (op.caller_payload) {  // the caller's memory is theirs again once Send returns
        op.owned.assign(reinterpret_cast<const uint8_t*>(op.payload.data()),
                        reinterpret_cast<const uint8_t*>(op.payload.data()) + op.payload.size());
        op.payload = std::as_bytes(std::span<const uint8_t>(op.owned));
        op.caller_payload = false;
      }
      if (queued_control_bytes_ + op.owned.size() > kMaxQueuedControlBytes) {
        overflow = true;
      } else {
        queued_control_bytes_ += op.owned.size();
        bye_queued_ = bye_queued_ || op.is_bye;
        // deque::push_back keeps references to other elements valid: the op on the wire stays.
        (ahead && !bye_queued_ ? ahead_q_ : send_q_).push_back(std::move(op));
        queued = true;
        start = !sending_;
        sending_ = true;
      }
    }
  }
  if (sent_inline) {
    if (is_write)
      device_.cq().Push(Completion::WriteDone(peer_, wr_id, frame_bytes - FrameHeader::kSize));
    return;
  }
  if (overflow) {
    Abort("the peer is not reading: " + std::to_string(kMaxQueuedControlBytes >> 20) +
          " MiB of control messages queued for it");
  }
  if (!queued) {
    if (is_write)
      FailWrite(wr_id, "connection to " + device_.options().roles.Name(peer_) + " is closed");
    return;
  }
  // One post per idle->busy transition, not per message: a running chain picks new ops up.
  if (start) device_.Post([self = shared_from_this()] { self->SendNext(); });
}

TcpConnection::SendOp* TcpConnection::CurrentOp() {
  if (!in_frame_) {
    if (ahead_q_.empty() && send_q_.empty()) return nullptr;
    frame_from_ahead_ = !ahead_q_.empty();
    in_frame_ = true;
  }
  return frame_from_ahead_ ? &ahead_q_.front() : &send_q_.front();
}

void TcpConnection::SendNext() {
  SendOp* op = nullptr;
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    op = finished_ ? nullptr : CurrentOp();
    if (op == nullptr) {
      sending_ = false;
      return;
    }
  }
  // write_some with the whole remainder: the kernel takes what fits (asio's async_write would
  // cap each call at 64 KiB, costing line rate on fast links). Buffer sequences go by value:
  // asio keeps its copy until the operation completes, which may be long after we return.
  auto on_sent = [self = shared_from_this()](const boost::system::error_code& ec, size_t sent) {
    self->OnSent(ec, sent);
  };
  if (op->sent < FrameHeader::kSize) {
    const std::array<asio::const_buffer, 2> bufs = {
        asio::buffer(op->header.data() + op->sent, FrameHeader::kSize - op->sent),
        asio::buffer(op->payload.data(), op->payload.size())};
    socket_.async_write_some(bufs, std::move(on_sent));
  } else {
    const size_t done = op->sent - FrameHeader::kSize;
    socket_.async_write_some(asio::buffer(op->payload.data() + done, op->payload.size() - done),
                             std::move(on_sent));
  }
}

void TcpConnection::OnSent(const boost::system::error_code& ec, size_t n) {
  if (finished_) return;
  if (ec) {
    Finish(false, "send failed: " + ec.message());
    return;
  }
  SendOp* op;
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    op = CurrentOp();
  }
  op->sent += n;
  if (op->sent < FrameHeader::kSize + op->payload.size()) {
    SendNext();
    return;
  }
  if (op->is_write) device_.cq().Push(Completion::WriteDone(peer_, op->wr_id, op->payload.size()));
  const bool bye = op->is_bye;
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    std::deque<SendOp>& q = frame_from_ahead_ ? ahead_q_ : send_q_;
    queued_control_bytes_ -= q.front().owned.size();
    q.pop_front();
    in_frame_ = false;
  }
  if (bye) {
    // Half-close and keep reading until the peer's end of stream, so nothing it sent before
    // seeing our bye is lost to a reset.
    closing_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  SendNext();
}

void TcpConnection::Start() {
  rx_buf_ = std::make_unique<std::byte[]>(kRxBufBytes);
  budget_ = ReceiveBudget::Create([weak = weak_from_this()] {
    // Called from the thread that let go of the bytes: the reading resumes on the I/O thread.
    if (auto self = weak.lock()) {
      self->device_.Post([self] {
        if (!self->finished_) self->Parse();
      });
    }
  });
  Parse();
}

void TcpConnection::Parse() {
  while (true) {
    if (!rx_in_payload_) {
      if (rx_end_ - rx_begin_ < FrameHeader::kSize) return ReadMore();
      if (!OnHeader()) return;
    }
    const size_t n = std::min(rx_.length - rx_done_, rx_end_ - rx_begin_);
    if (n > 0) {
      std::memcpy(rx_dst_ + rx_done_, rx_buf_.get() + rx_begin_, n);
      rx_begin_ += n;
      rx_done_ += n;
    }
    if (rx_done_ < rx_.length) {  // rx_buf_ is empty
      return rx_.length - rx_done_ > kRxBufBytes ? ReadPayload() : ReadMore();
    }
    rx_in_payload_ = false;
    if (!OnPayloadDone()) return;
  }
}

void TcpConnection::ReadMore() {
  // What is left is less than a header (or nothing): move it to the front, read behind it.
  const size_t left = rx_end_ - rx_begin_;
  if (left > 0 && rx_begin_ > 0) std::memmove(rx_buf_.get(), rx_buf_.get() + rx_begin_, left);
  rx_begin_ = 0;
  rx_end_ = left;
  const size_t room = (rx_last_large_ ? kReadAfterLargeBytes : kRxBufBytes) - left;
  // asio tries each read at once (Boost 1.74 stops only after a read of 0 bytes), so once per
  // message a read finds the socket empty (EAGAIN) before the reactor waits. Waiting instead
  // when the last read left room (async_wait, then recv) was measured worse by hand: one
  // recvfrom less per message but 1.5 epoll_waits and 7x the futex calls on the application
  // thread (16 B control ping-pong under perf trace, tcp_latency_bench).
  // A large buffer still takes a small frame's header and payload in one read.
  socket_.async_read_some(
      asio::buffer(rx_buf_.get() + left, room),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        if (self->finished_) return;
        if (ec) return self->OnReadError(ec);
        self->rx_end_ += n;
        self->Parse();
      });
}

void TcpConnection::OnReadError(const boost::system::error_code& ec) {
  if (rx_in_payload_) {
    Finish(false, ec == asio::error::eof ? "peer hung up in the middle of a frame"
                                         : "receive failed: " + ec.message());
  } else if (closing_) {
    Finish(true, "closed");
  } else if (ec == asio::error::eof) {
    Finish(false, "peer hung up without a bye");
  } else {
    Finish(false, "receive failed: " + ec.message());
  }
}

bool TcpConnection::OnHeader() {
  HeaderBytes bytes;
  std::memcpy(bytes.data(), rx_buf_.get() + rx_begin_, FrameHeader::kSize);
  rx_begin_ += FrameHeader::kSize;
  std::string why;
  const auto h = ParseHeader(bytes, &why);
  if (!h) {
    AbortNow("malformed frame: " + why);
    return false;
  }
  rx_ = *h;
  rx_done_ = 0;
  switch (rx_.type) {
    case FrameType::kWrite: {
      Region* region = device_.FindRegion(rx_.region);
      if (region == nullptr) {
        AbortNow("write to unknown region " + std::to_string(rx_.region));
        return false;
      }
      if (!(region->writer() == peer_)) {
        AbortNow("write to region " + std::to_string(rx_.region) + " which belongs to " +
                 device_.options().roles.Name(region->writer()));
        return false;
      }
      const size_t size = region->bytes().size();
      if (rx_.offset > size || rx_.length > size - rx_.offset) {
        AbortNow("write of " + std::to_string(rx_.length) + " bytes at offset " +
                 std::to_string(rx_.offset) + " outside region " + std::to_string(rx_.region) +
                 " of " + std::to_string(size) + " bytes");
        return false;
      }
      rx_dst_ = region->bytes().data() + rx_.offset;
      break;
    }
    case FrameType::kControl:
      if (rx_end_ - rx_begin_ >= rx_.length) {  // all there: one copy, no zero-fill first
        const auto* from = reinterpret_cast<const uint8_t*>(rx_buf_.get() + rx_begin_);
        rx_control_.assign(from, from + rx_.length);
        rx_begin_ += rx_.length;
        rx_done_ = rx_.length;
      } else {
        rx_control_.resize(rx_.length);
      }
      rx_dst_ = reinterpret_cast<std::byte*>(rx_control_.data());
      break;
    case FrameType::kBye:
      Finish(true, "closed by peer");
      return false;
    default:
      AbortNow("unexpected frame type " + std::to_string(static_cast<int>(rx_.type)) +
               " after the handshake");
      return false;
  }
  rx_in_payload_ = true;
  return true;
}

void TcpConnection::ReadPayload() {
  // read_some straight into the destination, whole remainder at once (see SendNext).
  socket_.async_read_some(
      asio::buffer(rx_dst_ + rx_done_, rx_.length - rx_done_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        if (self->finished_) return;
        if (ec) return self->OnReadError(ec);
        self->rx_done_ += n;
        self->Parse();
      });
}

bool TcpConnection::OnPayloadDone() {
  rx_last_large_ = FrameHeader::kSize + rx_.length > kRxBufBytes;
  Completion c;
  c.peer = peer_;
  c.length = rx_.length;
  if (rx_.type == FrameType::kWrite) {
    c.kind = CompletionKind::kWriteLanded;
    c.region = rx_.region;
    c.offset = rx_.offset;
    c.imm = rx_.imm;
  } else {
    c.kind = CompletionKind::kControl;
    c.control_type = static_cast<uint16_t>(rx_.imm);
    c.payload = std::move(rx_control_);
    c.credit = budget_->Charge(c.payload.size());
    rx_control_ = {};
  }
  device_.cq().Push(std::move(c));
  return !budget_->PauseIfOver();  // paused: the budget's on_resume parses on
}

void TcpConnection::Abort(const std::string& why) {
  device_.Post([self = shared_from_this(), why] { self->AbortNow(why); });
}

void TcpConnection::AbortNow(const std::string& why) {
  if (finished_) return;
  GW_WARN("closing connection to " << device_.options().roles.Name(peer_) << " (" << remote_
                                   << "): " << why);
  Finish(false, why);
}

void TcpConnection::Finish(bool ok, const std::string& why) {
  if (finished_) return;
  finished_ = true;
  if (budget_) budget_->Detach();
  std::deque<SendOp> pending;
  {
    // Under send_mu_: an inline send (Enqueue) never meets a closed (or reused) descriptor.
    std::lock_guard<std::mutex> lock(send_mu_);
    open_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
    pending.swap(send_q_);
    ahead_q_.clear();  // control messages only: nothing to report
    in_frame_ = false;
    queued_control_bytes_ = 0;
    sending_ = false;
  }
  for (const auto& op : pending) {
    if (op.is_write) FailWrite(op.wr_id, "connection closed before the write was sent: " + why);
  }
  Completion c;
  c.kind = CompletionKind::kPeerClosed;
  c.peer = peer_;
  c.ok = ok;
  c.error = why;
  device_.cq().Push(std::move(c));
  device_.OnConnectionClosed(this);
}

}  // namespace gw::tcp
