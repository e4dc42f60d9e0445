// The time types of sched/: every policy takes the current time as an argument instead of
// reading a clock, so a test can drive it with a fake clock and replay a schedule exactly.
#pragma once

#include <chrono>
#include <ratio>
#include <type_traits>

namespace gw::sched {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
// Gaps and bounds are computed in nanosecond counts (Duration::count()).
static_assert(std::is_same_v<Duration::period, std::nano>);

}  // namespace gw::sched
