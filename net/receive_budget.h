// How much of what a peer sent the application still holds, per connection, so that a peer
// sending faster than the application takes its messages cannot grow this process without
// bound: past kMaxHeldBytes the transport stops reading that connection (TCP leaves the bytes
// in the kernel and the peer's sends block; RDMA leaves its receives unposted and the peer's
// NIC retries on "receiver not ready", after the receives posted before the pause have filled)
// until the application has let go of half of them.
//
// The I/O thread charges every control payload it hands over; the charge travels with the
// completion as a ReceiveCredit and is given back when the application destroys it, from
// whichever thread that is. Writes land in registered regions and hold nothing: not charged.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

namespace gw {

class ReceiveBudget;

// A charge on a connection's budget, given back when destroyed. Move-only: a copy would give
// the bytes back twice.
class ReceiveCredit {
 public:
  ReceiveCredit() = default;
  ReceiveCredit(ReceiveCredit&& other) noexcept;
  ReceiveCredit& operator=(ReceiveCredit&& other) noexcept;
  ReceiveCredit(const ReceiveCredit&) = delete;
  ReceiveCredit& operator=(const ReceiveCredit&) = delete;
  ~ReceiveCredit();

  size_t bytes() const { return bytes_; }

 private:
  friend class ReceiveBudget;
  ReceiveCredit(std::shared_ptr<ReceiveBudget> budget, size_t bytes)
      : budget_(std::move(budget)), bytes_(bytes) {}
  void Release();

  std::shared_ptr<ReceiveBudget> budget_;
  size_t bytes_ = 0;
};

class ReceiveBudget : public std::enable_shared_from_this<ReceiveBudget> {
 public:
  // Well above what an honest peer has outstanding (a few control messages, each at most
  // Connection::kMaxControlBytes = 64 KiB) and above the server's own per-worker bound on
  // messages it has taken but not handled (Inbound::kMaxBytesPerWorker, 4 MiB), so that bound
  // still names and drops a flooding worker; small enough that a few hundred connections
  // flooding at once stay within a few GiB.
  static constexpr size_t kMaxHeldBytes = size_t{8} << 20;
  // Reading resumes once the held bytes fall to this: half, so a connection at the bound is
  // not paused and resumed on every message.
  static constexpr size_t kResumeBytes = kMaxHeldBytes / 2;
  static_assert(kResumeBytes < kMaxHeldBytes);

  // on_resume: called once after each pause, when the held bytes fall to kResumeBytes, from
  // the thread that gave them back; it must only schedule the transport's reading (post to
  // its I/O thread, wake its poll thread), never read itself.
  static std::shared_ptr<ReceiveBudget> Create(std::function<void()> on_resume);

  // I/O thread: charges bytes handed to the application.
  ReceiveCredit Charge(size_t bytes);
  // I/O thread, before it reads the connection's next message: true if it must stop reading
  // until on_resume is called (the held bytes are above kMaxHeldBytes).
  bool PauseIfOver();
  // The connection ended: on_resume is never called again (its target may be gone).
  void Detach();

  size_t held() const { return held_.load(); }
  bool paused() const { return paused_.load(); }

 private:
  explicit ReceiveBudget(std::function<void()> on_resume) : on_resume_(std::move(on_resume)) {}
  friend class ReceiveCredit;
  void Release(size_t bytes);
  void Resume();

  std::atomic<size_t> held_{0};
  std::atomic<bool> paused_{false};
  std::mutex mu_;                    // guards on_resume_ against Detach
  std::function<void()> on_resume_;  // empty once detached
};

}  // namespace gw
