#include "ps/sync/registry.h"

#include <algorithm>
#include <iterator>

namespace gw {

// Defined in their own files, ps/sync/<name>.cc.
extern const SyncRuleEntry kBspRule;
extern const SyncRuleEntry kAspRule;
extern const SyncRuleEntry kSspRule;
extern const SyncRuleEntry kR2spRule;

// The table: a new rule adds its line here.
static constexpr const SyncRuleEntry* kRules[] = {&kBspRule, &kAspRule, &kSspRule, &kR2spRule};

std::span<const SyncRuleEntry* const> SyncRules() { return kRules; }

const SyncRuleEntry* FindSyncRule(std::string_view name) {
  const auto* it = std::find_if(std::begin(kRules), std::end(kRules),
                                [&](const SyncRuleEntry* rule) { return rule->name == name; });
  return it == std::end(kRules) ? nullptr : *it;
}

std::string SyncRulesHelp() {
  std::string out;
  for (const SyncRuleEntry* rule : kRules) {
    if (!out.empty()) out += " | ";
    out += std::string(rule->syntax) + " (" + std::string(rule->help) + ")";
  }
  return out;
}

}  // namespace gw
