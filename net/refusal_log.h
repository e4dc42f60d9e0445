// Rate-limited logging of refused connections. A peer retrying with the wrong token, another
// job's workers on the same port, or a port scanner must not flood the server's log: the
// first refusal of a kind from a source (its IP and the reason, e.g. "wrong token from
// worker 3") is logged, then at most one line per interval for it, saying how many were not
// logged since; and all sources together log at most kMaxLinesPerInterval lines per interval.
// Memory is bounded: past kMaxSources keys, the longest quiet one is forgotten. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace gw {

class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxSources = 1024;
  static constexpr size_t kMaxLinesPerInterval = 20;
  static constexpr std::chrono::seconds kInterval{10};

  // A connection from source (an IP) refused or dropped for reason (without the peer's
  // port, which changes every attempt): the line to log, or "" when it is only counted.
  std::string Note(const std::string& source, const std::string& reason, Clock::time_point now);

 private:
  struct Key {
    Clock::time_point logged;  // when its last line was logged
    uint64_t quiet = 0;        // refusals since, not logged
  };
  std::mutex mu_;
  std::map<std::string, Key> keys_;
  Clock::time_point budget_start_{};
  size_t budget_used_ = 0;
  uint64_t over_budget_ = 0;  // refusals not logged because of the global cap
};

}  // namespace gw
