#include "net/rdma/connection.h"

#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "net/rdma/device.h"

namespace gw::rdma {

namespace {
std::string WcError(const ibv_wc& wc) {
  std::string s = ibv_wc_status_str(wc.status);
  if (wc.status == IBV_WC_REM_ACCESS_ERR) {
    s += " (the peer's NIC refused the write: wrong key for this connection, or out of bounds)";
  }
  return s;
}
}  // namespace

bool RdmaConnection::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_ == State::kOpen && !bye_sent_;
}

void RdmaConnection::set_state(State s) {
  std::lock_guard<std::mutex> lock(mu_);
  // Only forward: ESTABLISHED may be processed after the handshake already opened it.
  if (static_cast<int>(s) > static_cast<int>(state_)) state_ = s;
}

RdmaConnection::State RdmaConnection::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void RdmaConnection::FailWrite(uint64_t wr_id, const std::string& why) {
  device_.cq().Push(Completion::FailedWrite(peer_, wr_id, why));
}

void RdmaConnection::Write(std::span<const std::byte> src, const RemoteRegion& dst, uint64_t offset,
                           uint32_t imm, uint64_t wr_id) {
  if (std::string why = WriteOutOfBounds(src.size(), dst, offset); !why.empty()) {
    return FailWrite(wr_id, why);
  }
  std::string why;
  const std::optional<RegionHandle> target = ParseRegionHandle(dst.handle_bytes(), &why);
  if (!target) return FailWrite(wr_id, "remote region " + std::to_string(dst.id) + ": " + why);
  Pending p;
  p.is_write = true;
  p.src = src;
  if (!src.empty()) {
    // Looked up now, outside mu_ (a source's first write registers it in this peer's
    // protection domain): a queued write can then always be posted, so the write that
    // follows an unsignaled one is never dropped from the chain.
    try {
      p.lkey = device_.LkeyFor(src.data(), src.size(), pd_);
    } catch (const Error& e) {
      return FailWrite(wr_id, e.what());
    }
  }
  p.region = dst.id;
  p.target = *target;
  p.offset = offset;
  p.imm = imm;
  p.wr_id = wr_id;
  std::string broken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kOpen || bye_sent_) {
      return FailWrite(wr_id,
                       "connection to " + device_.options().roles.Name(peer_) + " is closed");
    }
    broken = EnqueueLocked(std::move(p));
  }
  if (!broken.empty()) Abort(broken);
}

void RdmaConnection::Send(uint16_t type, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxControlBytes) {
    throw Error("control message of " + std::to_string(payload.size()) + " bytes exceeds " +
                std::to_string(kMaxControlBytes));
  }
  Pending p;
  p.type = FrameType::kControl;
  p.imm = type;
  p.payload.assign(payload.begin(), payload.end());
  std::string broken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kOpen || bye_sent_) return;
    if (pending_control_bytes_ + p.payload.size() <= kMaxQueuedControlBytes) {
      broken = EnqueueLocked(std::move(p));
    } else {
      broken = "the peer is not reading: " + std::to_string(kMaxQueuedControlBytes >> 20) +
               " MiB of control messages queued for it";
    }
  }
  if (!broken.empty()) Abort(broken);
}

void RdmaConnection::SendFrame(FrameType type, std::span<const uint8_t> payload, bool close_after) {
  Pending p;
  p.type = type;
  p.payload.assign(payload.begin(), payload.end());
  p.close_after = close_after;
  std::string broken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kFinished) return;
    broken = EnqueueLocked(std::move(p));
  }
  if (!broken.empty()) Abort(broken);
}

void RdmaConnection::Close() {
  Pending p;
  p.type = FrameType::kBye;
  p.close_after = true;
  std::string broken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kFinished || bye_sent_) return;
    bye_sent_ = true;
    broken = EnqueueLocked(std::move(p));
  }
  if (!broken.empty()) Abort(broken);
}

void RdmaConnection::Abort(const std::string& why) {
  GW_WARN("closing connection to " << device_.options().roles.Name(peer_) << ": " << why);
  Finish(false, why);
}

std::string RdmaConnection::EnqueueLocked(Pending p) {
  // Order is kept: nothing overtakes what already waits.
  pending_control_bytes_ += p.payload.size();
  pending_.push_back(std::move(p));
  return PostPendingLocked();
}

std::string RdmaConnection::PostPendingLocked() {
  if (released_ || id_ == nullptr || id_->qp == nullptr) return "";
  chain_wr_.clear();
  chain_sge_.clear();
  while (!pending_.empty()) {
    const size_t taken = ChainFrontLocked();
    if (taken == 0) break;
    for (size_t i = 0; i < taken; ++i) {
      pending_control_bytes_ -= pending_.front().payload.size();
      pending_.pop_front();
    }
  }
  if (signaled_in_flight_ == 0 && !posted_.empty()) ChainFlushLocked();
  if (chain_wr_.empty()) return "";
  for (size_t i = 0; i + 1 < chain_wr_.size(); ++i) chain_wr_[i].next = &chain_wr_[i + 1];
  chain_wr_.back().next = nullptr;
  ibv_send_wr* bad = nullptr;
  if (const int rc = ibv_post_send(id_->qp, chain_wr_.data(), &bad); rc != 0) {
    // The QP is broken (its state, or a resource): the caller aborts the connection, which
    // fails every write still listed in posted_, posted or not.
    return std::string("ibv_post_send failed: ") + std::strerror(rc);
  }
  return "";
}

size_t RdmaConnection::ChainFrontLocked() {
  return pending_.front().is_write ? ChainWritesLocked() : ChainFrameLocked();
}

namespace {
size_t ChunksOf(size_t bytes, size_t chunk) { return (bytes + chunk - 1) / chunk; }
}  // namespace

size_t RdmaConnection::ChainWritesLocked() {
  // Never overflow the window (so nor the peer's posted receives) nor our send queue.
  if (posted_.size() >= kMaxInFlight || sends_in_flight_ >= kMaxSendsInFlight ||
      free_notices_.empty()) {
    return 0;
  }
  const size_t room = kMaxInFlight - posted_.size();
  size_t count = 0;
  uint32_t wrs = 1;  // the notice
  while (count < pending_.size() && count < WriteNotice::kMaxWrites && count < room &&
         pending_[count].is_write) {
    const auto w = static_cast<uint32_t>(ChunksOf(pending_[count].src.size(), kMaxWriteChunk));
    if (sq_used_ + wrs + w > kMaxSendWr - kFlushWrs) break;
    wrs += w;
    ++count;
  }
  if (count == 0) return 0;
  // Unsignaled only behind a signaled one: its completion comes, and PostPendingLocked then
  // covers whatever it left uncovered.
  const bool signaled = signaled_in_flight_ == 0 || unsignaled_run_ + count >= kSignalEvery;
  const int notice_slot = free_notices_.back();
  free_notices_.pop_back();
  auto* notice_buf = reinterpret_cast<uint8_t*>(send_slab_ + kSendSlots * kSlotBytes +
                                                notice_slot * WriteNotice::kMaxBytes);
  WriteNotice notice;
  for (size_t k = 0; k < count; ++k) {
    const Pending& p = pending_[k];
    const size_t chunks = ChunksOf(p.src.size(), kMaxWriteChunk);
    for (size_t i = 0; i < chunks; ++i) {
      const size_t off = i * kMaxWriteChunk;
      const size_t n = std::min(kMaxWriteChunk, p.src.size() - off);
      chain_sge_.push_back(
          {reinterpret_cast<uint64_t>(p.src.data() + off), static_cast<uint32_t>(n), p.lkey});
      ibv_send_wr wr{};
      wr.opcode = IBV_WR_RDMA_WRITE;  // unsignaled: the notice's completion covers it
      wr.sg_list = &chain_sge_.back();
      wr.num_sge = 1;
      wr.wr.rdma.remote_addr = p.target.addr + p.offset + off;
      wr.wr.rdma.rkey = p.target.rkey;
      chain_wr_.push_back(wr);
    }
    last_write_addr_ = p.target.addr + p.offset;
    last_write_rkey_ = p.target.rkey;
    FrameHeader& h = notice.writes[notice.count++];
    h.type = FrameType::kWrite;
    h.imm = p.imm;
    h.region = p.region;
    h.offset = p.offset;
    h.length = p.src.size();
    Posted posted;
    posted.wrs = static_cast<uint32_t>(chunks);
    posted.seq = next_seq_++;
    posted.is_write = true;
    posted.wr_id = p.wr_id;
    posted.length = p.src.size();
    posted_.push_back(posted);
  }
  // The last write carries the notice: its completion is the batch's.
  Posted& last = posted_.back();
  last.wrs += 1;
  last.notice_slot = notice_slot;
  last.signaled = signaled;
  last.is_send = true;
  ++sends_in_flight_;
  const size_t bytes = EncodeNotice(notice, std::span(notice_buf, WriteNotice::kMaxBytes));
  chain_sge_.push_back(
      {reinterpret_cast<uint64_t>(notice_buf), static_cast<uint32_t>(bytes), send_mr_->lkey});
  ibv_send_wr wr{};
  wr.opcode = IBV_WR_SEND;
  wr.sg_list = &chain_sge_.back();
  wr.num_sge = 1;
  wr.wr_id = last.seq;
  wr.send_flags =
      (bytes <= inline_bytes_ ? IBV_SEND_INLINE : 0) | (signaled ? IBV_SEND_SIGNALED : 0);
  chain_wr_.push_back(wr);
  sq_used_ += wrs;
  if (signaled) {
    ++signaled_in_flight_;
    unsignaled_run_ = 0;
  } else {
    unsignaled_run_ += static_cast<uint32_t>(count);
  }
  return count;
}

void RdmaConnection::ChainFlushLocked() {
  // Only writes go unsignaled, so the last write's target is known: a zero-length write
  // there touches no memory and needs no receive.
  Posted posted;
  posted.wrs = kFlushWrs;
  posted.seq = next_seq_++;
  posted.signaled = true;
  ibv_send_wr wr{};
  wr.opcode = IBV_WR_RDMA_WRITE;
  wr.num_sge = 0;
  wr.wr_id = posted.seq;
  wr.send_flags = IBV_SEND_SIGNALED;
  wr.wr.rdma.remote_addr = last_write_addr_;
  wr.wr.rdma.rkey = last_write_rkey_;
  chain_wr_.push_back(wr);
  sq_used_ += kFlushWrs;
  ++signaled_in_flight_;
  unsignaled_run_ = 0;
  posted_.push_back(posted);
}

size_t RdmaConnection::ChainFrameLocked() {
  const Pending& p = pending_.front();
  if (sq_used_ + 1 > kMaxSendWr - kFlushWrs || posted_.size() >= kMaxInFlight ||
      sends_in_flight_ >= kMaxSendsInFlight || free_slots_.empty()) {
    return 0;
  }
  Posted posted;
  posted.wrs = 1;
  posted.seq = next_seq_++;
  posted.close_after = p.close_after;
  posted.signaled = true;
  posted.is_send = true;
  ++sends_in_flight_;
  posted.slot = free_slots_.back();
  free_slots_.pop_back();
  std::byte* buf = send_slab_ + static_cast<size_t>(posted.slot) * kSlotBytes;
  FrameHeader h;
  h.type = p.type;
  h.imm = p.imm;
  h.length = p.payload.size();
  const auto head = EncodeHeader(h);
  std::memcpy(buf, head.data(), head.size());
  if (!p.payload.empty()) std::memcpy(buf + FrameHeader::kSize, p.payload.data(), p.payload.size());
  chain_sge_.push_back({reinterpret_cast<uint64_t>(buf),
                        static_cast<uint32_t>(FrameHeader::kSize + p.payload.size()),
                        send_mr_->lkey});
  ibv_send_wr wr{};
  wr.opcode = IBV_WR_SEND;
  wr.sg_list = &chain_sge_.back();
  wr.num_sge = 1;
  wr.wr_id = posted.seq;
  wr.send_flags = IBV_SEND_SIGNALED;  // frees its slot
  chain_wr_.push_back(wr);
  sq_used_ += 1;
  ++signaled_in_flight_;
  unsignaled_run_ = 0;
  posted_.push_back(posted);
  return 1;
}

void RdmaConnection::PostRecv(uint32_t slot) {
  ibv_sge sge{reinterpret_cast<uint64_t>(recv_slab_ + slot * kSlotBytes),
              static_cast<uint32_t>(kSlotBytes), recv_mr_->lkey};
  ibv_recv_wr wr{};
  wr.wr_id = slot;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  ibv_post_recv(id_->qp, &wr, &bad);  // fails only on a QP in error, which ends anyway
}

void RdmaConnection::Poll(bool arm) {
  ibv_wc wc[32];
  for (int pass = 0; pass < (arm ? 2 : 1); ++pass) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (released_ || cq_ == nullptr || recv_mr_ == nullptr) return;  // not set up yet
    }
    if (pass == 0 && recv_paused_ && resume_due_.exchange(false)) {
      recv_paused_ = false;
      for (uint32_t slot : parked_) PostRecv(slot);
      parked_.clear();
    }
    int n;
    while ((n = ibv_poll_cq(cq_, 32, wc)) > 0) {
      for (int i = 0; i < n; ++i) {
        if (wc[i].status != IBV_WC_SUCCESS) {
          // Flushes after we ended the connection are expected; anything else ends it.
          if (state() != State::kFinished) {
            Finish(false, WcError(wc[i]));
          }
          continue;
        }
        if (wc[i].opcode & IBV_WC_RECV) {
          OnRecv(static_cast<uint32_t>(wc[i].wr_id), wc[i].byte_len);
        } else {
          OnSendDone(wc[i].wr_id);
        }
      }
    }
    // Re-arm, then drain once more: a completion that raced the re-arm raises no event.
    if (arm && pass == 0) ibv_req_notify_cq(cq_, 0);
  }
  if (peer_gone_) Finish(false, "peer disconnected");  // no-op after its bye
}

void RdmaConnection::OnSendDone(uint64_t seq) {
  std::vector<Completion>& done = done_scratch_;  // poll thread only: reused, no allocation
  done.clear();
  bool close = false;
  std::string broken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // This signaled completion completes every message posted before it, too.
    while (!posted_.empty() && posted_.front().seq <= seq) {
      const Posted& d = posted_.front();
      sq_used_ -= d.wrs;
      if (d.is_send) --sends_in_flight_;
      if (d.slot >= 0) free_slots_.push_back(d.slot);
      if (d.notice_slot >= 0) free_notices_.push_back(d.notice_slot);
      if (d.signaled) --signaled_in_flight_;
      close = close || d.close_after;
      if (d.is_write) {
        Completion c;
        c.kind = CompletionKind::kWriteDone;
        c.peer = peer_;
        c.wr_id = d.wr_id;
        c.length = d.length;
        done.push_back(std::move(c));
      }
      posted_.pop_front();
    }
    broken = PostPendingLocked();
  }
  for (auto& c : done) device_.cq().Push(std::move(c));
  if (!broken.empty()) return Abort(broken);
  if (close) Finish(true, "closed");
}

void RdmaConnection::OnRecv(uint32_t slot, uint32_t len) {
  const auto* buf = reinterpret_cast<const uint8_t*>(recv_slab_ + slot * kSlotBytes);
  std::string why;
  std::optional<FrameHeader> h;
  if (len >= FrameHeader::kSize) {
    h = ParseHeader(std::span(buf, FrameHeader::kSize), &why);
  } else {
    why = "message shorter than a frame header";
  }
  const bool is_write = h && h->type == FrameType::kWrite;
  WriteNotice notice;
  if (is_write && !ParseNotice(std::span(buf, len), &notice, &why)) h.reset();
  if (h && !is_write && h->length != len - FrameHeader::kSize) {
    h.reset();
    why = "frame length does not match the message";
  }
  if (state() == State::kFinished) return;  // late arrivals on a connection already ended
  if (!h) return Abort("malformed frame: " + why);
  const std::span<const uint8_t> payload(buf + FrameHeader::kSize,
                                         is_write ? 0 : static_cast<size_t>(h->length));
  switch (h->type) {
    case FrameType::kWrite: {
      if (state() != State::kOpen) return Abort("write before the handshake");
      for (size_t i = 0; i < notice.count; ++i) {
        const FrameHeader& w = notice.writes[i];
        Region* region = device_.FindRegion(w.region);
        // The NIC already enforced the key (per-peer protection domains); check the claim too.
        if (region == nullptr || !(region->writer() == peer_) ||
            w.offset > region->bytes().size() || w.length > region->bytes().size() - w.offset) {
          return Abort("write notice for region " + std::to_string(w.region) +
                       " that this peer may not write");
        }
        Completion c;
        c.kind = CompletionKind::kWriteLanded;
        c.peer = peer_;
        c.region = w.region;
        c.offset = w.offset;
        c.length = w.length;
        c.imm = w.imm;
        device_.cq().Push(std::move(c));
      }
      break;
    }
    case FrameType::kControl: {
      if (state() != State::kOpen) return Abort("control message before the handshake");
      Completion c;
      c.kind = CompletionKind::kControl;
      c.peer = peer_;
      c.control_type = static_cast<uint16_t>(h->imm);
      c.payload.assign(payload.begin(), payload.end());
      c.length = payload.size();
      c.credit = budget_->Charge(c.payload.size());
      device_.cq().Push(std::move(c));
      break;
    }
    case FrameType::kBye:
      Finish(true, "closed by peer");
      return;
    default:
      device_.OnHandshakeFrame(*this, h->type, payload);
      break;
  }
  if (state() == State::kFinished) return;
  // Over budget, the receive stays unposted: once all are, the peer's NIC meets "receiver not
  // ready" and retries, so a flood waits on the peer's side, not in this process.
  if (!recv_paused_) recv_paused_ = budget_->PauseIfOver();
  if (recv_paused_) {
    parked_.push_back(slot);
    return;
  }
  PostRecv(slot);
}

void RdmaConnection::Finish(bool ok, const std::string& why) {
  bool was_open = false;
  std::deque<Pending> pending;
  std::deque<Posted> posted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kFinished) return;
    was_open = state_ == State::kOpen;
    state_ = State::kFinished;
    if (budget_) budget_->Detach();
    pending.swap(pending_);
    pending_control_bytes_ = 0;
    posted.swap(posted_);
    sq_used_ = 0;
    sends_in_flight_ = 0;
    signaled_in_flight_ = 0;
    unsignaled_run_ = 0;
  }
  // Everything not yet confirmed is lost with the connection: say so for each write.
  for (const auto& p : posted) {
    if (p.is_write) FailWrite(p.wr_id, "connection closed before the write completed: " + why);
  }
  for (const auto& p : pending) {
    if (p.is_write) FailWrite(p.wr_id, "connection closed before the write was posted: " + why);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!released_ && id_ != nullptr) rdma_disconnect(id_);  // QP to error: flushes the rest
  }
  device_.OnFinished(*this, was_open, ok, why);
}

}  // namespace gw::rdma
