#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace gw {
namespace {
std::mutex g_mu;
std::string g_who = "gradwire";
std::function<std::string()> g_source;
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
constexpr const char* kLevelName[] = {"debug", "info", "warn", "error"};
}  // namespace

void SetLogIdentity(const std::string& who) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_who = who;
}

void SetLogSource(std::function<std::string()> source) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_source = std::move(source);
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void LogLine(LogLevel level, const std::string& line) {
  using Clock = std::chrono::system_clock;
  const double t = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  std::string out;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_source) {
      out = "[" + g_source() + "] " + kLevelName[static_cast<int>(level)] + ": ";
    } else {
      char head[96];
      std::snprintf(head, sizeof head, "[%.3f %s] %s: ", t, g_who.c_str(),
                    kLevelName[static_cast<int>(level)]);
      out = head;
    }
  }
  out += line;
  out += '\n';
  // One write per line: atomic for pipes up to PIPE_BUF, good enough for terminals.
  ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

}  // namespace gw
