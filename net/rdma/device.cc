#include "net/rdma/device.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "net/frame.h"
#include "net/handshake.h"

namespace gw::rdma {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kResolveTimeoutMs = 2000;
constexpr auto kConnectRetry = std::chrono::milliseconds(100);
// Busy polling looks at its file descriptors (wake-ups, completion events) and takes a new
// snapshot of the connections this often, not on every spin: each look is system calls.
constexpr auto kBusyFdInterval = std::chrono::milliseconds(1);

std::pair<int, uint32_t> Key(PeerId p) { return {static_cast<int>(p.role), p.rank}; }

// What a connect request carries: who is calling, so its QP is made in that peer's
// protection domain. The handshake over the QP then authenticates the claim.
struct CmPrivate {
  uint16_t magic = FrameHeader::kMagic;
  uint8_t version = 1;
  uint8_t role = 0;
  uint32_t rank = 0;
};
static_assert(sizeof(CmPrivate) == 8, "fits rdma_cm private data (56 bytes for RC)");

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

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

}  // namespace

RdmaDevice::RdmaDevice(const DeviceOptions& options)
    : options_(options), cq_(options.completion_spin) {
  int n = 0;
  devices_ = rdma_get_devices(&n);
  if (devices_ == nullptr || n == 0) {
    if (devices_ != nullptr) rdma_free_devices(devices_);
    throw Error(
        "no RDMA device on this host (the kernel has no RDMA support, or no rxe link is set "
        "up): on a machine whose kernel has rdma_rxe see experiments/softroce/; here, "
        "'make test-rdma' runs soft-RoCE in a VM; or use tcp://");
  }
  std::string names;
  for (int i = 0; i < n; ++i) {
    const std::string name = ibv_get_device_name(devices_[i]->device);
    names += (names.empty() ? "" : " ") + name;
    if (options_.rdma_device.empty() ? ctx_ == nullptr : name == options_.rdma_device) {
      ctx_ = devices_[i];
    }
  }
  if (ctx_ == nullptr || (options_.rdma_device.empty() && n > 1)) {
    rdma_free_devices(devices_);
    throw Error(options_.rdma_device.empty()
                    ? "several RDMA devices (" + names + "): choose one with --rdma-device"
                    : "no RDMA device named '" + options_.rdma_device + "'; present: " + names);
  }
  cm_channel_ = rdma_create_event_channel();
  comp_channel_ = ibv_create_comp_channel(ctx_);
  wake_fd_ = eventfd(0, EFD_NONBLOCK);
  poll_wake_fd_ = eventfd(0, EFD_NONBLOCK);
  if (cm_channel_ == nullptr || comp_channel_ == nullptr || wake_fd_ < 0 || poll_wake_fd_ < 0) {
    throw Error(std::string("cannot create RDMA event channels: ") + std::strerror(errno));
  }
  SetNonBlocking(cm_channel_->fd);
  SetNonBlocking(comp_channel_->fd);
  cm_thread_ = std::thread([this] { CmLoop(); });
  poll_thread_ = std::thread([this] { PollLoop(); });
}

RdmaDevice::~RdmaDevice() { RdmaDevice::Shutdown(); }

ibv_pd* RdmaDevice::PdFor(PeerId peer) {
  // Caller holds mu_.
  auto& pd = pds_[Key(peer)];
  if (pd == nullptr) {
    pd = ibv_alloc_pd(ctx_);
    if (pd == nullptr) throw Error(std::string("ibv_alloc_pd failed: ") + std::strerror(errno));
  }
  return pd;
}

Region& RdmaDevice::RegisterRegion(size_t bytes, PeerId writer) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto id = static_cast<uint32_t>(regions_.size());
  ibv_pd* pd = writer == options_.self ? nullptr : PdFor(writer);
  regions_.push_back(std::make_unique<RdmaRegion>(id, nullptr, bytes, writer,
                                                  options_.roles.Name(writer), pd, budget_));
  return *regions_.back();
}

Region& RdmaDevice::RegisterMemory(std::span<std::byte> memory, PeerId writer) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto id = static_cast<uint32_t>(regions_.size());
  ibv_pd* pd = writer == options_.self ? nullptr : PdFor(writer);
  regions_.push_back(std::make_unique<RdmaRegion>(id, memory.data(), memory.size(), writer,
                                                  options_.roles.Name(writer), pd, budget_));
  return *regions_.back();
}

Region* RdmaDevice::FindRegion(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return id < regions_.size() ? regions_[id].get() : nullptr;
}

uint32_t RdmaDevice::LkeyFor(const void* p, size_t n, ibv_pd* pd) {
  RdmaRegion* found = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : regions_) {
      if (r->Contains(p, n)) {
        found = r.get();
        break;
      }
    }
  }
  if (found == nullptr) {
    throw Error(
        "the source of an RDMA write must lie in registered memory "
        "(Device::RegisterRegion or RegisterMemory)");
  }
  return found->LkeyIn(pd);
}

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

std::shared_ptr<Connection> RdmaDevice::Find(PeerId peer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_peer_.find(Key(peer));
  return it == by_peer_.end() ? nullptr : it->second;
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
      // No listener yet answers with a reject too: retried until the connect deadline.
      if (attempt) return SettleAttempt(id, "rejected (" + what + ")", false);
      if (conn) conn->Finish(false, what);
      return;
    case RDMA_CM_EVENT_DISCONNECTED:
      // With a connection, its poll settles the attempt (OnFinished) after draining what
      // came before the disconnect: a refusal's reason must reach Connect, not "disconnected".
      if (attempt && !conn) SettleAttempt(id, "disconnected during set-up", false);
      if (conn) {
        conn->MarkDisconnected();
        const uint64_t one = 1;
        ssize_t ignored = write(poll_wake_fd_, &one, sizeof one);
        (void)ignored;
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
    rdma_reject(id, nullptr, 0);
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
    rdma_reject(id, nullptr, 0);
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
    if (conn) {
      rdma_reject(id, nullptr, 0);
      conn->Release();  // owns id
    } else {
      rdma_reject(id, nullptr, 0);
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
    by_peer_[Key(conn.peer())] = conn.shared_from_this();
  }
  Completion c;
  c.kind = CompletionKind::kPeerConnected;
  c.peer = conn.peer();
  cq_.Push(std::move(c));
  if (calling) SettleAttempt(conn.id(), "", false);
}

void RdmaDevice::OnFinished(RdmaConnection& conn, bool was_open, bool ok, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_peer_.find(Key(conn.peer()));
    if (it != by_peer_.end() && it->second.get() == &conn) by_peer_.erase(it);
    // by_id_ keeps it until the poll thread has drained its flushed completions.
  }
  // A connection that ends while we are still calling (no hello in time, an error completion)
  // fails its attempt now: Connect stops waiting, and no attempt outlives the id.
  SettleAttempt(conn.key(), why.empty() ? "connection ended during set-up" : why, false);
  if (!was_open) return;
  Completion c;
  c.kind = CompletionKind::kPeerClosed;
  c.peer = conn.peer();
  c.ok = ok;
  c.error = why;
  cq_.Push(std::move(c));
}

std::vector<std::shared_ptr<RdmaConnection>> RdmaDevice::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<RdmaConnection>> out;
  out.reserve(by_id_.size());
  for (auto& [id, c] : by_id_) out.push_back(c);
  return out;
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

void RdmaDevice::PollLoop() {
  pollfd fds[3] = {
      {comp_channel_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {poll_wake_fd_, POLLIN, 0}};
  const bool busy = options_.rdma_busy_poll;
  auto last_check = Clock::now();
  auto last_fds = Clock::time_point{};
  auto last_sweep = Clock::time_point{};
  std::vector<std::shared_ptr<RdmaConnection>> conns;  // every connection (a snapshot)
  std::vector<RdmaConnection*> fired;                  // event mode: CQs that raised an event
  while (!stop_) {
    bool sweep = busy;  // busy polling drains every CQ on every spin
    fired.clear();
    if (!busy || Clock::now() - last_fds >= kBusyFdInterval) {
      // Event mode sleeps here until a CQ raises an event; busy mode only looks.
      const int ready = poll(fds, 3, busy ? 0 : 50);
      // Each fd is read only when poll says it is ready: on rxe every look is a system call,
      // and per write that was most of the receiver's work.
      if (ready > 0 && (fds[2].revents & POLLIN) != 0) {
        uint64_t wakes = 0;
        ssize_t ignored = read(poll_wake_fd_, &wakes, sizeof wakes);
        (void)ignored;
        sweep = true;  // a disconnect to act on, or a new connection
      }
      if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
        ibv_cq* ev_cq = nullptr;
        void* ev_ctx = nullptr;
        while (ibv_get_cq_event(comp_channel_, &ev_cq, &ev_ctx) == 0) {
          ibv_ack_cq_events(ev_cq, 1);  // acked at once: destroying a CQ waits for its acks
          fired.push_back(static_cast<RdmaConnection*>(ev_ctx));  // the CQ's context
        }
      }
      last_fds = Clock::now();
      // Now and then every CQ anyway (and a fresh snapshot): nothing depends on it, it only
      // bounds the cost of a bug in the event bookkeeping.
      if (ready == 0 || last_fds - last_sweep > std::chrono::milliseconds(50)) sweep = true;
      if (sweep) {
        conns = Snapshot();
        last_sweep = last_fds;
      }
    }
    if (sweep) {
      for (auto& c : conns) c->Poll(/*arm=*/!busy);
    } else {
      // Only the CQs that raised an event need draining and re-arming: the others are still
      // armed, so they have had nothing since their last drain.
      for (RdmaConnection* f : fired) {
        auto it =
            std::find_if(conns.begin(), conns.end(), [f](const auto& c) { return c.get() == f; });
        if (it == conns.end()) {  // newer than the snapshot
          conns = Snapshot();
          it =
              std::find_if(conns.begin(), conns.end(), [f](const auto& c) { return c.get() == f; });
        }
        if (it != conns.end()) (*it)->Poll(/*arm=*/true);
      }
    }
    if (Clock::now() - last_check > std::chrono::milliseconds(50)) {
      CheckHandshakeDeadlines();
      last_check = Clock::now();
    }
  }
}

void RdmaDevice::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  std::vector<std::shared_ptr<RdmaConnection>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [k, c] : by_peer_) open.push_back(c);
  }
  for (auto& c : open) c->Close();
  const auto deadline = Clock::now() + std::chrono::milliseconds(1000);
  while (Clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (by_peer_.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop_ = true;
  const uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof one);
  (void)ignored;
  if (poll_thread_.joinable()) poll_thread_.join();
  if (cm_thread_.joinable()) cm_thread_.join();
  // Verbs objects go before the protection domains that hold them.
  std::vector<std::shared_ptr<RdmaConnection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, c] : by_id_) all.push_back(c);
    by_id_.clear();
    by_peer_.clear();
    for (auto& [id, a] : attempts_) {
      if (a->conn) all.push_back(a->conn);
    }
    attempts_.clear();
  }
  for (auto& c : all) c->Release();
  if (listener_ != nullptr) rdma_destroy_id(listener_);
  regions_.clear();
  for (auto& [k, pd] : pds_) ibv_dealloc_pd(pd);
  pds_.clear();
  if (comp_channel_ != nullptr) ibv_destroy_comp_channel(comp_channel_);
  if (cm_channel_ != nullptr) rdma_destroy_event_channel(cm_channel_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (poll_wake_fd_ >= 0) close(poll_wake_fd_);
  if (devices_ != nullptr) rdma_free_devices(devices_);
  comp_channel_ = nullptr;
  cm_channel_ = nullptr;
  devices_ = nullptr;
}

}  // namespace gw::rdma
