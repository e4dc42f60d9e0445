#include "ps/fault.h"

#include <charconv>

#include "base/error.h"

namespace gw {

InjectedFault InjectedFault::Parse(const std::string& text) {
  const std::string expected =
      "'" + text +
      "': expected kill-before-push:I, kill-mid-push:I, kill-after-push:I, stop:I, "
      "stop-mid-pull:I, done-early:I, nan-gradient:I (I an iteration) or never";
  if (text == "never") return {};
  const size_t colon = text.find(':');
  if (colon == std::string::npos) throw Error(expected);
  const std::string point = text.substr(0, colon);
  InjectedFault d;
  if (point == "kill-before-push") {
    d.point = Point::kBeforePush;
  } else if (point == "kill-mid-push") {
    d.point = Point::kMidPush;
  } else if (point == "kill-after-push") {
    d.point = Point::kAfterPush;
  } else if (point == "stop") {
    d.point = Point::kStop;
  } else if (point == "stop-mid-pull") {
    d.point = Point::kStopMidPull;
  } else if (point == "done-early") {
    d.point = Point::kDoneEarly;
  } else if (point == "nan-gradient") {
    d.point = Point::kNanGradient;
  } else {
    throw Error(expected);
  }
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, d.iteration);
  if (ec != std::errc() || end != last || first == last) throw Error(expected);
  return d;
}

}  // namespace gw
