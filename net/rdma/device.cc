#include "net/rdma/device.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/log.h"

namespace gw::rdma {

namespace {

using Clock = std::chrono::steady_clock;
// Busy polling looks at its file descriptors (wake-ups, completion events) and takes a new
// snapshot of the connections this often, not on every spin: each look is system calls.
constexpr auto kBusyFdInterval = std::chrono::milliseconds(1);

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

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
  if (options_.wait_runs_io.value_or(kWaitRunsIoByDefault)) cq_.SetDriver(this);
  cm_thread_ = std::thread([this] { CmLoop(); });
  poll_thread_ = std::thread([this] { PollLoop(); });
}

RdmaDevice::~RdmaDevice() { RdmaDevice::Shutdown(); }

ibv_pd* RdmaDevice::PdFor(PeerId peer) {
  // Caller holds mu_.
  auto& pd = pds_[KeyOf(peer)];
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

std::shared_ptr<Connection> RdmaDevice::Find(PeerId peer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_peer_.find(KeyOf(peer));
  return it == by_peer_.end() ? nullptr : it->second;
}

void RdmaDevice::OnFinished(RdmaConnection& conn, bool was_open, bool ok, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_peer_.find(KeyOf(conn.peer()));
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

void RdmaDevice::WakePoll() {
  InterruptPoll();
  cq_.WakeParkedIo();  // a parked poll thread would see the wake only when it next looks
}

void RdmaDevice::InterruptPoll() {
  const uint64_t one = 1;
  ssize_t ignored = write(poll_wake_fd_, &one, sizeof one);  // a full counter is a wake too
  (void)ignored;
}

void RdmaDevice::PollLoop() {
  poll_.last_check = Clock::now();
  while (!stop_) {
    PollRound(std::chrono::milliseconds(50));
    if (park_asked_.exchange(false)) cq_.ParkIo();
  }
}

void RdmaDevice::AskIoToPark() {
  park_asked_ = true;
  InterruptPoll();  // out of its poll(); the round's sweep this causes is cheap
}

bool RdmaDevice::RunIoOnce(std::chrono::steady_clock::time_point until) {
  if (stop_) return false;
  PollRound(std::clamp<std::chrono::nanoseconds>(
      until - Clock::now(), std::chrono::nanoseconds::zero(), std::chrono::milliseconds(50)));
  return !stop_;
}

void RdmaDevice::PollRound(std::chrono::nanoseconds wait) {
  pollfd fds[3] = {
      {comp_channel_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {poll_wake_fd_, POLLIN, 0}};
  const bool busy = options_.rdma_busy_poll;
  PollState& p = poll_;
  bool sweep = busy;  // busy polling drains every CQ on every spin
  p.fired.clear();
  if (!busy || Clock::now() - p.last_fds >= kBusyFdInterval) {
    // Event mode sleeps here until a CQ raises an event; busy mode only looks.
    const auto ns = busy ? std::chrono::nanoseconds::zero() : wait;
    const timespec ts{.tv_sec = static_cast<time_t>(ns.count() / 1'000'000'000),
                      .tv_nsec = static_cast<long>(ns.count() % 1'000'000'000)};
    const int ready = ppoll(fds, 3, &ts, nullptr);
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
        p.fired.push_back(static_cast<RdmaConnection*>(ev_ctx));  // the CQ's context
      }
    }
    p.last_fds = Clock::now();
    // Now and then every CQ anyway (and a fresh snapshot): nothing depends on it, it only
    // bounds the cost of a bug in the event bookkeeping.
    if (ready == 0 || p.last_fds - p.last_sweep > std::chrono::milliseconds(50)) sweep = true;
    if (sweep) {
      p.conns = Snapshot();
      p.last_sweep = p.last_fds;
    }
  }
  if (sweep) {
    for (auto& c : p.conns) c->Poll(/*arm=*/!busy);
  } else {
    // Only the CQs that raised an event need draining and re-arming: the others are still
    // armed, so they have had nothing since their last drain.
    for (RdmaConnection* f : p.fired) {
      auto same = [f](const auto& c) { return c.get() == f; };
      auto it = std::find_if(p.conns.begin(), p.conns.end(), same);
      if (it == p.conns.end()) {  // newer than the snapshot
        p.conns = Snapshot();
        it = std::find_if(p.conns.begin(), p.conns.end(), same);
      }
      if (it != p.conns.end()) (*it)->Poll(/*arm=*/true);
    }
  }
  if (Clock::now() - p.last_check > std::chrono::milliseconds(50)) {
    CheckHandshakeDeadlines();
    p.last_check = Clock::now();
  }
}

void RdmaDevice::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  cq_.SetDriver(nullptr);  // waits from now on sleep: the poll thread is about to end
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
