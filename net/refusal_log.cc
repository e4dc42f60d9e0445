#include "net/refusal_log.h"

#include <algorithm>

namespace gw {

std::string RefusalLog::Note(const std::string& source, const std::string& line,
                             Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sources_.find(source);
  if (it == sources_.end()) {
    if (sources_.size() >= kMaxSources) {
      sources_.erase(std::min_element(sources_.begin(), sources_.end(), [](auto& a, auto& b) {
        return a.second.logged < b.second.logged;
      }));
    }
    sources_[source] = {now, 0};
    return line;
  }
  Source& s = it->second;
  if (now - s.logged < kInterval) {
    ++s.quiet;
    return "";
  }
  const uint64_t quiet = s.quiet;
  s = {now, 0};
  return line + (quiet > 0 ? " (" + std::to_string(quiet) +
                                 " more from it since its last line, not logged)"
                           : "");
}

}  // namespace gw
