// The time types of sched/: every policy takes the current time as an argument instead of
// reading a clock, so a test can drive it with a fake clock and replay a schedule exactly.
// Callers read the time from base/clock.h (real or simulated).
#pragma once

#include "base/clock.h"

namespace gw::sched {

using TimePoint = gw::TimePoint;
using Duration = gw::Duration;

}  // namespace gw::sched
