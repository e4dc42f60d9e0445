// Simulated backend, control path: registered regions, listening and connecting on hosts of a
// SimGrid platform, the handshake's checks (the same CheckHello as the real backends), and the
// wait that stands in for an I/O thread. Devices are made and used by SimGrid actors: every
// wait is a simulated one, so no real time passes while the network is busy.
//
// There is no I/O thread: a connection's wire actor (connection.h) carries its frames over the
// simulated links and lands them in the receiving device, which queues the completion and
// wakes whichever actor waits in RunIoOnce. All actors run on one OS thread, one at a time, so
// the state here needs no lock; what it must never do is hold a std::mutex across a
// simulated wait (another actor taking it would block the only thread).
#pragma once

#include <map>
#include <memory>
#include <simgrid/s4u/ConditionVariable.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <simgrid/s4u/Mutex.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/rate_limited_log.h"
#include "base/zero_pages.h"
#include "net/device.h"

namespace gw::sim {

class SimConnection;

class SimRegion : public Region {
 public:
  // A sim descriptor's handle: its tag tells another backend's descriptor apart.
  static constexpr std::array<uint8_t, 4> kHandle{'s', 'i', 'm', '1'};

  // Owns its memory: zero pages, which cost nothing until written (a simulation of a
  // thousand workers registers a slot per worker; phantom payloads never touch them).
  SimRegion(uint32_t id, size_t bytes, PeerId writer);
  SimRegion(uint32_t id, std::span<std::byte> memory, PeerId writer);  // caller's memory

  uint32_t id() const override { return id_; }
  std::span<std::byte> bytes() override { return {data_, size_}; }
  PeerId writer() const override { return writer_; }
  RemoteRegion Describe() const override;

 private:
  uint32_t id_;
  ZeroPages owned_;  // empty for the caller's memory
  std::byte* data_;
  size_t size_;
  PeerId writer_;
};

class SimDevice final : public Device, private IoDriver {
 public:
  // The only way a simulated device waits: in RunIoOnce, on the simulated clock.
  static constexpr bool kWaitRunsIoByDefault = true;
  // A connect to an address nobody listens on yet is tried again this often (simulated).
  static constexpr std::chrono::milliseconds kConnectRetry{10};
  // A closing device lets its connections send what they hold for this long (simulated),
  // as the TCP backend does, then aborts the rest.
  static constexpr std::chrono::milliseconds kCloseGrace{1000};

  // Must be called by an actor: the device lives on that actor's host. Throws gw::Error
  // outside a running simulation.
  explicit SimDevice(const DeviceOptions& options);
  ~SimDevice() override;

  Region& RegisterRegion(size_t bytes, PeerId writer) override;
  Region& RegisterMemory(std::span<std::byte> memory, PeerId writer) override;
  Region* FindRegion(uint32_t id) override;
  // addr's host must be this device's own host (a device listens where it runs).
  void Listen(const Address& addr) override;
  uint16_t bound_port() const override { return bound_port_; }
  std::shared_ptr<Connection> Connect(const Address& addr, PeerId expected) override;
  std::shared_ptr<Connection> Find(PeerId peer) override;
  CompletionQueue& cq() override { return cq_; }
  const DeviceOptions& options() const override { return options_; }
  void Shutdown() override;

  // Used by connections.
  simgrid::s4u::Host* host() const { return host_; }
  // Where a peer's frames to this device travel: a mailbox whose permanent receiver (an actor
  // on this host that only drains it) starts every transfer the moment it is posted, so
  // frames from many peers share the links as the flow model shares them.
  simgrid::s4u::Mailbox* inbox() const { return inbox_; }
  // Queues a completion and wakes an actor waiting for one.
  void Complete(Completion c);
  void OnConnectionClosed(SimConnection* connection);

 private:
  // The acceptor's half of a handshake, run by the connecting actor: why the claim is
  // refused, or "" with our end of the new connection made.
  std::string Admit(SimDevice& from, std::shared_ptr<SimConnection>* ours);
  // Adds a connection whose handshake passed (ending an older one of the same peer) and
  // tells the application.
  void Register(const std::shared_ptr<SimConnection>& conn);

  bool RunIoOnce(TimePoint until) override;
  bool has_io_thread() const override { return false; }
  void AskIoToPark() override {}  // no I/O thread to park

  DeviceOptions options_;
  CompletionQueue cq_;
  simgrid::s4u::Host* host_;
  simgrid::s4u::Mailbox* inbox_;
  simgrid::s4u::MutexPtr io_mu_;  // with io_cv_: a waiter sleeps until Complete wakes it
  simgrid::s4u::ConditionVariablePtr io_cv_;
  int waiters_ = 0;                      // actors waiting in RunIoOnce for a completion
  RateLimitedLog refusals_{"refusals"};  // peers refused in the handshake
  std::string listening_;  // "host:port" in the listeners' table, "" when not listening
  uint16_t bound_port_ = 0;
  std::vector<std::unique_ptr<SimRegion>> regions_;  // id = index
  std::map<std::pair<int, uint32_t>, std::shared_ptr<SimConnection>> connections_;
  bool shut_down_ = false;
};

// Makes CreateDevice(TransportKind::kSim) a SimDevice in this process (RegisterDeviceFactory).
// Idempotent; `gradwire sim` and the sim tests call it before their actors start.
void RegisterSimTransport();

}  // namespace gw::sim
