// Recovery from a server lost mid-run (WorkerOptions::reconnect_timeout; plain sync rules
// without windows): the worker drops every server connection (the job resumes on all servers
// from their checkpoints), connects and joins again, and the plain loop resumes at the
// iteration the servers resumed from.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "base/clock.h"
#include "ps/worker/session.h"

namespace gw {

class Reconnector {
 public:
  Reconnector(WorkerSession& session, std::chrono::milliseconds timeout)
      : session_(session), timeout_(timeout) {}

  // Aborts every server connection, waits until each is closed, then connects and joins
  // again, retrying with backoff until the reconnect deadline (counted from the first loss
  // since parameters last arrived). Throws gw::Error once the deadline passes. `it` is the
  // iteration the worker was in (for the log).
  void Reconnect(const ServerLost& lost, uint64_t it);
  // Parameters arrived: the next loss gets the whole timeout again.
  void OnParamsArrived() { deadline_.reset(); }
  // Whether the worker ever reconnected (its resume is then logged as one).
  bool reconnected() const { return reconnected_; }

 private:
  // Backoff between attempts to connect to one server: doubling from the first to the last.
  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{2000};

  void ConnectWithBackoff(uint32_t server, TimePoint deadline, TimePoint start,
                          const std::string& bound);

  WorkerSession& session_;
  const std::chrono::milliseconds timeout_;
  std::optional<TimePoint> deadline_;
  bool reconnected_ = false;
};

}  // namespace gw
