#include "ps/sync/ssp.h"

#include <charconv>
#include <memory>
#include <string>

#include "base/error.h"
#include "ps/sync/registry.h"

namespace gw {

void SspPolicy::OnArrival(uint32_t w, const WorkerClocks& workers, SyncDecision* d) {
  d->apply = {w};
  waiting_[w] = true;
  ReleaseWaiters(workers, d);
}

void SspPolicy::OnWorkerGone(uint32_t w, const WorkerClocks& workers, SyncDecision* d) {
  waiting_[w] = false;  // the dead are not released
  ReleaseWaiters(workers, d);
}

void SspPolicy::ReleaseWaiters(const WorkerClocks& workers, SyncDecision* d) {
  const uint64_t min = workers.min_live();
  for (uint32_t w = 0; w < workers.size(); ++w) {
    if (waiting_[w] && workers.clock[w] - min <= staleness_) {
      waiting_[w] = false;
      d->release.push_back(w);
    }
  }
}

// "ssp" alone bounds staleness at one iteration: the smallest bound that lets workers overlap.
static constexpr uint32_t kDefaultStaleness = 1;

namespace {

void ParseSsp(std::optional<std::string_view> param, SyncSpec* spec) {
  spec->staleness = kDefaultStaleness;
  if (!param) return;
  const char* first = param->data();
  const char* last = first + param->size();
  const auto [end, ec] = std::from_chars(first, last, spec->staleness);
  if (first == last || ec != std::errc() || end != last) {
    throw Error("the staleness bound N must be a whole number >= 0 (at most 2^32 - 1)");
  }
}

}  // namespace

extern const SyncRuleEntry kSspRule = {
    .name = "ssp",
    .syntax = "ssp:N",
    .help =
        "stale synchronous: each gradient applied at once, a worker at most N iterations "
        "ahead of the slowest (ssp = ssp:1)",
    .releases_together = false,
    .needs_every_worker = false,
    .takes_turns = false,
    .parse = ParseSsp,
    .to_string = [](const SyncSpec& spec) { return "ssp:" + std::to_string(spec.staleness); },
    .make = [](const SyncSpec& spec, const SyncSetup& setup) -> std::unique_ptr<SyncPolicy> {
      return std::make_unique<SspPolicy>(setup.num_workers, spec.staleness);
    },
};

}  // namespace gw
