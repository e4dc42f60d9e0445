// The window-policy registry (sched/window_registry.h): every registered policy parses by
// its name, prints back to a text that parses to the same spec, validates, runs a scheduler,
// and is listed when a name is unknown; kinds and names map one to one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "base/error.h"
#include "sched/window_registry.h"
#include "sched/window_scheduler.h"
#include "sched/window_spec.h"

namespace gw::sched {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr uint32_t kWorkers = 4;

// A valid text per policy for kWorkers workers; a policy added to the registry needs one here.
const std::map<std::string, std::string, std::less<>> kExamples = {
    {"burst", "burst"},
    {"round-robin", "round-robin:warmup=5"},
    {"slots", "slots:period=10,slot=2"},
    {"topology", "topology:racks=2"},
    {"global-priority", "global-priority:min-window=5"},
};

std::string ExampleOf(const WindowPolicyType& p) {
  const auto it = kExamples.find(p.name());
  if (it == kExamples.end()) {
    ADD_FAILURE() << "no example text for registered policy " << p.name();
    return "";
  }
  return it->second;
}

TEST(WindowRegistry, EveryRegisteredPolicyParsesAndRoundTrips) {
  ASSERT_FALSE(WindowPolicies().empty());
  for (const WindowPolicyType* p : WindowPolicies()) {
    SCOPED_TRACE(std::string(p->name()));
    const WindowSpec spec = WindowSpec::Parse(ExampleOf(*p));
    EXPECT_EQ(spec.kind, p->kind());
    EXPECT_EQ(WindowSpec::Parse(spec.ToString()), spec);
    EXPECT_EQ(WindowSpec::Parse(spec.ToString()).ToString(), spec.ToString());
    EXPECT_EQ(spec.ToString().substr(0, p->name().size()), p->name());
    EXPECT_NO_THROW(spec.Validate(kWorkers));
    EXPECT_EQ(WindowPolicyNamed(p->name()), p);
    EXPECT_EQ(&WindowPolicyOf(p->kind()), p);
  }
}

TEST(WindowRegistry, NamesAndKindsAreUnique) {
  std::set<std::string_view> names;
  std::set<WindowKind> kinds;
  for (const WindowPolicyType* p : WindowPolicies()) {
    EXPECT_TRUE(names.insert(p->name()).second) << p->name();
    EXPECT_TRUE(kinds.insert(p->kind()).second) << p->name();
  }
}

TEST(WindowRegistry, UnknownNameListsEveryRegisteredPolicy) {
  try {
    WindowSpec::Parse("no-such-policy");
    ADD_FAILURE() << "accepted an unknown policy";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown policy \"no-such-policy\""));
    for (const WindowPolicyType* p : WindowPolicies()) {
      EXPECT_THAT(e.what(), HasSubstr(std::string(p->forms())));
    }
  }
  EXPECT_EQ(WindowPolicyNamed("no-such-policy"), nullptr);
}

TEST(WindowRegistry, UnknownKeyIsRefusedByEveryPolicy) {
  for (const WindowPolicyType* p : WindowPolicies()) {
    SCOPED_TRACE(std::string(p->name()));
    const std::string text = ExampleOf(*p);
    const std::string with_extra = text + (text.find(':') == std::string::npos ? ":" : ",") + "x=1";
    try {
      WindowSpec::Parse(with_extra);
      ADD_FAILURE() << "accepted " << with_extra;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("unknown key x"));
    }
  }
}

// Every policy's scheduler grants a lone request, and a copy of it goes on the same way.
TEST(WindowRegistry, EveryPolicyGrantsALoneRequest) {
  for (const WindowPolicyType* p : WindowPolicies()) {
    SCOPED_TRACE(std::string(p->name()));
    WindowScheduler s(WindowSpec::Parse(ExampleOf(*p)), kWorkers);
    const TimePoint t0 = TimePoint{} + 1h;
    s.Request(1, t0);
    WindowScheduler copy = s;
    bool granted = false;
    TimePoint t = t0;
    for (int step = 0; step < 10 && !granted; ++step) {
      const std::vector<WindowScheduler::Grant> a = s.Poll(t);
      const std::vector<WindowScheduler::Grant> b = copy.Poll(t);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].worker, b[i].worker);
        EXPECT_EQ(a[i].deadline, b[i].deadline);
        granted = granted || a[i].worker == 1;
      }
      if (granted) break;
      const std::optional<TimePoint> next = s.NextEvent();
      ASSERT_TRUE(next.has_value());
      t = std::max(*next, t);
    }
    EXPECT_TRUE(granted);
    EXPECT_TRUE(s.holding(1));
  }
}

}  // namespace
}  // namespace gw::sched
