#include "sched/window_spec.h"

#include <chrono>

#include "base/error.h"
#include "base/spec_text.h"
#include "sched/window_keys.h"
#include "sched/window_registry.h"

namespace gw::sched {
namespace {

Duration FromMs(double ms) {
  return std::chrono::round<Duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace

WindowSpec WindowSpec::Parse(std::string_view text) {
  SpecText items = SpecText::Split(text, [&](const std::string& why) { BadWindowSpec(text, why); });
  SpecKeys keys(text, &items);
  const WindowPolicyType* policy = WindowPolicyNamed(items.name);
  if (policy == nullptr) keys.Bad("unknown policy \"" + std::string(items.name) + "\"");
  WindowSpec s;
  s.kind = policy->kind();
  policy->TakeKeys(keys, &s);
  if (!items.values.empty()) {
    keys.Bad("unknown key " + items.values.begin()->first + " for policy " +
             std::string(items.name));
  }
  try {
    policy->CheckFields(s);
  } catch (const Error& e) {
    keys.Bad(e.what());
  }
  return s;
}

std::string WindowSpec::ToString() const {
  const WindowPolicyType& policy = WindowPolicyOf(kind);
  const std::string keys = policy.KeysToString(*this);
  return std::string(policy.name()) + (keys.empty() ? "" : ":" + keys);
}

void WindowSpec::Validate(uint32_t num_workers) const {
  const std::string what =
      "window spec \"" + ToString() + "\" with " + std::to_string(num_workers) + " workers: ";
  if (num_workers == 0) throw Error(what + "need at least one worker");
  const WindowPolicyType& policy = WindowPolicyOf(kind);
  try {
    policy.CheckFields(*this);
  } catch (const Error& e) {
    throw Error(what + e.what());
  }
  policy.CheckWorkers(*this, num_workers, what);
}

std::vector<uint32_t> WindowSpec::RackOf(uint32_t num_workers) const {
  if (racks == 0 && rack_of.empty()) return std::vector<uint32_t>(num_workers, 0);  // one rack
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

bool WindowSpec::grants_parts() const { return WindowPolicyOf(kind).grants_parts(); }

Duration WindowSpec::period() const { return FromMs(period_ms); }
Duration WindowSpec::slot() const { return FromMs(slot_ms); }
Duration WindowSpec::min_window() const { return FromMs(min_window_ms); }

}  // namespace gw::sched
