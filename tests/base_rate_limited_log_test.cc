#include <gtest/gtest.h>

#include <string>

#include "base/rate_limited_log.h"

namespace gw {
namespace {

using std::chrono::seconds;

TEST(RateLimitedLog, FirstRefusalPerSourceAndReasonThenOneLinePerIntervalWithTheCount) {
  RateLimitedLog log("refusals");
  const auto t0 = GetClock().Now();
  EXPECT_EQ(log.Note("10.0.0.1", "wrong token", t0), "wrong token (10.0.0.1)");
  // A peer retrying every 100 ms for 9.9 s: counted, not logged.
  for (int i = 1; i < 100; ++i) {
    EXPECT_EQ(log.Note("10.0.0.1", "wrong token", t0 + i * RateLimitedLog::kInterval / 100), "");
  }
  // Another source, or another reason from the same source, is logged at once.
  EXPECT_EQ(log.Note("10.0.0.2", "wrong token", t0 + seconds(1)), "wrong token (10.0.0.2)");
  EXPECT_EQ(log.Note("10.0.0.1", "bad magic", t0 + seconds(1)), "bad magic (10.0.0.1)");
  EXPECT_EQ(log.Note("10.0.0.1", "wrong token", t0 + RateLimitedLog::kInterval),
            "wrong token (10.0.0.1); 99 more like it since its last line");
  // Quiet again, then a line without a count once an interval passed with nothing between.
  EXPECT_EQ(log.Note("10.0.0.1", "wrong token", t0 + 2 * RateLimitedLog::kInterval + seconds(1)),
            "wrong token (10.0.0.1)");
}

TEST(RateLimitedLog, AllSourcesTogetherLogAtMostTheCapPerInterval) {
  RateLimitedLog log("refusals");
  const auto t0 = GetClock().Now();
  // A scan from many addresses (or reasons varied on purpose): the cap, then silence.
  size_t logged = 0;
  for (size_t i = 0; i < 200; ++i) {
    logged += log.Note("10.1.0." + std::to_string(i), "bad magic", t0).empty() ? 0 : 1;
  }
  EXPECT_EQ(logged, RateLimitedLog::kMaxLinesPerInterval);
  // The next interval's first line says how many were dropped by the cap.
  const std::string next = log.Note("10.2.0.1", "bad magic", t0 + RateLimitedLog::kInterval);
  EXPECT_NE(next.find("; 180 other refusals not logged (too many)"), std::string::npos) << next;
}

TEST(RateLimitedLog, RemembersAtMostMaxSourcesForgettingTheLongestQuiet) {
  RateLimitedLog log("refusals");
  const auto t0 = GetClock().Now();
  const size_t n = RateLimitedLog::kMaxSources;
  // s0 .. s(n-1), one per interval (each under the global cap): full. Then s(n), which
  // evicts s0, the longest quiet.
  for (size_t i = 0; i <= n; ++i) {
    EXPECT_FALSE(
        log.Note("s" + std::to_string(i), "l", t0 + i * RateLimitedLog::kInterval).empty());
  }
  const auto later = t0 + n * RateLimitedLog::kInterval + seconds(1);
  // s0 was forgotten: its next refusal is a first one again, logged at once.
  EXPECT_EQ(log.Note("s0", "l", later), "l (s0)");
  // s(n) is remembered: inside its interval, counted only.
  EXPECT_EQ(log.Note("s" + std::to_string(n), "l", later), "");
}

// A job id or reason a peer sent with a newline and an escape code cannot forge a second log
// line or clear the screen.
TEST(RateLimitedLog, ControlCharactersAPeerSentAreEscaped) {
  RateLimitedLog log("lines");
  EXPECT_EQ(
      log.Note("10.0.0.1", "wrong job 'a\ngradwire[server 0] ERROR x\x1b[2J'", GetClock().Now()),
      "wrong job 'a\\x0agradwire[server 0] ERROR x\\x1b[2J' (10.0.0.1)");
  EXPECT_EQ(log.Note("bad\x7fsource", "r", GetClock().Now()), "r (bad\\x7fsource)");
}

}  // namespace
}  // namespace gw
