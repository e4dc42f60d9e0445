#include "net/sim/device.h"

#include <algorithm>
#include <cstring>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>

#include "base/error.h"
#include "base/log.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/sim/clock.h"
#include "net/sim/connection.h"

namespace gw::sim {

namespace s4u = simgrid::s4u;

namespace {

// Port 0 binds the first free port from here, as a kernel's ephemeral range would.
constexpr uint16_t kFirstFreePort = 10000;
// What a hello costs on the wire each way (a frame header and a Hello at its largest).
constexpr uint64_t kHelloWireBytes = FrameHeader::kSize + Hello::kMaxBytes;

// The simulated network's listening devices by "host:port". One simulation per process runs
// at a time, and all its actors share one OS thread: no lock.
std::map<std::string, SimDevice*>& Listeners() {
  static std::map<std::string, SimDevice*> listeners;
  return listeners;
}

std::string Key(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

std::pair<int, uint32_t> PeerKey(PeerId p) { return {p.role, p.rank}; }

Hello HelloOf(const DeviceOptions& o) {
  Hello h;
  h.peer = o.self;
  h.job_id = o.job_id;
  h.token = o.token;
  return h;
}

}  // namespace

SimRegion::SimRegion(uint32_t id, size_t bytes, PeerId writer)
    : id_(id), owned_(bytes), data_(owned_.bytes().data()), size_(bytes), writer_(writer) {}

SimRegion::SimRegion(uint32_t id, std::span<std::byte> memory, PeerId writer)
    : id_(id), data_(memory.data()), size_(memory.size()), writer_(writer) {}

RemoteRegion SimRegion::Describe() const {
  RemoteRegion r{.id = id_, .length = size_};
  r.SetHandle(kHandle);
  return r;
}

SimDevice::SimDevice(const DeviceOptions& options)
    : options_(options), cq_(options.completion_spin) {
  if (!s4u::Engine::is_initialized() || s4u::this_actor::is_maestro()) {
    throw Error(
        "the sim transport runs inside a simulation (gradwire sim): its devices are made by "
        "the simulation's actors");
  }
  host_ = s4u::this_actor::get_host();
  // Comm::sendto would do without the mailbox, but its comms are detached, and SimGrid 3.32
  // removes a finished detached comm from one global list by a linear walk: with a thousand
  // workers' connections in flight that walk was the simulation's hottest loop. The drain
  // actor outlives the device (a daemon): a peer's frame still on the wire lands, and its
  // connection then finds this end gone, as after sendto.
  static uint64_t devices = 0;
  inbox_ = s4u::Mailbox::by_name("inbox-" + std::to_string(devices++));
  s4u::ActorPtr drain = s4u::Actor::create("inbox", host_, [inbox = inbox_] {
    while (true) {
      try {
        inbox->get<char>();  // the frames themselves travel beside the comm
      } catch (const simgrid::Exception&) {
        // A run cut short by a message sent ahead, or by a closing end (SimConnection).
      }
    }
  });
  drain->daemonize();
  inbox_->set_receiver(drain);
  io_mu_ = s4u::Mutex::create();
  io_cv_ = s4u::ConditionVariable::create();
  cq_.SetDriver(this);
}

SimDevice::~SimDevice() { Shutdown(); }

Region& SimDevice::RegisterRegion(size_t bytes, PeerId writer) {
  const auto id = static_cast<uint32_t>(regions_.size());
  regions_.push_back(std::make_unique<SimRegion>(id, bytes, writer));
  return *regions_.back();
}

Region& SimDevice::RegisterMemory(std::span<std::byte> memory, PeerId writer) {
  const auto id = static_cast<uint32_t>(regions_.size());
  regions_.push_back(std::make_unique<SimRegion>(id, memory, writer));
  return *regions_.back();
}

Region* SimDevice::FindRegion(uint32_t id) {
  return id < regions_.size() ? regions_[id].get() : nullptr;
}

void SimDevice::Listen(const Address& addr) {
  if (addr.transport != TransportKind::kSim) {
    throw Error("the sim transport listens on sim:// addresses, not " + addr.ToString());
  }
  if (addr.host != host_->get_name()) {
    throw Error("cannot listen on " + addr.ToString() + ": this device runs on host " +
                host_->get_name() + " (a device listens on its own host)");
  }
  if (!listening_.empty()) throw Error("this device listens already, on " + listening_);
  uint16_t port = addr.port;
  if (port == 0) {
    port = kFirstFreePort;
    while (Listeners().count(Key(addr.host, port)) != 0) {
      if (port == UINT16_MAX) throw Error("no free port left on host " + addr.host);
      ++port;
    }
  }
  const std::string key = Key(addr.host, port);
  if (!Listeners().emplace(key, this).second) {
    throw Error("cannot listen on sim://" + key + ": address in use");
  }
  listening_ = key;
  bound_port_ = port;
}

std::shared_ptr<Connection> SimDevice::Connect(const Address& addr, PeerId expected) {
  if (addr.transport != TransportKind::kSim) {
    throw Error("the sim transport connects to sim:// addresses, not " + addr.ToString());
  }
  s4u::Host* to = s4u::Host::by_name_or_null(addr.host);
  if (to == nullptr) {
    throw Error("cannot connect to " + addr.ToString() + ": the simulated platform has no host '" +
                addr.host + "'");
  }
  Clock& clock = GetClock();
  const TimePoint deadline = clock.Now() + options_.connect_timeout;
  while (true) {
    // The hello travels first: a listener that appears meanwhile is found by the next try.
    s4u::Comm::sendto(host_, to, kHelloWireBytes);
    const auto it = Listeners().find(Key(addr.host, addr.port));
    if (it != Listeners().end()) {
      SimDevice& listener = *it->second;
      auto ours = std::make_shared<SimConnection>(*this, listener.options_.self);
      std::shared_ptr<SimConnection> theirs;
      const std::string refused = listener.Admit(*this, &theirs);
      if (!refused.empty()) {
        s4u::Comm::sendto(to, host_, kHelloWireBytes);  // the refusal's way back
        throw Error("connection to " + addr.ToString() + " refused: " + refused);
      }
      SimConnection::Pair(ours, theirs);
      s4u::Comm::sendto(to, host_, kHelloWireBytes);  // the acceptance's way back
      const std::string why = CheckHello(HelloOf(listener.options_), options_.roles, options_.self,
                                         options_.job_id, options_.token);
      if (!why.empty()) {
        ours->Abort("refused: " + why);
        ours->Detach();  // never registered here: nothing may report to us once we are gone
        throw Error("connection to " + addr.ToString() + " refused: " + why);
      }
      if (!(ours->peer() == expected)) {
        ours->Close();
        ours->Detach();
        throw Error(addr.ToString() + " is " + options_.roles.Name(ours->peer()) +
                    ", not the expected " + options_.roles.Name(expected));
      }
      Register(ours);
      return ours;
    }
    if (clock.Now() + kConnectRetry >= deadline) break;
    clock.SleepFor(kConnectRetry);  // the peer may still be starting
  }
  throw Error("cannot connect to " + addr.ToString() + " within " +
              std::to_string(options_.connect_timeout.count()) +
              " ms: nobody listens there (is the server running and the address right?)");
}

std::string SimDevice::Admit(SimDevice& from, std::shared_ptr<SimConnection>* ours) {
  if (shut_down_) return "the device is shutting down";
  const Hello hello = HelloOf(from.options_);
  std::string why =
      CheckHello(hello, options_.roles, options_.self, options_.job_id, options_.token);
  if (why.empty()) {
    // One connection per peer identity, as the real backends keep it.
    if (auto live = Find(hello.peer); live && live->open()) {
      why = options_.roles.Name(hello.peer) + " is already connected (duplicate rank?)";
    }
  }
  if (!why.empty()) {
    const std::string line =
        refusals_.Note(from.host_->get_name(), "refused connection: " + why, GetClock().Now());
    if (!line.empty()) GW_WARN(line);
    return why;
  }
  *ours = std::make_shared<SimConnection>(*this, hello.peer);
  Register(*ours);
  return "";
}

void SimDevice::Register(const std::shared_ptr<SimConnection>& conn) {
  std::shared_ptr<SimConnection> old = std::exchange(connections_[PeerKey(conn->peer())], conn);
  if (old) old->Abort("replaced by a new connection from the same peer");
  Completion c;
  c.kind = CompletionKind::kPeerConnected;
  c.peer = conn->peer();
  Complete(std::move(c));
}

void SimDevice::OnConnectionClosed(SimConnection* connection) {
  auto it = connections_.find(PeerKey(connection->peer()));
  if (it != connections_.end() && it->second.get() == connection) connections_.erase(it);
  io_cv_->notify_all();  // a closing device waits for its connections to end
}

std::shared_ptr<Connection> SimDevice::Find(PeerId peer) {
  auto it = connections_.find(PeerKey(peer));
  return it == connections_.end() ? nullptr : it->second;
}

void SimDevice::Complete(Completion c) {
  cq_.Push(std::move(c));
  // A notification is a simcall: made only for an actor waiting (most completions arrive
  // while the application is busy with earlier ones).
  if (waiters_ > 0) io_cv_->notify_all();
}

bool SimDevice::RunIoOnce(TimePoint until) {
  const double until_s = ToSimDeadline(until);
  if (shut_down_) {
    // Nothing will arrive any more: the waiter's time passes (an actor that returned at once
    // and asked again would spin without the simulated clock ever moving).
    if (until_s > s4u::Engine::get_clock()) s4u::this_actor::sleep_until(until_s);
    return false;
  }
  if (cq_.size() > 0) return true;  // no lock (a simcall) for what is already there
  std::unique_lock<s4u::Mutex> lock(*io_mu_);
  while (cq_.size() == 0 && !shut_down_) {
    ++waiters_;
    const std::cv_status status = io_cv_->wait_until(lock, until_s);
    --waiters_;
    if (status == std::cv_status::timeout) break;
  }
  return !shut_down_;
}

void SimDevice::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (!listening_.empty()) Listeners().erase(listening_);
  listening_.clear();
  std::vector<std::shared_ptr<SimConnection>> conns;
  for (auto& [key, c] : connections_) conns.push_back(c);
  for (auto& c : conns) c->Close();
  // Orderly closes first (what is queued goes out, then the bye), within the grace; only an
  // actor can wait for them (a device destroyed after the simulation ended aborts at once).
  const double until = ToSimDeadline(GetClock().Now() + kCloseGrace);
  if (!s4u::this_actor::is_maestro()) {
    std::unique_lock<s4u::Mutex> lock(*io_mu_);
    while (!connections_.empty()) {
      if (io_cv_->wait_until(lock, until) == std::cv_status::timeout) break;
    }
  }
  for (auto& c : conns) c->Abort("device shut down");
  for (auto& c : conns) c->Detach();
  connections_.clear();
  io_cv_->notify_all();  // waiters see the shutdown
}

void RegisterSimTransport() {
  RegisterDeviceFactory(TransportKind::kSim, [](const DeviceOptions& options) {
    return std::unique_ptr<Device>(std::make_unique<SimDevice>(options));
  });
}

}  // namespace gw::sim
