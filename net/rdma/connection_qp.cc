// An RDMA connection's set-up and tear-down (control path): its queue pair, completion queue
// and registered send/receive slabs, made once the connection is accepted or routed, tuned once
// established, released when it ends. Posting and polling (hot path) are in connection.cc.
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "net/rdma/connection.h"
#include "net/rdma/device.h"

namespace gw::rdma {

RdmaConnection::RdmaConnection(RdmaDevice& device, rdma_cm_id* id, PeerId peer, ibv_pd* pd,
                               bool outgoing)
    : device_(device), id_(id), key_(id), peer_(peer), pd_(pd), outgoing_(outgoing) {
  for (int i = kSendSlots - 1; i >= 0; --i) free_slots_.push_back(i);
  for (int i = kMaxSendsInFlight - 1; i >= 0; --i) free_notices_.push_back(i);
  // A chain never holds more than the send queue's work requests.
  chain_wr_.reserve(kMaxSendWr);
  chain_sge_.reserve(kMaxSendWr);
}

RdmaConnection::~RdmaConnection() {
  if (budget_) budget_->Detach();
  Release();
}

void RdmaConnection::CreateQp(ibv_context* ctx, ibv_comp_channel* channel) {
  budget_ = ReceiveBudget::Create([weak = weak_from_this()] {
    // From the thread that let go of the bytes: the poll thread posts the parked receives.
    if (auto self = weak.lock()) {
      self->resume_due_.store(true);
      self->device_.WakePoll();
    }
  });
  // One CQ per connection, all on the device's completion channel: sized for this QP alone,
  // so it cannot overflow (send depth + receive depth).
  ibv_cq* cq = ibv_create_cq(ctx, kMaxSendWr + kRecvDepth + 8, this, channel, 0);
  if (cq == nullptr) throw Error(std::string("ibv_create_cq failed: ") + std::strerror(errno));
  {
    // Published under the lock: the poll thread may already see this connection.
    std::lock_guard<std::mutex> lock(mu_);
    cq_ = cq;
  }
  if (ibv_req_notify_cq(cq, 0) != 0) throw Error("ibv_req_notify_cq failed");
  ibv_qp_init_attr attr{};
  attr.send_cq = cq;
  attr.recv_cq = cq;
  attr.qp_type = IBV_QPT_RC;
  attr.sq_sig_all = 0;
  attr.cap.max_send_wr = kMaxSendWr;
  attr.cap.max_recv_wr = kRecvDepth;
  attr.cap.max_send_sge = 1;
  attr.cap.max_recv_sge = 1;
  attr.cap.max_inline_data = kInlineBytes;
  if (rdma_create_qp(id_, pd_, &attr) != 0) {
    throw Error(std::string("rdma_create_qp failed: ") + std::strerror(errno));
  }
  if (attr.cap.max_inline_data < FrameHeader::kSize) {
    throw Error("this RDMA device cannot send 32 bytes inline (max_inline_data " +
                std::to_string(attr.cap.max_inline_data) + ")");
  }
  const size_t recv_bytes = kRecvDepth * kSlotBytes;
  const size_t send_bytes = kSendSlots * kSlotBytes + kMaxSendsInFlight * WriteNotice::kMaxBytes;
  device_.budget().Charge(recv_bytes + send_bytes,
                          "message buffers for " + device_.options().roles.Name(peer_));
  recv_slab_ = static_cast<std::byte*>(std::aligned_alloc(4096, recv_bytes));
  send_slab_ = static_cast<std::byte*>(std::aligned_alloc(4096, send_bytes));
  if (recv_slab_ == nullptr || send_slab_ == nullptr)
    throw Error("cannot allocate message buffers");
  // Two registrations per connection, whatever the message count (never one per message).
  ibv_mr* recv_mr = ibv_reg_mr(pd_, recv_slab_, recv_bytes, IBV_ACCESS_LOCAL_WRITE);
  ibv_mr* send_mr = ibv_reg_mr(pd_, send_slab_, send_bytes, IBV_ACCESS_LOCAL_WRITE);
  {
    std::lock_guard<std::mutex> lock(mu_);
    recv_mr_ = recv_mr;
    send_mr_ = send_mr;
    // The device may grant more than asked; use what was asked (the chain's fast case).
    inline_bytes_ = std::min<uint32_t>(attr.cap.max_inline_data, kInlineBytes);
  }
  if (recv_mr == nullptr || send_mr == nullptr) {
    throw Error(std::string("ibv_reg_mr of message buffers failed: ") + std::strerror(errno));
  }
  for (uint32_t i = 0; i < kRecvDepth; ++i) PostRecv(i);
}

void RdmaConnection::Release() {
  std::lock_guard<std::mutex> lock(mu_);
  if (released_) return;
  released_ = true;
  state_ = State::kFinished;
  if (id_ != nullptr && id_->qp != nullptr) rdma_destroy_qp(id_);
  if (cq_ != nullptr) ibv_destroy_cq(cq_);
  if (recv_mr_ != nullptr) ibv_dereg_mr(recv_mr_);
  if (send_mr_ != nullptr) ibv_dereg_mr(send_mr_);
  std::free(recv_slab_);
  std::free(send_slab_);
  if (id_ != nullptr) rdma_destroy_id(id_);
  id_ = nullptr;
  cq_ = nullptr;
  recv_mr_ = send_mr_ = nullptr;
  recv_slab_ = send_slab_ = nullptr;
}

void RdmaConnection::TuneEstablishedQp() {
  std::lock_guard<std::mutex> lock(mu_);
  if (released_ || id_ == nullptr || id_->qp == nullptr) return;
  ibv_qp_attr attr{};
  attr.min_rnr_timer = kMinRnrTimer;
  if (const int rc = ibv_modify_qp(id_->qp, &attr, IBV_QP_MIN_RNR_TIMER); rc != 0) {
    GW_DEBUG("could not shorten the RNR timer for " << device_.options().roles.Name(peer_) << ": "
                                                    << std::strerror(rc));
  }
}

}  // namespace gw::rdma
