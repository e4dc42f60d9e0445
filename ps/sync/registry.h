// The sync rules --sync names, in one explicit table (ps/sync/registry.cc): name, parameters,
// capabilities, factory and help. An explicit table rather than self-registering statics,
// which a static library drops when nothing references their object file. Adding a rule: its
// file in ps/sync/ defining a SyncRuleEntry, one line in the table, and its tests.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ps/sync/policy.h"
#include "ps/sync_rule.h"

namespace gw {

// What a rule is built for, besides its own parameters.
struct SyncSetup {
  uint32_t num_workers = 1;
  // The write windows' warm-up iterations (R2SP runs BSP during them; others ignore it).
  uint32_t warmup = 0;
};

struct SyncRuleEntry {
  std::string_view name;    // as --sync names it
  std::string_view syntax;  // its forms, as errors and --help list them ("ssp:N")
  std::string_view help;    // one line for --help

  // Capabilities, so that callers ask what a rule does instead of testing which one it is.
  // All workers are released together, so the parameters go out from the shared model (no
  // per-worker copies); else workers go one at a time, each from its own copy.
  bool releases_together;
  // A lost worker ends the job unless --continue-without-lost-workers: the rule waits for
  // every worker (else the others go on without it).
  bool needs_every_worker;
  // Updates take turns through the write windows: needs --windows that take turns
  // (round-robin, its default, or topology); --batch-tuning rides on its window requests.
  bool takes_turns;

  // Reads the text after "name:" (nullopt: the name alone) into spec; throws gw::Error saying
  // why. nullptr: the rule takes no parameter.
  void (*parse)(std::optional<std::string_view> param, SyncSpec* spec);
  // The text Parse reads back as the same spec. nullptr: the name alone.
  std::string (*to_string)(const SyncSpec& spec);
  std::unique_ptr<SyncPolicy> (*make)(const SyncSpec& spec, const SyncSetup& setup);
};

// Every registered rule, in the order errors and --help list them.
std::span<const SyncRuleEntry* const> SyncRules();
// The rule called `name`, or nullptr.
const SyncRuleEntry* FindSyncRule(std::string_view name);
// "bsp (…) | asp (…) | …": every rule's syntax and help, for --sync's help.
std::string SyncRulesHelp();

}  // namespace gw
