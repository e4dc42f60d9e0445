// Simulated backend, hot path: posting writes and control messages, the wire actor that
// carries each frame over the simulated links (one frame at a time per connection, in order,
// as one TCP stream would), and the landing of a frame in the receiving device after the
// same checks the TCP backend's receive loop makes.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <simgrid/s4u/ConditionVariable.hpp>
#include <simgrid/s4u/Mutex.hpp>
#include <span>
#include <string>
#include <vector>

#include "net/device.h"

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

  // Send and SendAhead: a copy of the message, queued in order or ahead.
  void PostControl(uint16_t type, std::span<const uint8_t> payload, bool ahead);
  void Enqueue(Frame f, bool ahead);
  void FailWrite(uint64_t wr_id, const std::string& why);
  // The wire actor: frames go out one at a time, each taking its simulated transfer time.
  void WireLoop();
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
  std::deque<Frame> send_q_;
  std::deque<Frame> ahead_q_;
  bool open_ = true;
  bool bye_queued_ = false;
  bool finished_ = false;
  simgrid::s4u::MutexPtr mu_;  // with cv_: the wire actor sleeps until a frame is queued
  simgrid::s4u::ConditionVariablePtr cv_;
};

}  // namespace gw::sim
