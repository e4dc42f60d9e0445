// RDMA backend, control path: the device (chosen by name, else the only one), protection
// domains (one per writing peer), registered regions, rdma_cm connection set-up with every CM
// event handled, the handshake over the new QP (job id, token, role, rank, as over TCP), and
// the two threads: CM events, and completion polling (event channel or busy poll). rdma_cm
// set-up, the CM thread and the handshake are in device_cm.cc; the rest in device.cc.
#pragma once

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/rate_limited_log.h"
#include "net/device.h"
#include "net/rdma/connection.h"
#include "net/rdma/verbs.h"

namespace gw::rdma {

class RdmaDevice final : public Device, private IoDriver {
 public:
  // The poll thread hands completions over: measured faster here, unlike TCP (rdma_write_bench
  // in the soft-RoCE VM, results/rdma: a 4 KiB write's round trip 2.7x ib_write_lat so against
  // 5.1x with waiting threads running the poll loop, 1.9x against 2.3x at 16 KiB).
  static constexpr bool kWaitRunsIoByDefault = false;

  explicit RdmaDevice(const DeviceOptions& options);
  ~RdmaDevice() override;

  Region& RegisterRegion(size_t bytes, PeerId writer) override;
  Region& RegisterMemory(std::span<std::byte> memory, PeerId writer) override;
  Region* FindRegion(uint32_t id) override;
  void Listen(const Address& addr) override;
  uint16_t bound_port() const override { return port_; }
  std::shared_ptr<Connection> Connect(const Address& addr, PeerId expected) override;
  std::shared_ptr<Connection> Find(PeerId peer) override;
  CompletionQueue& cq() override { return cq_; }
  const DeviceOptions& options() const override { return options_; }
  void Shutdown() override;

  // Used by connections.
  MemlockBudget& budget() { return budget_; }
  // The lkey of registered memory [p, p+n) in pd; throws gw::Error if none holds it.
  uint32_t LkeyFor(const void* p, size_t n, ibv_pd* pd);
  void OnHandshakeFrame(RdmaConnection& conn, FrameType type, std::span<const uint8_t> payload);
  void OnFinished(RdmaConnection& conn, bool was_open, bool ok, const std::string& why);
  // Any thread: the poll thread sweeps every connection once more (one needs attention).
  void WakePoll();

 private:
  // WakePoll's write to the poll's eventfd alone: AskIoToPark runs under the completion
  // queue's lock, which WakeParkedIo takes.
  void InterruptPoll();
  // Maps keyed by peer (protection domains, connections).
  static std::pair<int, uint32_t> KeyOf(PeerId p) { return {static_cast<int>(p.role), p.rank}; }
  struct Attempt {  // one outgoing connect
    PeerId expected;
    std::promise<std::string> done;        // "" = connected; else why not
    bool refused = false;                  // by the peer's handshake: retrying will not help
    std::shared_ptr<RdmaConnection> conn;  // set under mu_; owns the id from then on
  };

  ibv_pd* PdFor(PeerId peer);
  void CmLoop();
  void HandleCmEvent(rdma_cm_event_type type, rdma_cm_id* id, int status,
                     const std::vector<uint8_t>& private_data);
  void OnConnectRequest(rdma_cm_id* id, const std::vector<uint8_t>& private_data);
  // Ends the outgoing connect on id ("" = connected) once; with only, just that attempt.
  void SettleAttempt(rdma_cm_id* id, const std::string& why, bool refused,
                     const Attempt* only = nullptr);
  void PollLoop();
  // One round of the poll loop: waits for a completion event (event mode) up to `wait`, drains
  // the CQs that need it, checks handshake deadlines now and then. On the poll thread, or on a
  // waiter on cq_ while the poll thread is parked: whichever runs it owns poll_.
  void PollRound(std::chrono::nanoseconds wait);
  // IoDriver: the poll thread parks between rounds when asked (woken through poll_wake_fd_).
  void AskIoToPark() override;
  bool RunIoOnce(std::chrono::steady_clock::time_point until) override;
  void CheckHandshakeDeadlines();
  std::vector<std::shared_ptr<RdmaConnection>> Snapshot();
  void CheckDeviceOf(rdma_cm_id* id, const std::string& what);
  // A refused or dropped incoming connection, logged rate-limited per source IP.
  void LogRefusal(rdma_cm_id* id, const std::string& line);

  DeviceOptions options_;
  CompletionQueue cq_;
  MemlockBudget budget_;
  RateLimitedLog refusals_{"refusals"};
  ibv_context* ctx_ = nullptr;  // owned by librdmacm's device list
  ibv_context** devices_ = nullptr;
  rdma_event_channel* cm_channel_ = nullptr;
  ibv_comp_channel* comp_channel_ = nullptr;
  int wake_fd_ = -1;       // shutdown: wakes both threads for good
  int poll_wake_fd_ = -1;  // wakes the poll thread once (a connection needs attention)
  rdma_cm_id* listener_ = nullptr;
  uint16_t port_ = 0;

  std::mutex mu_;
  std::map<std::pair<int, uint32_t>, ibv_pd*> pds_;
  std::vector<std::unique_ptr<RdmaRegion>> regions_;              // id = index
  std::map<rdma_cm_id*, std::shared_ptr<RdmaConnection>> by_id_;  // every live connection
  std::map<std::pair<int, uint32_t>, std::shared_ptr<RdmaConnection>> by_peer_;  // open ones
  std::map<rdma_cm_id*, std::shared_ptr<Attempt>> attempts_;
  bool shut_down_ = false;

  // The poll loop's state between rounds (see PollRound).
  struct PollState {
    std::chrono::steady_clock::time_point last_check{}, last_fds{}, last_sweep{};
    std::vector<std::shared_ptr<RdmaConnection>> conns;  // every connection (a snapshot)
    std::vector<RdmaConnection*> fired;                  // event mode: CQs that raised an event
  };
  PollState poll_;
  std::atomic<bool> park_asked_{false};  // a waiter asked the poll thread to park

  std::atomic<bool> stop_{false};
  std::thread cm_thread_;
  std::thread poll_thread_;
};

}  // namespace gw::rdma
