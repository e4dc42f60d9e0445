#include "sched/window_spec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "base/error.h"
#include "base/spec_text.h"

namespace gw::sched {
namespace {

constexpr std::string_view kForms =
    "burst | round-robin[:warmup=W,factor=F,window=K,min-window=MS] | "
    "slots:period=MS,slot=MS | topology:racks=R or topology:rack-of=R+R+..[,warmup=W,factor=F,"
    "window=K,min-window=MS]; times in milliseconds";

[[noreturn]] void Bad(std::string_view text, const std::string& why) {
  throw Error("window spec \"" + std::string(text) + "\": " + why + " (expected " +
              std::string(kForms) + ")");
}

double ParseDouble(std::string_view text, const std::string& key, std::string_view value) {
  double v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty() || !std::isfinite(v)) {
    Bad(text, "value of " + key + " is not a number: \"" + std::string(value) + "\"");
  }
  return v;
}

uint32_t ParseUint32(std::string_view text, const std::string& key, std::string_view value) {
  uint32_t v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty()) {
    Bad(text,
        "value of " + key + " is not an integer in [0, 2^32): \"" + std::string(value) + "\"");
  }
  return v;
}

// Shortest text that reads back as the same double ("1.2", not "1.19999999999999996").
std::string Fmt(double x) {
  char buf[32];
  const auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, ec == std::errc() ? p : buf);
}

Duration FromMs(double ms) {
  return std::chrono::round<Duration>(std::chrono::duration<double, std::milli>(ms));
}

// Range checks that do not depend on the number of workers; throws gw::Error with the reason.
void CheckFields(const WindowSpec& s) {
  auto positive_ms = [](const char* key, double ms) {
    if (!(ms > 0) || !(ms <= WindowSpec::kMaxMs)) {
      throw Error(std::string(key) + " must be > 0 and <= " + Fmt(WindowSpec::kMaxMs) +
                  " ms, got " + Fmt(ms));
    }
  };
  switch (s.kind) {
    case WindowKind::kBurst:
      return;
    case WindowKind::kSlots:
      positive_ms("period", s.period_ms);
      positive_ms("slot", s.slot_ms);
      if (s.slot() <= Duration::zero()) {
        throw Error("slot=" + Fmt(s.slot_ms) + " ms rounds to 0 ns; use a longer slot");
      }
      return;
    case WindowKind::kTopology:
      if ((s.racks == 0) == s.rack_of.empty()) {
        throw Error("topology needs exactly one of racks=R (R >= 1) and rack-of=R+R+..");
      }
      [[fallthrough]];
    case WindowKind::kRoundRobin:
      if (s.warmup < WindowSpec::kMinWarmup) {
        throw Error("warmup must be >= " + std::to_string(WindowSpec::kMinWarmup) +
                    ": T_iter is measured from worker 0's iteration " +
                    std::to_string(WindowSpec::kSkippedIterations + 1) + " on, got " +
                    std::to_string(s.warmup));
      }
      if (!(s.factor > 0) || !std::isfinite(s.factor)) {
        throw Error("factor must be > 0 (R2SP uses 1.2), got " + Fmt(s.factor));
      }
      if (!(s.window_gaps >= 1) || !(s.window_gaps <= 1e6)) {
        throw Error("window (a multiple of the gap) must be in [1, 1e6], got " +
                    Fmt(s.window_gaps));
      }
      positive_ms("min-window", s.min_window_ms);
      return;
  }
}

}  // namespace

WindowSpec WindowSpec::Parse(std::string_view text) {
  auto bad = [&](const std::string& why) { Bad(text, why); };
  SpecText spec = SpecText::Split(text, bad);
  const std::string_view name = spec.name;
  auto take = [&](const std::string& key) { return spec.Take(key, bad); };
  auto has = [&](const std::string& key) { return spec.has(key); };
  // The ring keys shared by round-robin and topology; absent ones keep their defaults.
  auto take_ring_keys = [&](WindowSpec* s) {
    if (has("warmup")) s->warmup = ParseUint32(text, "warmup", take("warmup"));
    if (has("factor")) s->factor = ParseDouble(text, "factor", take("factor"));
    if (has("window")) s->window_gaps = ParseDouble(text, "window", take("window"));
    if (has("min-window")) s->min_window_ms = ParseDouble(text, "min-window", take("min-window"));
  };

  WindowSpec s;
  if (name == "burst") {
    s.kind = WindowKind::kBurst;
  } else if (name == "round-robin") {
    s.kind = WindowKind::kRoundRobin;
    take_ring_keys(&s);
  } else if (name == "slots") {
    s.kind = WindowKind::kSlots;
    s.period_ms = ParseDouble(text, "period", take("period"));
    s.slot_ms = ParseDouble(text, "slot", take("slot"));
  } else if (name == "topology") {
    s.kind = WindowKind::kTopology;
    if (has("racks") == has("rack-of")) Bad(text, "give exactly one of racks= and rack-of=");
    if (has("racks")) {
      s.racks = ParseUint32(text, "racks", take("racks"));
      if (s.racks == 0) Bad(text, "racks must be >= 1");
    } else {
      const std::string_view list = take("rack-of");
      size_t start = 0;
      while (true) {
        const size_t plus = list.find('+', start);
        s.rack_of.push_back(ParseUint32(text, "rack-of", list.substr(start, plus - start)));
        if (plus == std::string_view::npos) break;
        start = plus + 1;
      }
    }
    take_ring_keys(&s);
  } else {
    Bad(text, "unknown policy \"" + std::string(name) + "\"");
  }
  if (!spec.values.empty()) {
    Bad(text, "unknown key " + spec.values.begin()->first + " for policy " + std::string(name));
  }
  try {
    CheckFields(s);
  } catch (const Error& e) {
    Bad(text, e.what());
  }
  return s;
}

std::string WindowSpec::ToString() const {
  const std::string ring = "warmup=" + std::to_string(warmup) + ",factor=" + Fmt(factor) +
                           ",window=" + Fmt(window_gaps) + ",min-window=" + Fmt(min_window_ms);
  switch (kind) {
    case WindowKind::kBurst:
      return "burst";
    case WindowKind::kRoundRobin:
      return "round-robin:" + ring;
    case WindowKind::kSlots:
      return "slots:period=" + Fmt(period_ms) + ",slot=" + Fmt(slot_ms);
    case WindowKind::kTopology:
      break;
  }
  std::string racks_text;
  if (racks > 0) {
    racks_text = "racks=" + std::to_string(racks);
  } else {
    racks_text = "rack-of=";
    for (size_t i = 0; i < rack_of.size(); ++i) {
      racks_text += (i ? "+" : "") + std::to_string(rack_of[i]);
    }
  }
  return "topology:" + racks_text + "," + ring;
}

void WindowSpec::Validate(uint32_t num_workers) const {
  const std::string what =
      "window spec \"" + ToString() + "\" with " + std::to_string(num_workers) + " workers: ";
  if (num_workers == 0) throw Error(what + "need at least one worker");
  try {
    CheckFields(*this);
  } catch (const Error& e) {
    throw Error(what + e.what());
  }
  // N·slot <= period, written without the product (it could overflow for huge N).
  if (kind == WindowKind::kSlots && slot() > period() / num_workers) {
    throw Error(what + "the " + std::to_string(num_workers) + " slots of " + Fmt(slot_ms) +
                " ms do not fit in the period of " + Fmt(period_ms) +
                " ms; use slot <= period / workers");
  }
  if (kind == WindowKind::kTopology) {
    if (racks > num_workers) {
      throw Error(what + "racks=" + std::to_string(racks) +
                  " leaves some rack without a worker; use racks <= workers");
    }
    if (racks == 0 && rack_of.size() != num_workers) {
      throw Error(what + "rack-of lists " + std::to_string(rack_of.size()) +
                  " workers; give one rack per worker");
    }
  }
}

std::vector<uint32_t> WindowSpec::RackOf(uint32_t num_workers) const {
  if (racks == 0) return rack_of;
  // The first n % r racks get one worker more: sizes differ by at most one, ranks consecutive.
  const uint32_t small = num_workers / racks, big_racks = num_workers % racks;
  std::vector<uint32_t> out(num_workers);
  for (uint32_t w = 0; w < num_workers; ++w) {
    const uint32_t in_big = big_racks * (small + 1);
    out[w] = w < in_big ? w / (small + 1) : big_racks + (w - in_big) / small;
  }
  return out;
}

Duration WindowSpec::period() const { return FromMs(period_ms); }
Duration WindowSpec::slot() const { return FromMs(slot_ms); }
Duration WindowSpec::min_window() const { return FromMs(min_window_ms); }

}  // namespace gw::sched
