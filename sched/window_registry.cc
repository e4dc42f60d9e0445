#include "sched/window_registry.h"

#include "base/error.h"

namespace gw::sched {

// Each defined in its own file, sched/<name>_policy.cc.
const WindowPolicyType& BurstPolicy();
const WindowPolicyType& RoundRobinPolicy();
const WindowPolicyType& SlotsPolicy();
const WindowPolicyType& TopologyPolicy();
const WindowPolicyType& GlobalPriorityPolicy();

std::span<const WindowPolicyType* const> WindowPolicies() {
  static const WindowPolicyType* const kPolicies[] = {
      &BurstPolicy(),    &RoundRobinPolicy(),     &SlotsPolicy(),
      &TopologyPolicy(), &GlobalPriorityPolicy(),
  };
  return kPolicies;
}

const WindowPolicyType& WindowPolicyOf(WindowKind kind) {
  for (const WindowPolicyType* p : WindowPolicies()) {
    if (p->kind() == kind) return *p;
  }
  throw Error("unknown window policy kind " + std::to_string(static_cast<int>(kind)));
}

const WindowPolicyType* WindowPolicyNamed(std::string_view name) {
  for (const WindowPolicyType* p : WindowPolicies()) {
    if (p->name() == name) return p;
  }
  return nullptr;
}

std::string WindowPolicyForms() {
  std::string forms;
  for (const WindowPolicyType* p : WindowPolicies()) {
    if (!forms.empty()) forms += " | ";
    forms += p->forms();
  }
  return forms + "; times in milliseconds";
}

}  // namespace gw::sched
