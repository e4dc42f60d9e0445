// The RDMA device's control path: listening and connecting through rdma_cm, its event loop,
// incoming connect requests (who is calling), the handshake over each new QP and its
// deadlines. The hot path (regions, completion polling) and the connections' lifecycle are in
// net/rdma/device.cc.
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/rdma/device.h"
#include "net/rdma/wire.h"

namespace gw::rdma {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kResolveTimeoutMs = 2000;
constexpr auto kConnectRetry = std::chrono::milliseconds(100);

// What a connect request carries: who is calling, so its QP is made in that peer's
// protection domain. The handshake over the QP then authenticates the claim.
struct CmPrivate {
  uint16_t magic = FrameHeader::kMagic;
  uint8_t version = 1;
  uint8_t role = 0;
  uint32_t rank = 0;
};
static_assert(sizeof(CmPrivate) == 8, "fits rdma_cm private data (56 bytes for RC)");

sockaddr_storage Resolve(const Address& addr) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(addr.host.c_str(), std::to_string(addr.port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw Error("cannot resolve " + addr.ToString() + ": " + gai_strerror(rc));
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return ss;
}

// Rejects a connect request with its reason (net/rdma/wire.h).
void Reject(rdma_cm_id* id, const std::string& why) {
  const std::vector<uint8_t> reason = EncodeRejectReason(why);
  rdma_reject(id, reason.data(), static_cast<uint8_t>(reason.size()));
}

}  // namespace

void RdmaDevice::CheckDeviceOf(rdma_cm_id* id, const std::string& what) {
  if (id->verbs != nullptr && id->verbs != ctx_) {
    throw Error(what + " is on RDMA device " + ibv_get_device_name(id->verbs->device) +
                ", but this process opened " + ibv_get_device_name(ctx_->device) +
                " (choose with --rdma-device)");
  }
}

void RdmaDevice::Listen(const Address& addr) {
  sockaddr_storage ss = Resolve(addr);
  if (rdma_create_id(cm_channel_, &listener_, nullptr, RDMA_PS_TCP) != 0) {
    throw Error(std::string("rdma_create_id failed: ") + std::strerror(errno));
  }
  if (rdma_bind_addr(listener_, reinterpret_cast<sockaddr*>(&ss)) != 0) {
    throw Error("cannot listen on " + addr.ToString() +
                ": rdma_bind_addr: " + std::strerror(errno) +
                " (is that address on an RDMA netdev? devices: " + DeviceNames() + ")");
  }
  CheckDeviceOf(listener_, "listen address " + addr.ToString());
  if (rdma_listen(listener_, 128) != 0) {
    throw Error("cannot listen on " + addr.ToString() + ": " + std::strerror(errno));
  }
  port_ = ntohs(rdma_get_src_port(listener_));
}

std::shared_ptr<Connection> RdmaDevice::Connect(const Address& addr, PeerId expected) {
  const sockaddr_storage dst = Resolve(addr);
  const auto deadline = Clock::now() + options_.connect_timeout;
  std::string last_error;
  while (true) {
    auto attempt = std::make_shared<Attempt>();
    attempt->expected = expected;
    auto done = attempt->done.get_future();
    rdma_cm_id* id = nullptr;
    if (rdma_create_id(cm_channel_, &id, nullptr, RDMA_PS_TCP) != 0) {
      throw Error(std::string("rdma_create_id failed: ") + std::strerror(errno));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      attempts_[id] = attempt;
    }
    if (rdma_resolve_addr(id, nullptr,
                          reinterpret_cast<sockaddr*>(const_cast<sockaddr_storage*>(&dst)),
                          kResolveTimeoutMs) != 0) {
      SettleAttempt(id, std::string("rdma_resolve_addr: ") + std::strerror(errno), false);
    }
    // Every path settles the attempt: CM events, the handshake, or its deadline below.
    const auto wait = options_.connect_timeout + options_.handshake_timeout;
    std::string why;
    if (done.wait_for(wait) == std::future_status::ready) {
      why = done.get();
    } else {
      why = "no answer within " + std::to_string(wait.count()) + " ms";
      // Ends it unless it settled meanwhile; only this attempt (the id may be reused since).
      SettleAttempt(id, why, false, attempt.get());
    }
    if (why.empty()) return attempt->conn;
    last_error = why;
    if (attempt->refused) throw Error("connection to " + addr.ToString() + " refused: " + why);
    if (Clock::now() + kConnectRetry >= deadline) break;
    std::this_thread::sleep_for(kConnectRetry);  // the peer may still be starting
  }
  throw Error("cannot connect to " + addr.ToString() + " within " +
              std::to_string(options_.connect_timeout.count()) + " ms: " + last_error +
              " (is the server running and the address right?)");
}

void RdmaDevice::SettleAttempt(rdma_cm_id* id, const std::string& why, bool refused,
                               const Attempt* only) {
  std::shared_ptr<Attempt> a;
  std::shared_ptr<RdmaConnection> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = attempts_.find(id);
    if (it == attempts_.end() || (only != nullptr && it->second.get() != only)) return;
    a = it->second;
    attempts_.erase(it);
    // Once a connection was made for the attempt it owns the id: never destroy it here (a
    // second rdma_destroy_id of the same id was a worker's SIGSEGV while reconnecting).
    conn = a->conn;
    if (!why.empty() && conn) {
      if (auto c = by_id_.find(id); c != by_id_.end() && c->second == conn) by_id_.erase(c);
    }
  }
  a->refused = refused;
  if (!why.empty()) {
    if (conn) {
      conn->Finish(false, why);  // a no-op if the connection already ended
    } else {
      rdma_destroy_id(id);  // no connection owns it yet
    }
  }
  a->done.set_value(why);
}

void RdmaDevice::CmLoop() {
  pollfd fds[2] = {{cm_channel_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stop_) {
    if (poll(fds, 2, 200) <= 0) continue;
    rdma_cm_event* ev = nullptr;
    while (!stop_ && rdma_get_cm_event(cm_channel_, &ev) == 0) {
      // Copy what we need and ack first: destroying an id waits for its events' acks.
      const rdma_cm_event_type type = ev->event;
      rdma_cm_id* id = ev->id;
      const int status = ev->status;
      std::vector<uint8_t> priv;
      if (ev->param.conn.private_data != nullptr) {
        const auto* p = static_cast<const uint8_t*>(ev->param.conn.private_data);
        priv.assign(p, p + ev->param.conn.private_data_len);
      }
      rdma_ack_cm_event(ev);
      try {
        HandleCmEvent(type, id, status, priv);
      } catch (const std::exception& e) {
        GW_WARN("rdma_cm " << rdma_event_str(type) << ": " << e.what());
      }
    }
  }
}

void RdmaDevice::HandleCmEvent(rdma_cm_event_type type, rdma_cm_id* id, int status,
                               const std::vector<uint8_t>& priv) {
  std::shared_ptr<RdmaConnection> conn;
  std::shared_ptr<Attempt> attempt;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = by_id_.find(id); it != by_id_.end()) conn = it->second;
    if (auto it = attempts_.find(id); it != attempts_.end()) attempt = it->second;
  }
  const std::string what = std::string(rdma_event_str(type)) +
                           (status != 0 ? " (status " + std::to_string(status) + ")" : "");
  switch (type) {
    case RDMA_CM_EVENT_CONNECT_REQUEST:
      return OnConnectRequest(id, priv);
    case RDMA_CM_EVENT_ADDR_RESOLVED: {
      if (!attempt) return;
      try {
        std::shared_ptr<RdmaConnection> c;
        {
          // Only while the attempt is unsettled: a settle (its deadline) destroys an id that
          // no connection owns yet, and from here on the connection owns it.
          std::lock_guard<std::mutex> lock(mu_);
          if (auto it = attempts_.find(id); it == attempts_.end() || it->second != attempt) return;
          CheckDeviceOf(id, "the route to the server");
          c = std::make_shared<RdmaConnection>(*this, id, attempt->expected,
                                               PdFor(attempt->expected), /*outgoing=*/true);
          by_id_[id] = c;
          attempt->conn = c;
        }
        c->CreateQp(ctx_, comp_channel_);
        if (rdma_resolve_route(id, kResolveTimeoutMs) != 0) {
          throw Error(std::string("rdma_resolve_route: ") + std::strerror(errno));
        }
      } catch (const Error& e) {
        SettleAttempt(id, e.what(), false);
      }
      return;
    }
    case RDMA_CM_EVENT_ROUTE_RESOLVED: {
      if (!attempt) return;
      CmPrivate mine;
      mine.role = static_cast<uint8_t>(options_.self.role);
      mine.rank = options_.self.rank;
      rdma_conn_param param{};
      param.private_data = &mine;
      param.private_data_len = sizeof mine;
      param.responder_resources = 1;
      param.initiator_depth = 1;
      param.retry_count = 7;
      param.rnr_retry_count = 7;  // receivers repost at once; wait rather than fail
      if (rdma_connect(id, &param) != 0) {
        SettleAttempt(id, std::string("rdma_connect: ") + std::strerror(errno), false);
      }
      return;
    }
    case RDMA_CM_EVENT_ESTABLISHED:
      if (!conn) return;
      conn->TuneEstablishedQp();
      conn->set_state(RdmaConnection::State::kHandshake);
      conn->set_handshake_deadline(Clock::now() + options_.handshake_timeout);
      if (attempt) {  // we called: introduce ourselves
        Hello h;
        h.peer = options_.self;
        h.job_id = options_.job_id;
        h.token = options_.token;
        conn->SendFrame(FrameType::kHello, EncodeHello(h));
      }
      return;
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_CONNECT_ERROR:
      if (attempt) return SettleAttempt(id, what, false);
      if (conn) conn->Finish(false, what);
      return;
    case RDMA_CM_EVENT_REJECTED:
      if (attempt) {
        // Refused by a gradwire listener: it says why, and trying again changes nothing.
        if (const auto reason = ParseRejectReason(priv)) {
          return SettleAttempt(id, "refused by peer: " + *reason, true);
        }
        // No listener yet answers with a reject too: retried until the connect deadline.
        return SettleAttempt(id, "rejected (" + what + ")", false);
      }
      if (conn) conn->Finish(false, what);
      return;
    case RDMA_CM_EVENT_DISCONNECTED:
      // With a connection, its poll settles the attempt (OnFinished) after draining what
      // came before the disconnect: a refusal's reason must reach Connect, not "disconnected".
      if (attempt && !conn) SettleAttempt(id, "disconnected during set-up", false);
      if (conn) {
        conn->MarkDisconnected();
        WakePoll();
      }
      return;
    case RDMA_CM_EVENT_DEVICE_REMOVAL: {
      GW_ERROR("RDMA device " << ibv_get_device_name(ctx_->device) << " was removed");
      if (attempt) SettleAttempt(id, "RDMA device removed", false);
      if (conn) conn->Finish(false, "RDMA device removed");
      return;
    }
    case RDMA_CM_EVENT_ADDR_CHANGE:
      GW_WARN("rdma_cm: the address of a connection changed (" << what << ")");
      return;
    case RDMA_CM_EVENT_TIMEWAIT_EXIT:
      return;                             // the QP may be reused; we destroy ours instead
    case RDMA_CM_EVENT_CONNECT_RESPONSE:  // only without a QP, which we never do
    case RDMA_CM_EVENT_MULTICAST_JOIN:    // no multicast here
    case RDMA_CM_EVENT_MULTICAST_ERROR:
    default:
      GW_WARN("rdma_cm: unexpected event " << what << "; ignored");
      if (attempt) SettleAttempt(id, "unexpected " + what, false);
      return;
  }
}

void RdmaDevice::LogRefusal(rdma_cm_id* id, const std::string& line) {
  char ip[INET6_ADDRSTRLEN] = "?";
  const sockaddr* sa = rdma_get_peer_addr(id);
  if (sa != nullptr && sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, ip, sizeof ip);
  } else if (sa != nullptr && sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, ip, sizeof ip);
  }
  const std::string logged = refusals_.Note(ip, line, GetClock().Now());
  if (!logged.empty()) GW_WARN(logged);
}

void RdmaDevice::OnConnectRequest(rdma_cm_id* id, const std::vector<uint8_t>& priv) {
  CmPrivate claim;
  if (priv.size() < sizeof claim) {
    // Logged before the destroy: it reads id's address.
    LogRefusal(id, "refused connection: no gradwire identity in the connect request");
    Reject(id, "no gradwire identity in the connect request");
    rdma_destroy_id(id);
    return;
  }
  std::memcpy(&claim, priv.data(), sizeof claim);
  const PeerId peer{claim.role, claim.rank};
  std::string why;
  if (claim.magic != FrameHeader::kMagic || claim.version != 1) {
    why = "not a gradwire peer (bad connect request)";
  } else {
    // Before a queue pair exists in the claimed identity's protection domain.
    why = CheckAdmission(peer, options_.roles, options_.self);
  }
  if (!why.empty()) {
    // Logged before the destroy: it reads id's address.
    LogRefusal(id, "refused connection: " + why);
    Reject(id, why);
    rdma_destroy_id(id);
    return;
  }
  std::shared_ptr<RdmaConnection> conn;
  try {
    CheckDeviceOf(id, "an incoming connection");
    {
      std::lock_guard<std::mutex> lock(mu_);
      conn = std::make_shared<RdmaConnection>(*this, id, peer, PdFor(peer));
    }
    conn->CreateQp(ctx_, comp_channel_);
    rdma_conn_param param{};
    param.responder_resources = 1;
    param.initiator_depth = 1;
    param.rnr_retry_count = 7;
    if (rdma_accept(id, &param) != 0) {
      throw Error(std::string("rdma_accept: ") + std::strerror(errno));
    }
  } catch (const Error& e) {
    LogRefusal(id, "dropped connection from " + options_.roles.Name(peer) + ": " + e.what());
    Reject(id, "the server could not set up the connection: " + std::string(e.what()));
    if (conn) {
      conn->Release();  // owns id
    } else {
      rdma_destroy_id(id);
    }
    return;
  }
  conn->set_handshake_deadline(Clock::now() + options_.handshake_timeout);
  std::lock_guard<std::mutex> lock(mu_);
  by_id_[id] = conn;
}

void RdmaDevice::OnHandshakeFrame(RdmaConnection& conn, FrameType type,
                                  std::span<const uint8_t> payload) {
  std::shared_ptr<Attempt> attempt;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = attempts_.find(conn.id()); it != attempts_.end()) attempt = it->second;
  }
  // A hello may arrive before the CM thread has seen ESTABLISHED: the QP receives as soon as
  // it is ready to, so kConnecting is as good as kHandshake here.
  if (const auto st = conn.state();
      st != RdmaConnection::State::kHandshake && st != RdmaConnection::State::kConnecting) {
    return conn.Abort("unexpected handshake frame");
  }
  const bool calling = conn.outgoing();
  if (calling && attempt == nullptr) {
    // Our attempt already ended (a disconnect or its deadline raced this answer): the
    // connection is ending. Not a refusal of anyone, so nothing is logged.
    return conn.Finish(false, "handshake answer after the connect attempt ended");
  }
  std::string why;
  if (type == FrameType::kHelloReject && calling) {
    return SettleAttempt(conn.id(),
                         "refused by peer: " + std::string(payload.begin(), payload.end()), true);
  }
  if (type != (calling ? FrameType::kHelloAccept : FrameType::kHello)) {
    why = "unexpected frame in the handshake";
  }
  std::optional<Hello> hello;
  if (why.empty()) hello = ParseHello(payload, &why);
  if (hello) {
    why = CheckHello(*hello, options_.roles, options_.self, options_.job_id, options_.token);
  }
  if (hello && why.empty() && !(hello->peer == conn.peer())) {
    why = calling ? "the address is " + options_.roles.Name(hello->peer) + ", not the expected " +
                        options_.roles.Name(conn.peer())
                  : "the peer claimed to be " + options_.roles.Name(conn.peer()) + " but says " +
                        options_.roles.Name(hello->peer);
  }
  if (hello && why.empty() && !calling) {
    if (auto live = Find(conn.peer()); live && live->open()) {
      why = options_.roles.Name(conn.peer()) + " is already connected (duplicate rank?)";
    }
  }
  if (!why.empty()) {
    if (calling) return SettleAttempt(conn.id(), why, true);
    LogRefusal(conn.id(), "refused connection: " + why);
    const std::vector<uint8_t> reason(why.begin(), why.end());
    return conn.SendFrame(FrameType::kHelloReject, reason, /*close_after=*/true);
  }
  if (!calling) {
    Hello mine;
    mine.peer = options_.self;
    mine.job_id = options_.job_id;
    mine.token = options_.token;
    conn.SendFrame(FrameType::kHelloAccept, EncodeHello(mine));
  }
  conn.set_state(RdmaConnection::State::kOpen);
  {
    std::lock_guard<std::mutex> lock(mu_);
    by_peer_[KeyOf(conn.peer())] = conn.shared_from_this();
  }
  Completion c;
  c.kind = CompletionKind::kPeerConnected;
  c.peer = conn.peer();
  cq_.Push(std::move(c));
  if (calling) SettleAttempt(conn.id(), "", false);
}

void RdmaDevice::CheckHandshakeDeadlines() {
  const auto now = Clock::now();
  for (auto& c : Snapshot()) {
    const auto st = c->state();
    if (st == RdmaConnection::State::kFinished) {
      // Drained by the Poll before this: free its QP, CQ and buffers now, even while a user
      // still holds the (closed) connection.
      {
        std::lock_guard<std::mutex> lock(mu_);
        // An attempt still keyed by this id is settled first (OnFinished does it): until
        // then the id must live.
        if (attempts_.count(c->key()) != 0) continue;
        if (auto it = by_id_.find(c->key()); it != by_id_.end() && it->second == c) {
          by_id_.erase(it);
        }
      }
      c->Release();
      continue;
    }
    if ((st == RdmaConnection::State::kHandshake || st == RdmaConnection::State::kConnecting) &&
        c->handshake_deadline() != Clock::time_point{} && now > c->handshake_deadline()) {
      LogRefusal(c->id(), "dropped connection from " + options_.roles.Name(c->peer()) +
                              ": no handshake within " +
                              std::to_string(options_.handshake_timeout.count()) + " ms");
      c->Finish(false, "no handshake in time");
    }
  }
}

}  // namespace gw::rdma
