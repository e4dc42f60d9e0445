// Configuration texts given on the command line or by launchers: write-window specs (sched/),
// coding schemes and straggler models (coding/), sync rules and learning-rate schedules
// (ps/), transport addresses (net/address.h), the key=value splitter they share
// (net/spec_text.h) and byte sizes (ParseBytes). The first input byte picks the parser and a
// worker count, the rest is the text. Every parser refuses with a gw::Error (UsageError for
// sizes) that says why; what it accepts prints back (ToString) to a text it reads as the same.
#include <cstring>
#include <stdexcept>
#include <string>

#include "apps/gradwire/flags.h"
#include "base/error.h"
#include "base/spec_text.h"
#include "coding/scheme.h"
#include "coding/straggler.h"
#include "net/address.h"
#include "ps/optimizer.h"
#include "ps/sync_rule.h"
#include "sched/window_spec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// Reads back a text the parser itself printed: refusing it is a bug, not a refusal.
template <typename F>
auto Reparse(F parse) {
  try {
    return parse();
  } catch (const gw::Error& e) {
    std::fprintf(stderr, "printed text refused: %s\n", e.what());
    FUZZ_CHECK(!"a parser refuses its own ToString");
    __builtin_unreachable();
  }
}

void WindowSpecText(const std::string& text, uint32_t n) {
  const auto s = gw::sched::WindowSpec::Parse(text);
  FUZZ_CHECK(Reparse([&] { return gw::sched::WindowSpec::Parse(s.ToString()); }) == s);
  try {
    s.Validate(n);
  } catch (const gw::Error& e) {
    FUZZ_CHECK(std::strlen(e.what()) > 0);
    return;
  }
  if (s.kind == gw::sched::WindowKind::kSlots) FUZZ_CHECK(s.slot() * n <= s.period());
  if (s.kind == gw::sched::WindowKind::kTopology) {
    const std::vector<uint32_t> rack_of = s.RackOf(n);
    FUZZ_CHECK(rack_of.size() == n);
    for (const uint32_t r : rack_of) FUZZ_CHECK(s.racks == 0 || r < s.racks);
  }
}

void CodingSpecText(const std::string& text, int n) {
  const auto s = gw::coding::CodingSpec::Parse(text);
  const auto again = Reparse([&] { return gw::coding::CodingSpec::Parse(s.ToString()); });
  FUZZ_CHECK(again.kind == s.kind && again.param == s.param);
  try {
    s.Validate(n);
  } catch (const gw::Error& e) {
    FUZZ_CHECK(std::strlen(e.what()) > 0);
    return;
  }
  const int blocks = s.Blocks(n);
  FUZZ_CHECK(blocks >= 1 && blocks <= n);
  for (int w = 0; w < n; ++w) {
    // mds names the worker's coded block (< n); the others name data blocks (< Blocks(n)).
    const int bound = s.kind == gw::coding::CodingKind::kMds ? n : blocks;
    for (const int b : s.BlocksOf(w, n)) FUZZ_CHECK(b >= 0 && b < bound);
  }
  // With every worker's messages in, any valid scheme decodes its round.
  FUZZ_CHECK(gw::coding::RoundTracker(s, n).Possible({}));
}

void StragglerText(const std::string& text) {
  const auto m = gw::coding::StragglerModel::Parse(text, 7);
  const auto again = Reparse([&] { return gw::coding::StragglerModel::Parse(m.ToString()); });
  FUZZ_CHECK(again.ToString() == m.ToString());
}

void SyncText(const std::string& text) {
  const auto s = gw::SyncSpec::Parse(text);
  const auto again = Reparse([&] { return gw::SyncSpec::Parse(s.ToString()); });
  FUZZ_CHECK(again.kind == s.kind && again.staleness == s.staleness);
}

void LrText(const std::string& text) {
  const auto s = gw::LrSchedule::Parse(text, 0.1);
  const auto a = Reparse([&] { return gw::LrSchedule::Parse(s.ToString(), 0.1); });
  FUZZ_CHECK(a.kind == s.kind && a.every == s.every && a.gamma == s.gamma && a.total == s.total &&
             a.warmup == s.warmup);
}

void AddressText(const std::string& text) {
  const auto a = gw::Address::Parse(text);
  FUZZ_CHECK(!a.host.empty());
  const auto again = Reparse([&] { return gw::Address::Parse(a.ToString()); });
  FUZZ_CHECK(again.transport == a.transport && again.host == a.host && again.port == a.port);
}

void SpecSplit(const std::string& text) {
  auto bad = [](const std::string& why) { throw gw::Error(why); };
  const gw::SpecText s = gw::SpecText::Split(text, bad);
  FUZZ_CHECK(text.substr(0, s.name.size()) == s.name);
  FUZZ_CHECK(s.name.find(':') == std::string_view::npos);
  for (const auto& [key, value] : s.values) {
    FUZZ_CHECK(!key.empty() && key.find_first_of(",=") == std::string::npos);
    FUZZ_CHECK(value.find(',') == std::string_view::npos);
  }
}

// Sizes: digits and an optional unit; the value is exactly digits x unit, never wrapped.
void BytesText(const std::string& text) {
  uint64_t got = 0;
  try {
    got = gw::cli::ParseBytes(text, "size");
  } catch (const gw::cli::UsageError& e) {
    FUZZ_CHECK(std::strlen(e.what()) > 0);
    return;
  }
  size_t digits = 0;
  unsigned __int128 value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    value = value * 10 + (text[digits++] - '0');
    FUZZ_CHECK(value <= UINT64_MAX);
  }
  FUZZ_CHECK(digits > 0);
  const std::string unit = text.substr(digits);
  const int shift = unit == "K" || unit == "k" || unit == "KiB" ? 10
                    : unit == "M" || unit == "MiB"              ? 20
                    : unit == "G" || unit == "GiB"              ? 30
                                                                : 0;
  FUZZ_CHECK(shift > 0 || unit.empty() || unit == "B");
  FUZZ_CHECK(value << shift == got);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const uint32_t workers = 1 + (data[0] >> 3);  // 1..32
  try {
    switch (data[0] & 7) {
      case 0:
        WindowSpecText(text, workers);
        break;
      case 1:
        CodingSpecText(text, static_cast<int>(workers));
        break;
      case 2:
        StragglerText(text);
        break;
      case 3:
        SyncText(text);
        break;
      case 4:
        LrText(text);
        break;
      case 5:
        AddressText(text);
        break;
      case 6:
        SpecSplit(text);
        break;
      case 7:
        BytesText(text);
        break;
    }
  } catch (const gw::Error& e) {
    FUZZ_CHECK(std::strlen(e.what()) > 0);
  }
  return 0;
}
