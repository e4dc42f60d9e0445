#include "ps/fault.h"

#include <gtest/gtest.h>

#include "net/error.h"

namespace gw {
namespace {

TEST(DieAtParse, PointsAndIterations) {
  EXPECT_EQ(DieAt::Parse("never").point, DieAt::Point::kNever);
  const DieAt mid = DieAt::Parse("mid-push:12");
  EXPECT_EQ(mid.point, DieAt::Point::kMidPush);
  EXPECT_EQ(mid.iteration, 12u);
  EXPECT_TRUE(mid.At(DieAt::Point::kMidPush, 12));
  EXPECT_FALSE(mid.At(DieAt::Point::kMidPush, 11));
  EXPECT_FALSE(mid.At(DieAt::Point::kAfterPush, 12));
  EXPECT_EQ(DieAt::Parse("before-push:0").point, DieAt::Point::kBeforePush);
  EXPECT_EQ(DieAt::Parse("after-push:7").iteration, 7u);
}

TEST(DieAtParse, BadTextSaysWhatIsAccepted) {
  for (const char* bad : {"", "mid-push", "mid-push:", "mid-push:x", "mid-push:1x", "during:3",
                          "after-push:-1", "before-push:99999999999999999999999"}) {
    try {
      DieAt::Parse(bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("expected before-push:I"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace gw
