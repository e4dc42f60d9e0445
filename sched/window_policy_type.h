// What a write-window policy is apart from any one run: its name, its keys in the spec text
// (sched/window_spec.h), their checks, and the WindowPolicy it makes for a scheduler. The
// registry (sched/window_registry.h) lists one of these per policy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sched/window_keys.h"
#include "sched/window_policy.h"
#include "sched/window_spec.h"

namespace gw::sched {

class WindowPolicyType {
 public:
  virtual ~WindowPolicyType() = default;

  virtual WindowKind kind() const = 0;
  virtual std::string_view name() const = 0;  // as in the text: "round-robin"
  // Its text forms for the usage message: "slots:period=MS,slot=MS".
  virtual std::string_view forms() const = 0;
  // Takes the policy's keys into *s (whose kind is set, other fields at their defaults).
  virtual void TakeKeys(SpecKeys& keys, WindowSpec* s) const = 0;
  // The keys after "name:", every one written; "" for a policy without keys.
  virtual std::string KeysToString(const WindowSpec& s) const = 0;
  // Range checks that do not depend on the number of workers; throws gw::Error with why.
  virtual void CheckFields(const WindowSpec& s) const = 0;
  // Checks against n >= 1 workers; throws gw::Error(what + why).
  virtual void CheckWorkers(const WindowSpec& s, uint32_t n, const std::string& what) const {}
  // Whether a window opens for one partition of a push at a time (the worker asks again for
  // each, WindowRequestMsg::part_index) rather than for the whole push. Uncoded pushes only:
  // a coded message is one window whatever the policy.
  virtual bool grants_parts() const { return false; }
  // The policy's state for a scheduler of n workers (s validated for n).
  virtual std::unique_ptr<WindowPolicy> Make(const WindowSpec& s, uint32_t n,
                                             Pacing pacing) const = 0;
};

}  // namespace gw::sched
