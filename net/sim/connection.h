// Simulated backend, hot path: posting writes and control messages, the wire actor that
// carries the frames over the simulated links (in order, as one TCP stream would: the frames
// queued back to back go as one transfer, each landing once its own bytes are through), and
// the landing of a frame in the receiving device after the same checks the TCP backend's
// receive loop makes.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/ConditionVariable.hpp>
#include <simgrid/s4u/Mutex.hpp>
#include <span>
#include <string>
#include <vector>

#include "net/device.h"
#include "net/receive_budget.h"

namespace gw::sim {

class SimDevice;

class SimConnection : public Connection, public std::enable_shared_from_this<SimConnection> {
 public:
  SimConnection(SimDevice& device, PeerId peer);
  ~SimConnection() override;

  // Joins two ends made for one handshake and starts each end's wire actor.
  static void Pair(const std::shared_ptr<SimConnection>& a,
                   const std::shared_ptr<SimConnection>& b);

  PeerId peer() const override { return peer_; }
  void Write(std::span<const std::byte> src, const RemoteRegion& dst, uint64_t offset, uint32_t imm,
             uint64_t wr_id) override;
  void Send(uint16_t type, std::span<const uint8_t> payload) override;
  // Ahead of every frame not yet on the wire (the one on the wire finishes first).
  void SendAhead(uint16_t type, std::span<const uint8_t> payload) override;
  bool sends_ahead() const override { return true; }
  bool open() const override { return open_; }
  void Close() override;
  void Abort(const std::string& why) override;
  // The device is going away: nothing is reported to it any more.
  void Detach() { device_ = nullptr; }

 private:
  enum class FrameKind : uint8_t { kWrite, kControl, kBye };
  struct Frame {
    FrameKind kind = FrameKind::kControl;
    std::span<const std::byte> src;  // kWrite: the caller's bytes, valid until kWriteDone
    std::vector<uint8_t> payload;    // kControl: a copy
    uint32_t region = 0;
    uint64_t offset = 0;
    uint32_t imm = 0;  // kWrite: imm; kControl: the message type
    uint64_t wr_id = 0;
    uint64_t length = 0;  // kWrite: bytes written
  };

  // How close (bytes) a frame's landing estimate must come: SimGrid's remaining amounts are
  // doubles.
  static constexpr double kLandingSlackBytes = 0.5;
  // A landing is estimated from the pace measured over the last wait, and a pace can rise
  // during a wait (a flow sharing the link ends), which makes the frame land late. So a
  // wait covers half the time estimated to go while that is beyond kLandingToleranceS, at
  // most kMaxHalvings times per frame: a frame lands at most about 1/8 of its wire time (or
  // 20 us) late, and only if the pace rose during its last wait; the run's last frame lands
  // exactly. Each wait is a timer, far cheaper in SimGrid than a transfer, yet at 1,024
  // workers a frame takes ~0.2 s and halving down to 20 us would cost ~13 timers each:
  // measured (1,024 ResNet-50 workers on a fat-tree), 3 halvings cost 1.3x the CPU of none
  // and move the simulated time by 0.03 % where none move it by 0.4 % (uncapped: 1.6x).
  // 20 us is 25 KB at 10 Gbit/s, below a switch's latency.
  static constexpr double kLandingToleranceS = 20e-6;
  static constexpr int kMaxHalvings = 3;
  // Shortest wait while estimating a landing: no busy loop at one simulated instant.
  static constexpr double kMinWaitS = 1e-9;

  // Send and SendAhead: a copy of the message, queued in order or ahead.
  void PostControl(uint16_t type, std::span<const uint8_t> payload, bool ahead);
  void Enqueue(Frame f, bool ahead);
  void FailWrite(uint64_t wr_id, const std::string& why);
  static uint64_t WireBytes(const Frame& f);
  // The wire actor: each run of frames (TakeRun) goes as one transfer; a frame lands once its
  // bytes are through, and a message sent ahead meanwhile goes right after the frame on the
  // wire (the rest of the run waits behind it).
  void WireLoop();
  // The frames queued back to back in one queue (ahead_q_ first), up to a bye (which goes
  // alone); *ahead says which queue. One transfer per run rather than per frame: SimGrid
  // re-solves every flow sharing a link with each one that starts or ends, and a worker's
  // queued partitions were most of a large simulation's transfers.
  std::vector<Frame> TakeRun(bool* ahead);
  // Puts frames not yet landed back at the front of their queue, in order.
  void Requeue(std::vector<Frame> frames, size_t from, bool ahead);
  // When a run's bytes left were last read (at < 0: not yet).
  struct PaceSample {
    double at;
    double left;
    int halvings;  // this frame's so far
  };
  // Sleeps (simulated) until `comm` of `total` bytes has at most `left` bytes to go or ended;
  // *last carries the pace from one frame of the run to the next.
  void WaitUntilLeft(simgrid::s4u::Comm& comm, double total, double left, PaceSample* last) const;
  // The other end's wire actor delivered f here: lands it, or says why it is refused (then
  // the sender ends both ends: its own first, so that when the application here hears of the
  // refusal the misbehaving end is closed already).
  bool Arrive(const Frame& f, std::string* refused);
  // Ends this end: queued writes fail, the application hears kPeerClosed once.
  void Finish(bool ok, const std::string& why);
  void Report(Completion c);

  SimDevice* device_;  // nullptr once the device went away
  const PeerId peer_;
  std::weak_ptr<SimConnection> remote_;  // the other end (in the peer's device)
  // What the application here holds of the peer's control messages (net/receive_budget.h):
  // past its bound the peer's wire actor stops carrying frames, as a TCP sender blocks on a
  // receiver that stopped reading, until the application let go of half.
  std::shared_ptr<ReceiveBudget> budget_;
  // The route to the other end: its latency and its slowest link (no transfer is faster), the
  // floor of each landing estimate (set by Pair).
  double route_latency_s_ = 0;
  double route_bytes_per_s_ = 0;
  std::deque<Frame> send_q_;
  std::deque<Frame> ahead_q_;
  bool open_ = true;
  bool bye_queued_ = false;
  bool finished_ = false;
  simgrid::s4u::MutexPtr mu_;  // with cv_: the wire actor sleeps until a frame is queued
  simgrid::s4u::ConditionVariablePtr cv_;
};

}  // namespace gw::sim
