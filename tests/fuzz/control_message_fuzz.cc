// Control messages (ps/messages.h): the first two input bytes are the control type as it
// travels in the frame header's imm, the rest the payload; each is decoded as the server and
// worker do (Decode<T> by type, DecodeText for aborts). A grant's window then goes through
// the worker's conversion to a local deadline (sched::LocalDeadline).
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "ps/messages.h"
#include "sched/window_gate.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using gw::MsgType;

// Decode<T> accepts exactly sizeof(T) bytes that are well formed (a region descriptor's handle
// within its bound, its reserved and unused bytes zero) and keeps every one of them.
template <typename T>
std::optional<T> DecodeChecked(std::span<const uint8_t> payload) {
  const std::optional<T> msg = gw::Decode<T>(payload);
  if (payload.size() != sizeof(T)) {
    FUZZ_CHECK(!msg.has_value());
    return msg;
  }
  T raw;
  std::memcpy(&raw, payload.data(), sizeof raw);
  FUZZ_CHECK(msg.has_value() == gw::WellFormed(raw));
  if (msg) {
    const std::vector<uint8_t> again = gw::Encode(*msg);
    FUZZ_CHECK(std::equal(again.begin(), again.end(), payload.begin(), payload.end()));
  }
  return msg;
}

// A descriptor that decoded never shows a handle past its bound.
void CheckRegion(const gw::RemoteRegion& region) {
  FUZZ_CHECK(region.handle_size <= gw::RemoteRegion::kMaxHandleBytes);
  FUZZ_CHECK(region.handle_bytes().size() == region.handle_size);
}

void CheckGrant(const gw::WindowGrantMsg& grant) {
  // Arrival times across the steady clock's range, the extremes included.
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const int64_t at : {int64_t{0}, int64_t{1} << 50, kMax / 2, kMax - 1, kMax}) {
    const gw::sched::TimePoint arrival{gw::sched::Duration(at)};
    const gw::sched::TimePoint deadline = gw::sched::LocalDeadline(arrival, grant.window_ns);
    FUZZ_CHECK(deadline >= arrival);
    if (grant.window_ns < 0 || grant.window_ns > kMax - at) {
      FUZZ_CHECK(deadline == gw::sched::TimePoint::max());
    } else {
      FUZZ_CHECK((deadline - arrival).count() == grant.window_ns);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint16_t type = 0;
  std::memcpy(&type, data, sizeof type);
  const std::span<const uint8_t> payload(data + 2, size - 2);
  switch (static_cast<MsgType>(type)) {
    case MsgType::kJoin:
      if (const auto join = DecodeChecked<gw::JoinMsg>(payload)) CheckRegion(join->params);
      break;
    case MsgType::kWelcome:
      if (const auto welcome = DecodeChecked<gw::WelcomeMsg>(payload)) CheckRegion(welcome->slot);
      break;
    case MsgType::kClosed:
    case MsgType::kSkipped:
      DecodeChecked<gw::RoundMsg>(payload);
      break;
    case MsgType::kWindowRequest:
      DecodeChecked<gw::WindowRequestMsg>(payload);
      break;
    case MsgType::kWindowPosted:
      DecodeChecked<gw::WindowPostedMsg>(payload);
      break;
    case MsgType::kWindowGrant:
      if (const auto grant = DecodeChecked<gw::WindowGrantMsg>(payload)) CheckGrant(*grant);
      break;
    default: {  // kAbort's reason; kDone and kFinal carry nothing the receiver reads
      const std::string text = gw::DecodeText(payload);
      FUZZ_CHECK(text.size() == payload.size());
      const std::vector<uint8_t> again = gw::EncodeText(text);
      FUZZ_CHECK(std::equal(again.begin(), again.end(), payload.begin(), payload.end()));
      break;
    }
  }
  return 0;
}
