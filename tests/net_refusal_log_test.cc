#include <gtest/gtest.h>

#include <string>

#include "net/refusal_log.h"

namespace gw {
namespace {

using std::chrono::seconds;

TEST(RefusalLog, FirstRefusalPerSourceThenOneLinePerIntervalWithTheCount) {
  RefusalLog log;
  const auto t0 = RefusalLog::Clock::now();
  EXPECT_EQ(log.Note("10.0.0.1", "bad token", t0), "bad token");
  // A peer retrying every 100 ms for 9.9 s: counted, not logged.
  for (int i = 1; i < 100; ++i) {
    EXPECT_EQ(log.Note("10.0.0.1", "bad token", t0 + i * RefusalLog::kInterval / 100), "");
  }
  // Another source is logged at once.
  EXPECT_EQ(log.Note("10.0.0.2", "bad token", t0 + seconds(1)), "bad token");
  const std::string next = log.Note("10.0.0.1", "bad token", t0 + RefusalLog::kInterval);
  EXPECT_EQ(next, "bad token (99 more from it since its last line, not logged)");
  // Quiet again, then a line without a count once the interval passed with nothing between.
  EXPECT_EQ(log.Note("10.0.0.1", "x", t0 + 2 * RefusalLog::kInterval + seconds(1)), "x");
}

TEST(RefusalLog, RemembersAtMostMaxSourcesForgettingTheLongestQuiet) {
  using std::chrono::milliseconds;
  RefusalLog log;
  const auto t0 = RefusalLog::Clock::now();
  const size_t n = RefusalLog::kMaxSources;
  // s0 .. s(n-1), one per millisecond: full. Then s(n), which evicts s0 (the oldest line).
  for (size_t i = 0; i <= n; ++i) {
    EXPECT_FALSE(log.Note("s" + std::to_string(i), "l", t0 + milliseconds(i)).empty());
  }
  // s0 was forgotten: its next refusal is a first one again, logged at once (evicting s1).
  EXPECT_EQ(log.Note("s0", "l", t0 + seconds(2)), "l");
  // The newest are still remembered: inside their interval, counted only.
  EXPECT_EQ(log.Note("s" + std::to_string(n), "l", t0 + seconds(2)), "");
  EXPECT_EQ(log.Note("s2", "l", t0 + seconds(2)), "");
}

}  // namespace
}  // namespace gw
