// A worker's session with the job's servers, shared by the plain and the coded run loop: the
// device, one connection per server, the join and the welcomes, and the dispatch of every
// completion. The session handles what means the same to both loops (a welcome, a refusal or
// an abort, a lost server, a failed write) and hands the rest (parameters landed, our writes
// done, grants, rounds closed, the final model) to the loop's SessionEvents, which owns the
// state those change.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "net/device.h"
#include "ps/imm.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/messages.h"
#include "ps/worker.h"

namespace gw {

// A server connection ended while the session recovers lost servers: the plain loop catches
// it and reconnects (ps/worker/reconnect.h).
struct ServerLost {
  uint32_t server = 0;
  std::string why;
};

// What a run loop does with the completions that carry training state.
class SessionEvents {
 public:
  virtual ~SessionEvents() = default;
  // Server `server` welcomed us: our writes for it go over `conn` into `slot`; it starts us
  // at `resume_iteration` (its parameters for it may follow in the same batch).
  virtual void OnWelcome(uint32_t server, const std::shared_ptr<Connection>& conn,
                         const RemoteRegion& slot, uint64_t resume_iteration) = 0;
  // A part landed in the region registered for `server`. False: not one the loop expects
  // (the session warns and drops it).
  virtual bool OnParamsLanded(uint32_t server, const Imm& imm) = 0;
  // Our write `wr_id` to `server` finished. False: a late one of a connection given up
  // while reconnecting (the session drops it).
  virtual bool OnWriteDone(uint32_t server, uint64_t wr_id) = 0;
  // A window grant from `server`, which arrived at `received` (its window counts from then,
  // even when the loop takes it later).
  virtual void OnGrant(uint32_t server, const WindowGrantMsg& grant, TimePoint received) = 0;
  // Coded jobs: the server closed `round`, or sent the final model.
  virtual void OnRoundClosed(uint64_t /*round*/) {}
  virtual void OnFinal() {}
};

class WorkerSession {
 public:
  // Creates the device. `layout` gives the shard sizes each welcome must match.
  // `recover_lost_servers`: a lost server is thrown as ServerLost (the loop reconnects)
  // instead of ending the worker with gw::Error.
  WorkerSession(const JobConfig& job, const WorkerOptions& options, const ModelLayout& layout,
                bool recover_lost_servers);

  void SetEvents(SessionEvents* events) { events_ = events; }
  bool recovers_lost_servers() const { return recover_lost_; }
  uint32_t num_servers() const { return job_.num_servers; }

  // Registers the source of our writes (read by the transport, written by no peer).
  void RegisterWriteSource(std::span<std::byte> memory);
  // Registers `memory` as server `server`'s destination: its writes to us land there.
  void RegisterServerRegion(uint32_t server, std::span<std::byte> memory);

  // Connects to every server, joins, and waits for every welcome.
  void Join();
  // The pieces of Join, for reconnecting: one server's connection (Device::Connect retries a
  // refused one for its connect timeout; throws gw::Error), the join on it, the welcomes.
  void Connect(uint32_t server);
  void SendJoin(uint32_t server);
  void WaitWelcomes(const std::string& what);

  // The iteration the servers start us at (each welcome's); throws gw::Error if they differ.
  uint64_t ResumeIteration() const;

  void Send(uint32_t server, MsgType type, const std::vector<uint8_t>& payload = {});
  void Shutdown() { dev_->Shutdown(); }

  // Handles completions until done() holds. Throws gw::Error after twice the job's timeout
  // (the server knows who is missing and reports it first; before the first parameters landed,
  // twice its start-up timeout: the others may still be loading), and ServerLost once a batch
  // of completions (it may hold other servers' closes too) saw a server lost.
  template <typename Pred>
  void WaitUntil(Pred done, const std::string& what) {
    const TimePoint begin = GetClock().Now();
    // The job starting during the wait restarts it with the shorter bound.
    WaitWithin(done, what, [&] {
      return Deadline{(started_ ? std::max(begin, started_at_) : begin) + 2 * WaitBound(),
                      2 * WaitBound(), !started_};
    });
  }
  // Waits up to `max_wait` for completions and handles those that came.
  void Poll(Duration max_wait);
  // Emulated compute that lets communication go on: handles completions (pushes post their
  // next writes, parameters land) until `end`. Throws ServerLost like WaitUntil.
  void ComputeUntil(TimePoint end);
  // The same for real compute between two of its events (a framework's hooks): handles the
  // completions that already came, without waiting.
  void HandleArrived();

  // Reconnecting (ps/worker/reconnect.h). Aborts every open server connection.
  void AbortAll(const std::string& why);
  bool AllClosed() const;
  // Waits up to `max_wait` for completions, noting closes and dropping everything else: no
  // completion of an old connection is taken for its successor's.
  void DropAllButCloses(Duration max_wait);
  // Forgets every connection (all closed) and the loss, before connecting again.
  void ForgetConnections();
  const Address& address(uint32_t server) const { return options_.servers[server]; }

  // How long one wait on the completion queue blocks at most: deadlines and faults are
  // checked at least this often.
  static constexpr std::chrono::milliseconds kPollInterval{100};

 private:
  struct ServerLink {
    std::shared_ptr<Connection> conn;
    Region* region = nullptr;  // our copy of its shard (or the coded input), written by it
    bool welcomed = false;
    bool closed = false;            // its connection's kPeerClosed was seen
    uint64_t resume_iteration = 0;  // from its welcome
  };

  void Handle(const Completion& c);
  void HandleControl(const Completion& c);
  struct Deadline {
    TimePoint at;
    std::chrono::milliseconds bound;  // what it allows, for the message
    bool starting;                    // a start-up wait (--join-timeout)
  };
  // Handles completions until done() holds or deadline() passed (then throws gw::Error).
  template <typename Pred, typename DeadlineFn>
  void WaitWithin(Pred done, const std::string& what, DeadlineFn deadline) {
    while (!done()) {
      if (const Deadline d = deadline(); GetClock().Now() > d.at) ThrowTimedOut(what, d);
      Poll(kPollInterval);
      if (lost_) throw *lost_;
    }
  }
  [[noreturn]] static void ThrowTimedOut(const std::string& what, const Deadline& d);
  std::chrono::milliseconds WaitBound() const {
    return started_ ? job_.timeout : job_.StartupTimeout();
  }
  // Why server refused us (its abort text `why`), with the flags that differ when it was our
  // job configuration.
  std::string Refusal(uint32_t server, const std::string& why) const;

  const JobConfig& job_;
  const WorkerOptions& options_;
  const ModelLayout& layout_;
  const bool recover_lost_;
  const PeerId self_;
  std::unique_ptr<Device> dev_;
  std::vector<ServerLink> links_;
  SessionEvents* events_ = nullptr;
  std::optional<ServerLost> lost_;  // seen by Handle, thrown by WaitUntil
  bool started_ = false;            // a server wrote to us: the job runs (a reconnect keeps it)
  TimePoint started_at_{};          // when started_ turned true
  std::vector<Completion> batch_;   // reused by Poll
};

}  // namespace gw
