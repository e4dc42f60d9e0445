#include <gtest/gtest.h>

#include "base/error.h"
#include "ps/fault.h"

namespace gw {
namespace {

TEST(InjectedFaultParse, PointsAndIterations) {
  EXPECT_EQ(InjectedFault::Parse("never").point, InjectedFault::Point::kNever);
  const InjectedFault mid = InjectedFault::Parse("kill-mid-push:12");
  EXPECT_EQ(mid.point, InjectedFault::Point::kMidPush);
  EXPECT_EQ(mid.iteration, 12u);
  EXPECT_TRUE(mid.At(InjectedFault::Point::kMidPush, 12));
  EXPECT_FALSE(mid.At(InjectedFault::Point::kMidPush, 11));
  EXPECT_FALSE(mid.At(InjectedFault::Point::kAfterPush, 12));
  EXPECT_EQ(InjectedFault::Parse("kill-before-push:0").point, InjectedFault::Point::kBeforePush);
  EXPECT_EQ(InjectedFault::Parse("kill-after-push:7").iteration, 7u);
  EXPECT_EQ(InjectedFault::Parse("stop:3").point, InjectedFault::Point::kStop);
  EXPECT_EQ(InjectedFault::Parse("stop-mid-pull:4").point, InjectedFault::Point::kStopMidPull);
  EXPECT_EQ(InjectedFault::Parse("stop-mid-pull:4").iteration, 4u);
  EXPECT_EQ(InjectedFault::Parse("done-early:5").point, InjectedFault::Point::kDoneEarly);
  EXPECT_EQ(InjectedFault::Parse("done-early:5").iteration, 5u);
  EXPECT_EQ(InjectedFault::Parse("nan-gradient:6").point, InjectedFault::Point::kNanGradient);
}

TEST(InjectedFaultParse, BadTextSaysWhatIsAccepted) {
  for (const char* bad :
       {"", "kill-mid-push", "kill-mid-push:", "kill-mid-push:x", "kill-mid-push:1x", "during:3",
        "stop", "kill-after-push:-1", "kill-before-push:99999999999999999999999"}) {
    try {
      InjectedFault::Parse(bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("expected kill-before-push:I"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace gw
