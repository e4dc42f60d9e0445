// The one clock of ps/ and sched/: every read of time and every sleep goes through it, so the
// same server and worker code can run in real time (the default) or under a simulated clock
// (SimGrid actors: the simulator installs its clock with SetClock before any actor starts).
// Pure policy code in sched/ takes the time as an argument instead; its callers read it here.
#pragma once

#include <chrono>
#include <ratio>
#include <type_traits>

namespace gw {

// Time points stay std::chrono::steady_clock's type so every existing timestamp, deadline and
// duration keeps its meaning; a simulated clock counts from its own epoch in the same type.
using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;
static_assert(std::is_same_v<Duration::period, std::nano>, "durations are nanosecond counts");

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Returns at `t` or later (at once if t has passed).
  virtual void SleepUntil(TimePoint t) = 0;
  void SleepFor(Duration d) { SleepUntil(Now() + d); }
  // Seconds from t to now, the unit of every CSV column.
  double SecondsSince(TimePoint t) const {
    return std::chrono::duration<double>(Now() - t).count();
  }
};

// The process's clock: real (steady) time unless SetClock installed another one.
Clock& GetClock();
// Installs `clock` for the whole process (nullptr: back to real time). Not thread-safe against
// concurrent readers: call it before any thread that reads the clock starts.
void SetClock(Clock* clock);

}  // namespace gw
