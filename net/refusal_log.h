// Rate-limited logging of refused connections. A peer retrying with the wrong token, another
// job's workers on the same port, or a port scanner must not flood the server's log: the
// first refusal from a source (its IP) is logged, then at most one line per interval, saying
// how many were not logged since. Memory is bounded: past kMaxSources sources, the longest
// quiet one is forgotten. Thread-safe.
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
  static constexpr std::chrono::seconds kInterval{10};

  // A connection from source (an IP) refused or dropped, described by line: the line to log
  // (with the count of unlogged ones since the last), or "" when this one is only counted.
  std::string Note(const std::string& source, const std::string& line, Clock::time_point now);

 private:
  struct Source {
    Clock::time_point logged;  // when its last line was logged
    uint64_t quiet = 0;        // refusals since, not logged
  };
  std::mutex mu_;
  std::map<std::string, Source> sources_;
};

}  // namespace gw
