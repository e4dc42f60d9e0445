#include "ps/sync_rule.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "ps/sync/registry.h"

namespace gw {

namespace {

[[noreturn]] void BadSyncText(const std::string& text, const std::string& why) {
  std::string rules;
  for (const SyncRuleEntry* rule : SyncRules()) {
    rules += (rules.empty() ? "" : ", ") + std::string(rule->syntax);
  }
  throw Error("bad sync rule \"" + text + "\": " + why + "; the rules are " + rules);
}

}  // namespace

SyncSpec SyncSpec::Parse(const std::string& text) {
  const size_t colon = text.find(':');
  const std::string name = text.substr(0, colon);
  const SyncRuleEntry* entry = FindSyncRule(name);
  if (entry == nullptr) BadSyncText(text, "no rule is called \"" + name + "\"");
  std::optional<std::string_view> param;
  if (colon != std::string::npos) param = std::string_view(text).substr(colon + 1);
  SyncSpec spec;
  spec.kind = name;
  if (entry->parse == nullptr) {
    if (param) BadSyncText(text, name + " takes no parameter");
    return spec;
  }
  try {
    entry->parse(param, &spec);
  } catch (const Error& e) {
    BadSyncText(text, e.what());
  }
  return spec;
}

std::string SyncSpec::ToString() const {
  const SyncRuleEntry& r = rule();
  return r.to_string ? r.to_string(*this) : std::string(r.name);
}

const SyncRuleEntry& SyncSpec::rule() const {
  const SyncRuleEntry* r = FindSyncRule(kind);
  if (r == nullptr) throw Error("internal: no sync rule is called \"" + kind + "\"");
  return *r;
}

SyncRule::SyncRule(SyncSpec spec, uint32_t num_workers, uint32_t r2sp_warmup)
    : spec_(std::move(spec)),
      entry_(&spec_.rule()),
      workers_{std::vector<uint64_t>(num_workers, 0), std::vector<bool>(num_workers, true)},
      policy_(entry_->make(spec_, {num_workers, r2sp_warmup})) {}

SyncRule::~SyncRule() = default;
SyncRule::SyncRule(SyncRule&&) noexcept = default;
SyncRule& SyncRule::operator=(SyncRule&&) noexcept = default;

// A worker the rule "holds" (between an accepted push and its release) has not received
// parameters, so any further push from it is a protocol violation: rejected.
SyncRule::Decision SyncRule::OnArrival(uint32_t worker, uint64_t iteration, bool* accepted) {
  *accepted = worker < workers_.size() && workers_.live[worker] &&
              iteration == workers_.clock[worker] && !policy_->Holds(worker);
  Decision d;
  if (!*accepted) return d;
  ++workers_.clock[worker];
  policy_->OnArrival(worker, workers_, &d);
  return d;
}

SyncRule::Decision SyncRule::OnWorkerGone(uint32_t worker) {
  Decision d;
  if (worker >= workers_.size() || !workers_.live[worker]) return d;
  workers_.live[worker] = false;
  policy_->OnWorkerGone(worker, workers_, &d);
  return d;
}

void SyncRule::ResumeBspAt(uint64_t iteration) {
  if (!policy_->ResumeAt(iteration)) {
    throw Error("resuming is implemented for BSP only, not " + spec_.ToString());
  }
  std::fill(workers_.clock.begin(), workers_.clock.end(), iteration);
}

uint64_t SyncRule::clock(uint32_t worker) const { return workers_.clock.at(worker); }

uint64_t SyncRule::min_live_clock() const { return workers_.min_live(); }

uint64_t SyncRule::bsp_iteration() const { return policy_->barrier_iteration(); }

bool SyncRule::live(uint32_t worker) const { return workers_.live.at(worker); }

uint32_t SyncRule::num_live() const {
  return static_cast<uint32_t>(std::count(workers_.live.begin(), workers_.live.end(), true));
}

bool SyncRule::aggregating() const { return policy_->aggregating(); }

bool SyncRule::releases_together() const { return entry_->releases_together; }

bool SyncRule::goes_on_without_lost_workers(bool continue_without_lost) const {
  return !entry_->needs_every_worker || continue_without_lost;
}

}  // namespace gw
