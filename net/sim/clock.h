// The simulated clock (base/clock.h's Clock under SimGrid): now is the simulation's date, and
// sleeping is a simulated sleep of the calling actor. `gradwire sim` installs it with
// SetClock before any actor starts, so every read of time in ps/ and sched/ is simulated.
#pragma once

#include "base/clock.h"

namespace gw::sim {

// The simulation's date as a TimePoint and back. Date 0 is kEpoch, not TimePoint{}: code
// above uses a default TimePoint as "not set yet", which the simulation's first instant
// must not look like.
static constexpr Duration kEpoch = std::chrono::seconds(1);
TimePoint ToTimePoint(double sim_seconds);
double ToSimSeconds(TimePoint t);
// The date from which Now() >= t holds: t's seconds plus a nanosecond, since a double's
// rounding could leave Now() a nanosecond short of t, and a waiter that woke at its deadline
// and found it not yet passed would wait again for no time at all, for ever.
double ToSimDeadline(TimePoint t);

class SimClock final : public Clock {
 public:
  TimePoint Now() const override;
  // The calling actor sleeps in simulated time (it must be an actor, not the maestro).
  void SleepUntil(TimePoint t) override;
};

}  // namespace gw::sim
