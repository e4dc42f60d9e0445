#include "net/sim/connection.h"

#include <cstring>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include "base/error.h"
#include "net/frame.h"
#include "net/sim/device.h"

namespace gw::sim {

namespace s4u = simgrid::s4u;

SimConnection::SimConnection(SimDevice& device, PeerId peer)
    : device_(&device),
      peer_(peer),
      mu_(s4u::Mutex::create()),
      cv_(s4u::ConditionVariable::create()) {}

SimConnection::~SimConnection() = default;

void SimConnection::Pair(const std::shared_ptr<SimConnection>& a,
                         const std::shared_ptr<SimConnection>& b) {
  a->remote_ = b;
  b->remote_ = a;
  for (const auto& end : {a, b}) {
    // A daemon: the simulation ends when the server and workers have, whatever the wire
    // actors still wait for. The actor keeps its end alive while it runs.
    s4u::Actor::create("wire", end->device_->host(), [end] { end->WireLoop(); })->daemonize();
  }
}

void SimConnection::Write(std::span<const std::byte> src, const RemoteRegion& dst, uint64_t offset,
                          uint32_t imm, uint64_t wr_id) {
  if (std::string why = WriteOutOfBounds(src.size(), dst, offset); !why.empty()) {
    return FailWrite(wr_id, why);
  }
  const auto handle = dst.handle_bytes();
  if (handle.size() != SimRegion::kHandle.size() ||
      !std::equal(handle.begin(), handle.end(), SimRegion::kHandle.begin())) {
    return FailWrite(wr_id, "remote region " + std::to_string(dst.id) + ": a handle of " +
                                std::to_string(handle.size()) +
                                " bytes that is not the sim transport's");
  }
  if (!open_ || bye_queued_) return FailWrite(wr_id, "connection closed");
  Frame f;
  f.kind = FrameKind::kWrite;
  f.src = src;
  f.region = dst.id;
  f.offset = offset;
  f.imm = imm;
  f.wr_id = wr_id;
  f.length = src.size();
  Enqueue(std::move(f), /*ahead=*/false);
}

void SimConnection::Send(uint16_t type, std::span<const uint8_t> payload) {
  PostControl(type, payload, /*ahead=*/false);
}

void SimConnection::SendAhead(uint16_t type, std::span<const uint8_t> payload) {
  PostControl(type, payload, /*ahead=*/true);
}

void SimConnection::PostControl(uint16_t type, std::span<const uint8_t> payload, bool ahead) {
  if (payload.size() > kMaxControlBytes) {
    throw Error("control message of " + std::to_string(payload.size()) + " bytes exceeds " +
                std::to_string(kMaxControlBytes));
  }
  if (!open_ || bye_queued_) return;  // as on a closed socket: the peer is gone
  Frame f;
  f.kind = FrameKind::kControl;
  f.imm = type;
  f.payload.assign(payload.begin(), payload.end());
  Enqueue(std::move(f), ahead);
}

void SimConnection::Close() {
  if (!open_ || bye_queued_) return;
  bye_queued_ = true;
  Frame f;
  f.kind = FrameKind::kBye;
  Enqueue(std::move(f), /*ahead=*/false);
}

void SimConnection::Abort(const std::string& why) {
  if (finished_) return;
  Finish(false, why);
  if (auto remote = remote_.lock()) remote->Finish(false, "connection reset by peer");
}

void SimConnection::Enqueue(Frame f, bool ahead) {
  (ahead ? ahead_q_ : send_q_).push_back(std::move(f));
  cv_->notify_one();
}

void SimConnection::FailWrite(uint64_t wr_id, const std::string& why) {
  Report(Completion::FailedWrite(peer_, wr_id, why));
}

void SimConnection::Report(Completion c) {
  if (device_ != nullptr) device_->Complete(std::move(c));
}

void SimConnection::WireLoop() {
  while (true) {
    {
      std::unique_lock<s4u::Mutex> lock(*mu_);
      while (!finished_ && send_q_.empty() && ahead_q_.empty()) cv_->wait(lock);
    }
    if (finished_) return;
    std::deque<Frame>& q = ahead_q_.empty() ? send_q_ : ahead_q_;
    const Frame f = std::move(q.front());
    q.pop_front();
    const uint64_t wire_bytes =
        FrameHeader::kSize + (f.kind == FrameKind::kWrite ? f.length : f.payload.size());
    auto remote = remote_.lock();
    if (remote == nullptr || remote->device_ == nullptr || device_ == nullptr) {
      Finish(false, "peer hung up without a bye");
      return;
    }
    // The payload pointer only satisfies put(): Arrive below reads the frame itself.
    static char token = 0;
    remote->device_->inbox()->put(&token, wire_bytes);
    // While the frame travelled either end may have closed: its bytes are not read any more.
    if (finished_) return;
    std::string refused;
    if (!remote->Arrive(f, &refused)) {
      if (f.kind == FrameKind::kWrite) FailWrite(f.wr_id, "refused by peer: " + refused);
      Finish(false, "refused by peer: " + refused);
      remote->Finish(false, refused);
      return;
    }
    if (f.kind == FrameKind::kWrite) Report(Completion::WriteDone(peer_, f.wr_id, f.length));
    if (f.kind == FrameKind::kBye) {
      Finish(true, "closed");
      return;
    }
  }
}

bool SimConnection::Arrive(const Frame& f, std::string* refused) {
  if (finished_ || device_ == nullptr) {
    *refused = "connection closed";
    return false;
  }
  SimDevice& device = *device_;
  switch (f.kind) {
    case FrameKind::kWrite: {
      Region* region = device.FindRegion(f.region);
      std::string why;
      if (region == nullptr) {
        why = "write to unknown region " + std::to_string(f.region);
      } else if (!(region->writer() == peer_)) {
        why = "write to region " + std::to_string(f.region) + " which belongs to " +
              device.options().roles.Name(region->writer());
      } else if (f.offset > region->bytes().size() ||
                 f.length > region->bytes().size() - f.offset) {
        why = "write of " + std::to_string(f.length) + " bytes at offset " +
              std::to_string(f.offset) + " exceeds region " + std::to_string(f.region) + " of " +
              std::to_string(region->bytes().size()) + " bytes";
      }
      if (!why.empty()) {
        *refused = why;
        return false;
      }
      // Phantom payloads: the frame took its size's time on the wire; no bytes land.
      if (f.length > 0 && f.src.data() != nullptr && !device.options().phantom_payloads) {
        std::memcpy(region->bytes().data() + f.offset, f.src.data(), f.length);
      }
      Completion c;
      c.kind = CompletionKind::kWriteLanded;
      c.peer = peer_;
      c.region = f.region;
      c.offset = f.offset;
      c.length = f.length;
      c.imm = f.imm;
      Report(std::move(c));
      return true;
    }
    case FrameKind::kControl: {
      Completion c;
      c.kind = CompletionKind::kControl;
      c.peer = peer_;
      c.control_type = static_cast<uint16_t>(f.imm);
      c.payload = f.payload;
      Report(std::move(c));
      return true;
    }
    case FrameKind::kBye:
      Finish(true, "closed by peer");
      return true;
  }
  return false;
}

void SimConnection::Finish(bool ok, const std::string& why) {
  if (finished_) return;
  // The device's table may hold the last reference, which OnConnectionClosed below drops.
  const std::shared_ptr<SimConnection> self = shared_from_this();
  finished_ = true;
  open_ = false;
  for (auto* q : {&ahead_q_, &send_q_}) {
    for (const Frame& f : *q) {
      if (f.kind == FrameKind::kWrite) FailWrite(f.wr_id, "connection closed: " + why);
    }
    q->clear();
  }
  Completion c;
  c.kind = CompletionKind::kPeerClosed;
  c.peer = peer_;
  c.ok = ok;
  c.error = why;
  Report(std::move(c));
  if (device_ != nullptr) device_->OnConnectionClosed(this);
  cv_->notify_all();  // the wire actor ends
}

}  // namespace gw::sim
