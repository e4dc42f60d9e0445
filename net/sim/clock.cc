#include "net/sim/clock.h"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace gw::sim {

TimePoint ToTimePoint(double sim_seconds) {
  return TimePoint(kEpoch +
                   std::chrono::round<Duration>(std::chrono::duration<double>(sim_seconds)));
}

double ToSimSeconds(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch() - kEpoch).count();
}

double ToSimDeadline(TimePoint t) { return ToSimSeconds(t) + 1e-9; }

TimePoint SimClock::Now() const { return ToTimePoint(simgrid::s4u::Engine::get_clock()); }

void SimClock::SleepUntil(TimePoint t) { simgrid::s4u::this_actor::sleep_until(ToSimDeadline(t)); }

}  // namespace gw::sim
