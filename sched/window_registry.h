// Every write-window policy the system runs, in one explicit table (sched/window_registry.cc),
// in the order usage texts list them. An explicit table rather than self-registering statics:
// the policies live in a static library, whose unreferenced objects the linker drops.
//
// Adding a policy: a WindowKind value (and fields for new keys) in sched/window_spec.h, one
// file implementing WindowPolicyType and WindowPolicy (sched/burst_policy.cc is the
// smallest), one line in the table, its tests.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sched/window_policy_type.h"

namespace gw::sched {

std::span<const WindowPolicyType* const> WindowPolicies();
// The policy of a kind; throws gw::Error for a kind no policy registered.
const WindowPolicyType& WindowPolicyOf(WindowKind kind);
// The policy called `name`, or nullptr.
const WindowPolicyType* WindowPolicyNamed(std::string_view name);
// The text forms of every policy, "burst | round-robin[:…] | …; times in milliseconds".
std::string WindowPolicyForms();

}  // namespace gw::sched
