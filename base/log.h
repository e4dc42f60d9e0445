// One-line logging to stderr: "gradwire[role rank] LEVEL message". Thread-safe; one write(2)
// per line so lines of several processes sharing a terminal do not interleave.
#pragma once

#include <functional>
#include <sstream>
#include <string>

namespace gw {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogIdentity(const std::string& who);
// Says when and by whom each line was written, for a process that hosts many of the job's
// processes (gradwire sim: the simulated time and the actor): what it returns replaces the
// wall-clock time and SetLogIdentity's name. nullptr: those again.
void SetLogSource(std::function<std::string()> source);  // e.g. "server 0"
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const std::string& line);

}  // namespace gw

#define GW_LOG(level, expr)                                   \
  do {                                                        \
    if (::gw::LogEnabled(::gw::LogLevel::level)) {            \
      std::ostringstream gw_log_os_;                          \
      gw_log_os_ << expr;                                     \
      ::gw::LogLine(::gw::LogLevel::level, gw_log_os_.str()); \
    }                                                         \
  } while (0)
#define GW_INFO(expr) GW_LOG(kInfo, expr)
#define GW_WARN(expr) GW_LOG(kWarn, expr)
#define GW_ERROR(expr) GW_LOG(kError, expr)
#define GW_DEBUG(expr) GW_LOG(kDebug, expr)
