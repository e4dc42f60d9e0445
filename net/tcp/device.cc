#include "net/tcp/device.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>

#include "base/descriptors.h"
#include "base/error.h"
#include "base/huge_pages.h"
#include "base/log.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/tcp/connection.h"

namespace gw::tcp {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Before accepting again after an accept failed: out of descriptors, long enough that a
// handshake timing out or a peer leaving frees one; other errors (a peer that reset before
// being accepted), short.
constexpr std::chrono::milliseconds kNoDescriptorsBackoff{100};
constexpr std::chrono::milliseconds kAcceptErrorBackoff{10};

constexpr size_t kRegionAlign = 4096;  // page-aligned, as an RDMA MR would be
constexpr auto kConnectRetry = std::chrono::milliseconds(100);

std::pair<int, uint32_t> Key(PeerId p) { return {static_cast<int>(p.role), p.rank}; }

std::string AvailableCongestionControls() {
  std::ifstream f("/proc/sys/net/ipv4/tcp_available_congestion_control");
  std::string line;
  std::getline(f, line);
  return line.empty() ? "(unknown)" : line;
}

std::string Describe(const tcp::socket& s) {
  boost::system::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

// One handshake, either side, as an async state machine with a deadline. The initiator sends
// its hello and waits for accept/reject; the acceptor reads a hello, checks it, answers.
class Handshake : public std::enable_shared_from_this<Handshake> {
 public:
  using Done =
      std::function<void(const std::string& error, bool refused, PeerId peer, tcp::socket)>;

  Handshake(TcpDevice& dev, tcp::socket socket, bool initiator, Done done)
      : dev_(dev),
        socket_(std::move(socket)),
        timer_(dev.io()),
        initiator_(initiator),
        done_(std::move(done)) {}

  void Start() {
    timer_.expires_after(dev_.options().handshake_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec)
        self->Fail("no handshake within " +
                   std::to_string(self->dev_.options().handshake_timeout.count()) + " ms");
    });
    if (initiator_) {
      SendFrame(FrameType::kHello, EncodeHello(Mine()), [this] { ReadHeader(); });
    } else {
      ReadHeader();
    }
  }

 private:
  Hello Mine() const {
    Hello h;
    h.peer = dev_.options().self;
    h.job_id = dev_.options().job_id;
    h.token = dev_.options().token;
    return h;
  }

  void SendFrame(FrameType type, std::vector<uint8_t> payload, std::function<void()> next) {
    FrameHeader h;
    h.type = type;
    h.length = payload.size();
    out_header_ = EncodeHeader(h);
    out_payload_ = std::move(payload);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(out_header_), asio::buffer(out_payload_)};
    asio::async_write(
        socket_, bufs,
        [self = shared_from_this(), next](const boost::system::error_code& ec, size_t) {
          if (self->finished_) return;
          if (ec) return self->Fail("sending handshake: " + ec.message());
          next();
        });
  }

  void ReadHeader() {
    asio::async_read(socket_, asio::buffer(in_header_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (self->finished_) return;
                       if (ec) return self->Fail("reading handshake: " + ec.message());
                       self->OnHeader();
                     });
  }

  void OnHeader() {
    std::string why;
    const auto h = ParseHeader(in_header_, &why);
    if (!h) return Refuse(why, /*answer=*/false);
    const FrameType expected = initiator_ ? FrameType::kHelloAccept : FrameType::kHello;
    if (h->type != expected && !(initiator_ && h->type == FrameType::kHelloReject)) {
      return Refuse("expected a hello, got frame type " + std::to_string(static_cast<int>(h->type)),
                    false);
    }
    in_type_ = h->type;
    in_payload_.resize(h->length);
    asio::async_read(socket_, asio::buffer(in_payload_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (self->finished_) return;
                       if (ec) return self->Fail("reading handshake: " + ec.message());
                       self->OnPayload();
                     });
  }

  void OnPayload() {
    if (in_type_ == FrameType::kHelloReject) {
      return Refuse("refused by peer: " + std::string(in_payload_.begin(), in_payload_.end()),
                    false);
    }
    std::string why;
    const auto hello = ParseHello(in_payload_, &why);
    if (!hello) return Refuse("malformed hello: " + why, !initiator_);
    const DeviceOptions& o = dev_.options();
    why = CheckHello(*hello, o.roles, o.self, o.job_id, o.token);
    if (why.empty() && !initiator_) {
      // One connection per peer identity: a second claimant (a duplicate rank) must not
      // evict a live peer. A restarted peer gets in once its old connection is seen closed.
      if (auto live = dev_.Find(hello->peer); live && live->open()) {
        why = dev_.options().roles.Name(hello->peer) + " is already connected (duplicate rank?)";
      }
    }
    if (!why.empty()) return Refuse(why, !initiator_);
    peer_ = hello->peer;
    if (initiator_) return Succeed();
    SendFrame(FrameType::kHelloAccept, EncodeHello(Mine()), [this] { Succeed(); });
  }

  // Refuses the peer; the acceptor tells it why before closing.
  void Refuse(const std::string& why, bool answer) {
    refused_ = true;
    if (!answer) return Fail(why);
    const std::vector<uint8_t> reason(why.begin(), why.end());
    SendFrame(FrameType::kHelloReject, reason, [this, why] { Fail(why); });
  }

  void Succeed() {
    finished_ = true;
    timer_.cancel();
    done_("", false, peer_, std::move(socket_));
  }

  void Fail(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    const std::string from = Describe(socket_);
    socket_.close(ignored);
    done_(why + " (" + from + ")", refused_, peer_, tcp::socket(dev_.io()));
  }

  TcpDevice& dev_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  bool initiator_;
  Done done_;
  bool finished_ = false;
  bool refused_ = false;
  PeerId peer_;
  HeaderBytes out_header_{};
  std::vector<uint8_t> out_payload_;
  HeaderBytes in_header_{};
  FrameType in_type_ = FrameType::kHello;
  std::vector<uint8_t> in_payload_;
};

}  // namespace

TcpRegion::TcpRegion(uint32_t id, size_t bytes, PeerId writer)
    : id_(id), size_(bytes), writer_(writer), owned_(true) {
  const size_t align = bytes >= kHugePage ? kHugePage : kRegionAlign;
  const size_t rounded = std::max(align, (bytes + align - 1) / align * align);
  data_ = static_cast<std::byte*>(std::aligned_alloc(align, rounded));
  if (data_ == nullptr)
    throw Error("cannot allocate a region of " + std::to_string(bytes) + " bytes");
  AdviseHugePages(data_, rounded);  // large regions are aligned to huge pages (base/huge_pages.h)
  std::memset(data_, 0, rounded);
}

TcpRegion::TcpRegion(uint32_t id, std::span<std::byte> memory, PeerId writer)
    : id_(id), data_(memory.data()), size_(memory.size()), writer_(writer), owned_(false) {}

TcpRegion::~TcpRegion() {
  if (owned_) std::free(data_);
}

TcpDevice::TcpDevice(const DeviceOptions& options)
    : options_(options), cq_(options.completion_spin), work_(asio::make_work_guard(io_)) {
  if (!options_.congestion_control.empty()) {
    // Fail at start-up, not on the first connection, when the kernel lacks the algorithm.
    tcp::socket probe(io_, tcp::v4());
    ConfigureSocket(probe.native_handle());
  }
  if (options_.wait_runs_io.value_or(kWaitRunsIoByDefault)) cq_.SetDriver(this);
  io_thread_ = std::thread([this] { io_.run(); });
}

// The park is a handler like any other: while the I/O thread sits in it, the waiter's
// run_one_until takes the reactor (epoll) and runs every other handler on its own thread.
void TcpDevice::AskIoToPark() {
  asio::post(io_, [this] { cq_.ParkIo(); });
}

bool TcpDevice::RunIoOnce(std::chrono::steady_clock::time_point until) {
  if (io_.stopped()) return false;
  if (until <= std::chrono::steady_clock::now()) {
    io_.poll_one();  // run_one_until would return at once without looking
  } else {
    io_.run_one_until(until);
  }
  return !io_.stopped();
}

TcpDevice::~TcpDevice() { TcpDevice::Shutdown(); }  // final class: no dynamic dispatch wanted

void TcpDevice::ConfigureSocket(int fd) {
  const int one = 1;  // small control frames must not wait for Nagle
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    throw Error(std::string("cannot set TCP_NODELAY: ") + std::strerror(errno));
  }
  const auto& cc = options_.congestion_control;
  if (!cc.empty() && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc.data(),
                                static_cast<socklen_t>(cc.size())) != 0) {
    throw Error("TCP congestion control '" + cc + "' is not available (" + std::strerror(errno) +
                "); this kernel offers: " + AvailableCongestionControls() + " (modprobe tcp_" + cc +
                " or pick one of those)");
  }
}

void TcpDevice::ConnectFrom(std::shared_ptr<tcp::socket> socket,
                            tcp::resolver::results_type results, size_t index, ConnectDone done) {
  auto it = results.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(index));
  const tcp::endpoint ep = it->endpoint();
  boost::system::error_code ec;
  socket->close(ec);
  socket->open(ep.protocol(), ec);
  if (ec) return done("cannot open a socket: " + ec.message(), false);
  try {
    ConfigureSocket(socket->native_handle());  // before the SYN (see its comment)
  } catch (const Error& e) {
    return done(e.what(), true);
  }
  socket->async_connect(ep, [this, socket, results, index,
                             done = std::move(done)](const boost::system::error_code& ec) mutable {
    if (!ec) return done("", false);
    if (index + 1 < results.size()) return ConnectFrom(socket, results, index + 1, std::move(done));
    done(ec.message(), false);
  });
}

Region& TcpDevice::RegisterRegion(size_t bytes, PeerId writer) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto id = static_cast<uint32_t>(regions_.size());
  regions_.push_back(std::make_unique<TcpRegion>(id, bytes, writer));
  return *regions_.back();
}

Region& TcpDevice::RegisterMemory(std::span<std::byte> memory, PeerId writer) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto id = static_cast<uint32_t>(regions_.size());
  regions_.push_back(std::make_unique<TcpRegion>(id, memory, writer));
  return *regions_.back();
}

Region* TcpDevice::FindRegion(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return id < regions_.size() ? regions_[id].get() : nullptr;
}

void TcpDevice::Listen(const Address& addr) {
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  const auto results = resolver.resolve(addr.host, std::to_string(addr.port), ec);
  if (ec || results.empty()) {
    throw Error("cannot resolve listen address " + addr.ToString() + ": " + ec.message());
  }
  const tcp::endpoint ep = *results.begin();
  tcp::acceptor acceptor(io_);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  // Accepted sockets inherit the listener's congestion control, chosen before their SYN.
  if (!ec) ConfigureSocket(acceptor.native_handle());
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error("cannot listen on " + addr.ToString() + ": " + ec.message() +
                (ec == asio::error::address_in_use ? " (another process has that port; pick "
                                                     "another with --listen)"
                                                   : ""));
  }
  bound_port_ = acceptor.local_endpoint().port();
  acceptor_.emplace(std::move(acceptor));
  accept_backoff_.emplace(io_);
  Post([this] { Accept(); });
}

void TcpDevice::Accept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      try {
        ConfigureSocket(socket.native_handle());  // the listener's choice again: a no-op
      } catch (const Error& e) {
        GW_WARN(e.what());
      }
      boost::system::error_code ignored;
      const std::string source = socket.remote_endpoint(ignored).address().to_string();
      auto hs = std::make_shared<Handshake>(
          *this, std::move(socket), /*initiator=*/false,
          [this, source](const std::string& error, bool refused, PeerId peer, tcp::socket s) {
            if (!error.empty()) {
              // The handshake's error ends with " (ip:port)": the port changes every attempt.
              const std::string line =
                  refusals_.Note(source,
                                 (refused ? "refused connection: " : "dropped connection: ") +
                                     error.substr(0, error.rfind(" (")),
                                 GetClock().Now());
              if (!line.empty()) GW_WARN(line);
              return;
            }
            Adopt(std::move(s), peer);
          });
      hs->Start();
    } else {
      // Out of descriptors (EMFILE, ENFILE) the next accept fails at once as well: retrying
      // in a loop burned a core and flooded the log. Wait, and say (once per interval) which
      // limit was hit and what to raise; the peers queue in the listen backlog meanwhile.
      // accept(2)'s errno (asio's system category on Linux).
      const bool no_fds = ec.value() == EMFILE || ec.value() == ENFILE;
      std::string why = "accept failed: " + ec.message();
      if (no_fds) {
        why += " (this process may open " + std::to_string(DescriptorLimit()) +
               " file descriptors: raise ulimit -n; new peers wait until some close)";
      }
      const std::string line = refusals_.Note("accept", why, GetClock().Now());
      if (!line.empty()) GW_WARN(line);
      accept_backoff_->expires_after(no_fds ? kNoDescriptorsBackoff : kAcceptErrorBackoff);
      accept_backoff_->async_wait([this](const boost::system::error_code& e) {
        if (!e) Accept();
      });
      return;
    }
    Accept();
  });
}

std::shared_ptr<TcpConnection> TcpDevice::Adopt(tcp::socket socket, PeerId peer) {
  auto conn = std::make_shared<TcpConnection>(*this, std::move(socket), peer);
  std::shared_ptr<TcpConnection> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = connections_[Key(peer)];
    old = std::move(slot);
    slot = conn;
  }
  // Only reachable when the old connection closed during this handshake.
  if (old) old->AbortNow("replaced by a new connection from the same peer");
  conn->Start();
  Completion c;
  c.kind = CompletionKind::kPeerConnected;
  c.peer = peer;
  cq_.Push(std::move(c));
  return conn;
}

void TcpDevice::OnConnectionClosed(TcpConnection* connection) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(Key(connection->peer()));
  if (it != connections_.end() && it->second.get() == connection) connections_.erase(it);
}

std::shared_ptr<Connection> TcpDevice::Find(PeerId peer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(Key(peer));
  return it == connections_.end() ? nullptr : it->second;
}

std::shared_ptr<Connection> TcpDevice::Connect(const Address& addr, PeerId expected) {
  const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
  std::string last_error;
  while (true) {
    struct Result {
      std::string error;
      bool refused = false;  // by the handshake: retrying will not help
      std::shared_ptr<TcpConnection> conn;
    };
    auto promise = std::make_shared<std::promise<Result>>();
    auto future = promise->get_future();
    Post([this, addr, promise] {
      auto resolver = std::make_shared<tcp::resolver>(io_);
      auto socket = std::make_shared<tcp::socket>(io_);
      resolver->async_resolve(
          addr.host, std::to_string(addr.port),
          [this, resolver, socket, promise, addr](const boost::system::error_code& ec,
                                                  tcp::resolver::results_type results) {
            if (ec)
              return promise->set_value(
                  {"cannot resolve " + addr.host + ": " + ec.message(), false, nullptr});
            if (results.empty())
              return promise->set_value({"cannot resolve " + addr.host, false, nullptr});
            ConnectFrom(socket, results, 0,
                        [this, socket, promise](const std::string& error, bool refused) {
                          if (!error.empty()) return promise->set_value({error, refused, nullptr});
                          auto hs = std::make_shared<Handshake>(
                              *this, std::move(*socket), /*initiator=*/true,
                              [promise, this](const std::string& error, bool refused, PeerId peer,
                                              tcp::socket s) {
                                if (!error.empty())
                                  return promise->set_value({error, refused, nullptr});
                                promise->set_value({"", false, Adopt(std::move(s), peer)});
                              });
                          hs->Start();
                        });
          });
    });
    // The handshake has its own deadline, so the future always resolves.
    Result r = future.get();
    if (r.conn && !(r.conn->peer() == expected)) {
      r.conn->Close();
      throw Error(addr.ToString() + " is " + options_.roles.Name(r.conn->peer()) +
                  ", not the expected " + options_.roles.Name(expected));
    }
    if (r.conn) return r.conn;
    last_error = r.error;
    if (r.refused) throw Error("connection to " + addr.ToString() + " refused: " + r.error);
    if (std::chrono::steady_clock::now() + kConnectRetry >= deadline) break;
    std::this_thread::sleep_for(kConnectRetry);  // the peer may still be starting
  }
  throw Error("cannot connect to " + addr.ToString() + " within " +
              std::to_string(options_.connect_timeout.count()) + " ms: " + last_error +
              " (is the server running and the address right?)");
}

void TcpDevice::Shutdown() {
  std::vector<std::shared_ptr<TcpConnection>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [key, c] : connections_) conns.push_back(c);
  }
  cq_.SetDriver(nullptr);  // waits from now on sleep: the I/O thread is about to end
  for (auto& c : conns) c->Close();
  // Give orderly closes a moment to finish, then abort whatever is left.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (connections_.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Post([this, conns] {
    for (auto& c : conns) c->AbortNow("device shut down");
    if (acceptor_) {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
    }
    io_.stop();  // after the aborts above: handshake timers need not run out
  });
  work_.reset();
  if (io_thread_.joinable()) io_thread_.join();
}

}  // namespace gw::tcp
