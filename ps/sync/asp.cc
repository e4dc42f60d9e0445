// ASP: each arrival is applied at once; the sender gets the new parameters at once.
#include <memory>

#include "ps/sync/policy.h"
#include "ps/sync/registry.h"

namespace gw {
namespace {

class AspPolicy final : public SyncPolicy {
 public:
  bool Holds(uint32_t /*w*/) const override { return false; }
  void OnArrival(uint32_t w, const WorkerClocks& /*workers*/, SyncDecision* d) override {
    d->apply = {w};
    d->release = {w};
  }
  void OnWorkerGone(uint32_t /*w*/, const WorkerClocks& /*workers*/, SyncDecision* /*d*/) override {
  }
  bool aggregating() const override { return false; }
};

}  // namespace

extern const SyncRuleEntry kAspRule = {
    .name = "asp",
    .syntax = "asp",
    .help = "asynchronous: each gradient applied at once and its sender released",
    .releases_together = false,
    .needs_every_worker = false,
    .takes_turns = false,
    .parse = nullptr,
    .to_string = nullptr,
    .make = [](const SyncSpec&, const SyncSetup&) -> std::unique_ptr<SyncPolicy> {
      return std::make_unique<AspPolicy>();
    },
};

}  // namespace gw
