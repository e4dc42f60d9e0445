#include "base/rate_limited_log.h"

#include <algorithm>
#include <cstdio>

#include "base/log.h"

namespace gw {
namespace {

std::string Printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
      continue;
    }
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02x", c);
    out += hex;
  }
  return out;
}

}  // namespace

std::string RateLimitedLog::Note(const std::string& source, const std::string& reason,
                                 TimePoint now) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = source + "\n" + reason;
  auto it = keys_.find(key);
  uint64_t quiet = 0;
  if (it == keys_.end()) {
    if (keys_.size() >= kMaxSources) {
      keys_.erase(std::min_element(keys_.begin(), keys_.end(), [](auto& a, auto& b) {
        return a.second.logged < b.second.logged;
      }));
    }
    it = keys_.emplace(key, Key{now, 0}).first;
  } else if (now - it->second.logged < kInterval) {
    ++it->second.quiet;
    return "";
  } else {
    quiet = it->second.quiet;
  }
  if (now - budget_start_ >= kInterval) {
    budget_start_ = now;
    budget_used_ = 0;
  }
  if (budget_used_ == kMaxLinesPerInterval) {
    ++over_budget_;
    it->second = {now, quiet + 1};  // counted with its own next line
    return "";
  }
  ++budget_used_;
  it->second = {now, 0};
  std::string line = Printable(reason) + " (" + Printable(source) + ")";
  if (quiet > 0) line += "; " + std::to_string(quiet) + " more like it since its last line";
  if (over_budget_ > 0) {
    line += "; " + std::to_string(over_budget_) + " other " + what_ + " not logged (too many)";
    over_budget_ = 0;
  }
  return line;
}

void WarnOfPeer(const std::string& source, const std::string& reason) {
  static RateLimitedLog log("lines about peers");
  const std::string line = log.Note(source, reason, GetClock().Now());
  if (!line.empty()) GW_WARN(line);
}

}  // namespace gw
