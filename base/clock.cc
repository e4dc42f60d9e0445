#include "base/clock.h"

#include <thread>

namespace gw {
namespace {

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void SleepUntil(TimePoint t) override { std::this_thread::sleep_until(t); }
};

RealClock real_clock;
Clock* current = &real_clock;

}  // namespace

Clock& GetClock() { return *current; }

void SetClock(Clock* clock) { current = clock != nullptr ? clock : &real_clock; }

}  // namespace gw
