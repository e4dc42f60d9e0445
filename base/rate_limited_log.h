// Rate-limited logging of what peers can provoke: refused connections, writes or messages out
// of turn. A peer retrying with the wrong token, another job's workers on the same port, a port
// scanner or a misbehaving worker must not flood a log: the first line of a kind from a source
// (e.g. "wrong token" from an IP, "unknown control message" from worker 3) is logged, then at
// most one line per interval for it, saying how many were not logged since; and all sources
// together log at most kMaxLinesPerInterval lines per interval. Memory is bounded: past
// kMaxSources keys, the longest quiet one is forgotten. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "base/clock.h"

namespace gw {

class RateLimitedLog {
 public:
  static constexpr size_t kMaxSources = 1024;
  static constexpr size_t kMaxLinesPerInterval = 20;
  static constexpr std::chrono::seconds kInterval{10};

  // what: the plural the over-cap count speaks of ("refusals", "messages").
  explicit RateLimitedLog(std::string what) : what_(std::move(what)) {}

  // An event of `reason` from `source` (say, an IP without the port, which changes every
  // attempt): the line to log, or "" when it is only counted. Control characters a peer put
  // in either (a job id with a newline or an escape code) are written as \xNN: a peer cannot
  // forge a line or drive the terminal.
  std::string Note(const std::string& source, const std::string& reason, TimePoint now);

 private:
  struct Key {
    TimePoint logged;    // when its last line was logged
    uint64_t quiet = 0;  // events since, not logged
  };
  const std::string what_;
  std::mutex mu_;
  std::map<std::string, Key> keys_;
  TimePoint budget_start_{};
  size_t budget_used_ = 0;
  uint64_t over_budget_ = 0;  // events not logged because of the global cap
};

// Warns of what a peer did (source: "worker 3", "server 0", an IP) through one process-wide
// RateLimitedLog: the only way ps/ logs what a peer sent out of turn.
void WarnOfPeer(const std::string& source, const std::string& reason);

}  // namespace gw
