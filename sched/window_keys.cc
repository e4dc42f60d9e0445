#include "sched/window_keys.h"

#include <charconv>
#include <cmath>

#include "base/error.h"
#include "base/spec_text.h"
#include "sched/window_registry.h"

namespace gw::sched {

void BadWindowSpec(std::string_view text, const std::string& why) {
  throw Error("window spec \"" + std::string(text) + "\": " + why + " (expected " +
              WindowPolicyForms() + ")");
}

std::string_view SpecKeys::Take(const std::string& key) {
  return items_->Take(key, [this](const std::string& why) { Bad(why); });
}

double SpecKeys::TakeDouble(const std::string& key) { return ParseDouble(key, Take(key)); }

double SpecKeys::ParseDouble(const std::string& key, std::string_view value) const {
  double v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty() || !std::isfinite(v)) {
    Bad("value of " + key + " is not a number: \"" + std::string(value) + "\"");
  }
  return v;
}

uint32_t SpecKeys::TakeUint32(const std::string& key) { return ParseUint32(key, Take(key)); }

uint32_t SpecKeys::ParseUint32(const std::string& key, std::string_view value) const {
  uint32_t v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty()) {
    Bad("value of " + key + " is not an integer in [0, 2^32): \"" + std::string(value) + "\"");
  }
  return v;
}

void CheckPositiveMs(const char* key, double ms) {
  if (!(ms > 0) || !(ms <= WindowSpec::kMaxMs)) {
    throw Error(std::string(key) + " must be > 0 and <= " + FormatNumber(WindowSpec::kMaxMs) +
                " ms, got " + FormatNumber(ms));
  }
}

void TakeRingKeys(SpecKeys& keys, WindowSpec* s) {
  if (keys.has("warmup")) s->warmup = keys.TakeUint32("warmup");
  if (keys.has("factor")) s->factor = keys.TakeDouble("factor");
  if (keys.has("window")) s->window_gaps = keys.TakeDouble("window");
  if (keys.has("min-window")) s->min_window_ms = keys.TakeDouble("min-window");
  if (keys.has("lead")) {
    const std::string_view lead = keys.Take("lead");
    s->lead_ms = lead == "auto" ? WindowSpec::kLeadAuto : keys.ParseDouble("lead", lead);
    // A negative number must not read as kLeadAuto's encoding.
    if (lead != "auto" && !(s->lead_ms >= 0)) keys.Bad("lead must be auto or >= 0 ms");
  }
  if (keys.has("ask")) {
    const std::string_view ask = keys.Take("ask");
    if (ask != "ready" && ask != "ahead") keys.Bad("ask must be ready or ahead");
    s->ask_ahead = ask == "ahead";
  }
}

std::string RingKeysToString(const WindowSpec& s) {
  return "warmup=" + std::to_string(s.warmup) + ",factor=" + FormatNumber(s.factor) +
         ",window=" + FormatNumber(s.window_gaps) + ",min-window=" + FormatNumber(s.min_window_ms) +
         ",lead=" + (s.lead_ms == WindowSpec::kLeadAuto ? "auto" : FormatNumber(s.lead_ms)) +
         ",ask=" + (s.ask_ahead ? "ahead" : "ready");
}

void CheckRingFields(const WindowSpec& s) {
  if (s.warmup < WindowSpec::kMinWarmup) {
    throw Error("warmup must be >= " + std::to_string(WindowSpec::kMinWarmup) +
                ": T_iter is measured from worker 0's iteration " +
                std::to_string(WindowSpec::kSkippedIterations + 1) + " on, got " +
                std::to_string(s.warmup));
  }
  if (!(s.factor > 0) || !std::isfinite(s.factor)) {
    throw Error("factor must be > 0 (R2SP uses 1.2), got " + FormatNumber(s.factor));
  }
  if (!(s.window_gaps >= 1) || !(s.window_gaps <= 1e6)) {
    throw Error("window (a multiple of the gap) must be in [1, 1e6], got " +
                FormatNumber(s.window_gaps));
  }
  CheckPositiveMs("min-window", s.min_window_ms);
  if (s.lead_ms != WindowSpec::kLeadAuto && !(s.lead_ms >= 0 && s.lead_ms <= WindowSpec::kMaxMs)) {
    throw Error("lead must be auto or in [0, " + FormatNumber(WindowSpec::kMaxMs) + "] ms, got " +
                FormatNumber(s.lead_ms));
  }
}

void TakeRackKeys(SpecKeys& keys, WindowSpec* s) {
  if (keys.has("racks") && keys.has("rack-of")) keys.Bad("give one of racks= and rack-of=");
  if (keys.has("racks")) {
    s->racks = keys.TakeUint32("racks");
    if (s->racks == 0) keys.Bad("racks must be >= 1");
  } else if (keys.has("rack-of")) {
    const std::string_view list = keys.Take("rack-of");
    size_t start = 0;
    while (true) {
      const size_t plus = list.find('+', start);
      s->rack_of.push_back(keys.ParseUint32("rack-of", list.substr(start, plus - start)));
      if (plus == std::string_view::npos) break;
      start = plus + 1;
    }
  }
}

std::string RackKeysToString(const WindowSpec& s) {
  if (s.racks > 0) return "racks=" + std::to_string(s.racks);
  if (s.rack_of.empty()) return "";
  std::string racks = "rack-of=";
  for (size_t i = 0; i < s.rack_of.size(); ++i) {
    racks += (i ? "+" : "") + std::to_string(s.rack_of[i]);
  }
  return racks;
}

void CheckRackWorkers(const WindowSpec& s, uint32_t n, const std::string& what) {
  if (s.racks > n) {
    throw Error(what + "racks=" + std::to_string(s.racks) +
                " leaves some rack without a worker; use racks <= workers");
  }
  if (s.racks == 0 && !s.rack_of.empty() && s.rack_of.size() != n) {
    throw Error(what + "rack-of lists " + std::to_string(s.rack_of.size()) +
                " workers; give one rack per worker");
  }
}

}  // namespace gw::sched
