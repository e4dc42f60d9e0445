#include "net/sim/connection.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include "base/error.h"
#include "net/frame.h"
#include "net/sim/device.h"

namespace gw::sim {

namespace s4u = simgrid::s4u;

// The pace that bounds a landing estimate on a route of no link: 100 GB/s, above any link.
constexpr double kUnboundedRouteBytesPerS = 100e9;

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
  std::vector<s4u::Link*> links;
  double latency = 0;
  a->device_->host()->route_to(b->device_->host(), links, &latency);
  double slowest = std::numeric_limits<double>::infinity();
  for (const s4u::Link* link : links) slowest = std::min(slowest, link->get_bandwidth());
  // A route of no link (both ends on one host) has no pace of its own to bound a landing's
  // estimate by: one above any link's keeps the estimate from overshooting.
  if (!std::isfinite(slowest) || slowest <= 0) slowest = kUnboundedRouteBytesPerS;
  for (const auto& [end, sender] : {std::pair{a, b}, std::pair{b, a}}) {
    end->route_latency_s_ = latency;
    end->route_bytes_per_s_ = slowest;
    // Called by whichever actor lets go of the bytes: it only wakes the sender's wire actor.
    end->budget_ = ReceiveBudget::Create([weak = std::weak_ptr<SimConnection>(sender)] {
      if (auto s = weak.lock()) s->cv_->notify_all();
    });

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
  // Only an idle wire actor waits, and only with both queues empty; a notification is a
  // simcall, which hands the turn to another actor between two of the caller's posts.
  const bool idle = send_q_.empty() && ahead_q_.empty();
  (ahead ? ahead_q_ : send_q_).push_back(std::move(f));
  if (idle) cv_->notify_one();
}

void SimConnection::FailWrite(uint64_t wr_id, const std::string& why) {
  Report(Completion::FailedWrite(peer_, wr_id, why));
}

void SimConnection::Report(Completion c) {
  if (device_ != nullptr) device_->Complete(std::move(c));
}

uint64_t SimConnection::WireBytes(const Frame& f) {
  return FrameHeader::kSize + (f.kind == FrameKind::kWrite ? f.length : f.payload.size());
}

std::vector<SimConnection::Frame> SimConnection::TakeRun(bool* ahead) {
  *ahead = !ahead_q_.empty();
  std::deque<Frame>& q = *ahead ? ahead_q_ : send_q_;
  std::vector<Frame> run;
  run.push_back(std::move(q.front()));
  q.pop_front();
  if (run.front().kind == FrameKind::kBye) return run;
  while (!q.empty() && q.front().kind != FrameKind::kBye) {
    run.push_back(std::move(q.front()));
    q.pop_front();
  }
  return run;
}

void SimConnection::Requeue(std::vector<Frame> frames, size_t from, bool ahead) {
  std::deque<Frame>& q = ahead ? ahead_q_ : send_q_;
  q.insert(q.begin(), std::make_move_iterator(frames.begin() + static_cast<ptrdiff_t>(from)),
           std::make_move_iterator(frames.end()));
}

void SimConnection::WaitUntilLeft(s4u::Comm& comm, double total, double left,
                                  PaceSample* last) const {
  while (!comm.test()) {
    const double now_left = comm.get_remaining();
    if (now_left <= left + kLandingSlackBytes) return;
    const double now = s4u::Engine::get_clock();
    double wait = 0;
    if (now_left >= total) {
      // No byte moved yet: they start once the route's latency has passed (which SimGrid may
      // scale), and then go at most at the slowest link's pace.
      wait = (now_left - left) / route_bytes_per_s_;
      wait = last->at < 0 ? wait + route_latency_s_ : std::max(wait, kLandingToleranceS);
    } else {
      // The pace measured over the last wait if bytes moved all through it, else the
      // slowest link's (no transfer outpaces it); half the time it gives while that is
      // beyond tolerance, a few times per frame, since the pace may rise meanwhile (a flow
      // sharing a link ends).
      double pace = route_bytes_per_s_;
      if (last->at >= 0 && last->left < total && now_left < last->left && now > last->at) {
        pace = (last->left - now_left) / (now - last->at);
      }
      wait = (now_left - left) / pace;
      if (wait > kLandingToleranceS && last->halvings < kMaxHalvings) {
        wait /= 2;
        ++last->halvings;
      }
    }
    last->at = now;
    last->left = now_left;
    s4u::this_actor::sleep_for(std::max(wait, kMinWaitS));
  }
}

void SimConnection::WireLoop() {
  while (true) {
    bool woken = false;
    {
      std::unique_lock<s4u::Mutex> lock(*mu_);
      while (!finished_ && send_q_.empty() && ahead_q_.empty()) {
        cv_->wait(lock);
        woken = true;
      }
    }
    // Woken by the first frame posted at this instant: the poster's turn ended before its
    // next frames were queued, so let it finish (they go in this run, not the next).
    if (woken) s4u::this_actor::yield();
    if (finished_) return;
    auto remote = remote_.lock();
    if (remote == nullptr || remote->device_ == nullptr || device_ == nullptr) {
      Finish(false, "peer hung up without a bye");
      return;
    }
    if (!remote->finished_ && remote->budget_->PauseIfOver()) {
      // The peer's application holds too much of what we sent: wait until it lets go (or
      // that end is gone, and the next run finds it closed).
      std::unique_lock<s4u::Mutex> lock(*mu_);
      while (!finished_ && !remote->finished_ && remote->budget_->paused()) cv_->wait(lock);
      continue;
    }
    bool ahead = false;
    std::vector<Frame> run = TakeRun(&ahead);
    uint64_t total = 0;
    for (const Frame& f : run) total += WireBytes(f);
    // The payload pointer only satisfies the mailbox: Arrive below reads the frames themselves.
    static char token = 0;
    const s4u::CommPtr comm = remote->device_->inbox()->put_async(&token, total);
    uint64_t through = 0;
    PaceSample last{-1, static_cast<double>(total), 0};
    for (size_t i = 0; i < run.size(); ++i) {
      const Frame& f = run[i];
      through += WireBytes(f);
      if (i + 1 < run.size()) {
        last.halvings = 0;
        WaitUntilLeft(*comm, static_cast<double>(total), static_cast<double>(total - through),
                      &last);
      } else {
        comm->wait();
      }
      // While the frames travelled either end may have closed: their bytes are not read any
      // more, and the writes not landed fail as the queued ones did.
      if (finished_) {
        if (!comm->test()) comm->cancel();
        for (size_t j = i; j < run.size(); ++j) {
          if (run[j].kind == FrameKind::kWrite) FailWrite(run[j].wr_id, "connection closed");
        }
        return;
      }
      std::string refused;
      if (!remote->Arrive(f, &refused)) {
        if (!comm->test()) comm->cancel();
        if (f.kind == FrameKind::kWrite) FailWrite(f.wr_id, "refused by peer: " + refused);
        Requeue(std::move(run), i + 1, ahead);
        Finish(false, "refused by peer: " + refused);
        remote->Finish(false, refused);
        return;
      }
      if (f.kind == FrameKind::kWrite) Report(Completion::WriteDone(peer_, f.wr_id, f.length));
      if (f.kind == FrameKind::kBye) {
        Finish(true, "closed");
        return;
      }
      // A message sent ahead goes next, and a peer holding too much takes nothing more: the
      // rest of the run stops and waits (unless its bytes are all through already).
      if (i + 1 < run.size() && !comm->test() &&
          ((!ahead && !ahead_q_.empty()) || remote->budget_->PauseIfOver())) {
        comm->cancel();
        Requeue(std::move(run), i + 1, ahead);
        break;
      }
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
      c.credit = budget_->Charge(c.payload.size());
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
  if (budget_) budget_->Detach();  // held messages let go later wake nobody
  // A peer's wire actor paused on our budget learns that this end is gone.
  if (auto remote = remote_.lock()) remote->cv_->notify_all();
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
