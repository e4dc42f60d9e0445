#include "ps/fault.h"

#include <charconv>

#include "net/error.h"

namespace gw {

DieAt DieAt::Parse(const std::string& text) {
  const std::string expected =
      "'" + text + "': expected before-push:I, mid-push:I, after-push:I (I an iteration) or never";
  if (text == "never") return {};
  const size_t colon = text.find(':');
  if (colon == std::string::npos) throw Error(expected);
  const std::string point = text.substr(0, colon);
  DieAt d;
  if (point == "before-push") {
    d.point = Point::kBeforePush;
  } else if (point == "mid-push") {
    d.point = Point::kMidPush;
  } else if (point == "after-push") {
    d.point = Point::kAfterPush;
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
