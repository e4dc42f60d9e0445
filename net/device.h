// The transport contract (docs/ARCHITECTURE.md): a Device owns registered regions, accepts
// and opens Connections, and reports everything through one CompletionQueue. Algorithms above
// net/ never know which backend runs them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/address.h"
#include "net/completion.h"
#include "net/peer.h"
#include "net/region.h"

namespace gw {

struct DeviceOptions {
  PeerId self;
  // The roles peers may claim, with their names for messages; a claim of any other is refused.
  PeerRoles roles;
  std::string job_id = "gradwire";
  std::string token;  // shared secret; a peer presenting another one is refused
  // Per-socket TCP congestion control ("" = system default). Experiments pin "cubic":
  // new network namespaces here inherit BBR.
  std::string congestion_control;
  std::chrono::milliseconds connect_timeout{10000};
  // A peer that has not finished its handshake within this long is dropped.
  std::chrono::milliseconds handshake_timeout{5000};
  // RDMA: the device to open by name (e.g. "rxe0"); "" = the device that holds the address
  // being listened on or connected to, else the only one present.
  std::string rdma_device;
  // RDMA: poll completion queues in a busy loop (lowest latency, one core) instead of
  // sleeping on the completion channel.
  bool rdma_busy_poll = false;
  // How long the application thread watches its completion queue before it sleeps
  // (net/completion.h): saves a thread wake-up per message a ping-pong waits for, at the cost
  // of a core while it watches. Zero: sleep at once.
  std::chrono::nanoseconds completion_spin{0};
  // An application thread waiting for completions runs the device's I/O itself while it waits
  // (net/completion.h, IoDriver): a message wakes the thread that takes it, not an I/O thread
  // that then wakes it; false: the I/O thread hands every completion over. Unset: what the
  // backend measured faster (its kWaitRunsIoByDefault). Set only to measure one against the
  // other (bench/tcp_latency_bench, bench/rdma_write_bench, tests).
  std::optional<bool> wait_runs_io;
  // Simulation only (gradwire sim --phantom-payloads): a write carries its size and no bytes,
  // so a thousand simulated workers need not hold the model's bytes; the bytes in the
  // destination stay as they were. A real backend refuses it (CreateDevice).
  bool phantom_payloads = false;
};

// A connection to one authenticated peer. Thread-safe: any thread may post on it.
class Connection {
 public:
  static constexpr size_t kMaxControlBytes = 64 * 1024;

  virtual ~Connection() = default;
  virtual PeerId peer() const = 0;
  // One-sided write of src into dst at offset, carrying imm. src must stay valid and unchanged
  // until the kWriteDone completion with this wr_id. Writes on one connection land in order.
  // dst comes from the peer's Region::Describe() on the same backend: a write past its length,
  // or to a descriptor whose handle is another backend's, fails alone (kWriteDone, not ok).
  virtual void Write(std::span<const std::byte> src, const RemoteRegion& dst, uint64_t offset,
                     uint32_t imm, uint64_t wr_id) = 0;
  // A small typed control message (copied; at most kMaxControlBytes).
  virtual void Send(uint16_t type, std::span<const uint8_t> payload) = 0;
  // The same, for a message that need not keep its place behind the writes and messages
  // posted before it (a window grant: it must not wait behind megabytes of parameters). A
  // backend that sends_ahead() sends it before every write or message it has not started; the
  // others send it in order, as Send.
  virtual void SendAhead(uint16_t type, std::span<const uint8_t> payload) { Send(type, payload); }
  virtual bool sends_ahead() const { return false; }
  virtual bool open() const = 0;
  // Orderly close: queued writes go out first, then the peer is told goodbye.
  virtual void Close() = 0;
  // Ends the connection now (pending writes fail), e.g. for a peer that stopped reading.
  virtual void Abort(const std::string& why) = 0;
};

class Device {
 public:
  virtual ~Device() = default;

  // Registers bytes of new memory (page-aligned, zeroed) that only `writer` may write into.
  virtual Region& RegisterRegion(size_t bytes, PeerId writer) = 0;
  // Registers memory the caller owns (it must outlive the device), e.g. one shard's range of
  // a contiguous parameter vector. Sources of writes should live in registered memory too:
  // RDMA needs their local key.
  virtual Region& RegisterMemory(std::span<std::byte> memory, PeerId writer) = 0;
  virtual Region* FindRegion(uint32_t id) = 0;

  // Starts accepting peers on addr (port 0 = any free port; see bound_port()).
  virtual void Listen(const Address& addr) = 0;
  virtual uint16_t bound_port() const = 0;
  // Connects to the device of `expected` listening at addr, retrying until connect_timeout
  // (the peer may still be starting). The peer's identity is checked in the handshake (and
  // RDMA needs it up front: the QP lives in that peer's protection domain). Throws gw::Error
  // when refused, unreachable or someone else answers.
  virtual std::shared_ptr<Connection> Connect(const Address& addr, PeerId expected) = 0;
  // The accepted or connected connection to a peer, or nullptr.
  virtual std::shared_ptr<Connection> Find(PeerId peer) = 0;

  virtual CompletionQueue& cq() = 0;
  virtual const DeviceOptions& options() const = 0;
  // Closes all connections and stops the I/O thread.
  virtual void Shutdown() = 0;
};

// Why a write of `bytes` at `offset` does not fit the peer's region `dst`, or "" when it does.
// Every backend refuses such a write where it is posted, so the caller hears of its own bug
// (the receiver checks the bound again anyway).
std::string WriteOutOfBounds(size_t bytes, const RemoteRegion& dst, uint64_t offset);

// Creates the backend for a transport kind. Throws gw::Error if it is not available here
// (e.g. rdma without a device, sim outside a simulation), saying what is missing and what to do.
std::unique_ptr<Device> CreateDevice(TransportKind kind, const DeviceOptions& options);

// A backend that lives outside gw_net makes its devices through a factory it registers before
// the first one is made. The simulated transport (net/sim) does: it needs SimGrid, whose
// libraries (ns-3's among them) cost every process that loads them ~40 ms to start, ~1.6 s
// under the soft-RoCE VM's emulation; only `gradwire-sim` and the sim_* tests link it. A
// registered factory replaces the kind's built-in one; nullptr unregisters it.
using DeviceFactory = std::unique_ptr<Device> (*)(const DeviceOptions& options);
void RegisterDeviceFactory(TransportKind kind, DeviceFactory factory);

}  // namespace gw
