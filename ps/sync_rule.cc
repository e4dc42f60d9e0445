#include "ps/sync_rule.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "base/error.h"

namespace gw {

SyncSpec SyncSpec::Parse(const std::string& text) {
  if (text == "bsp") return {SyncKind::kBsp, 0};
  if (text == "asp") return {SyncKind::kAsp, 0};
  if (text == "ssp") return {SyncKind::kSsp, 1};
  if (text == "r2sp") return {SyncKind::kR2sp, 0};
  if (text.starts_with("ssp:")) {
    const char* first = text.data() + 4;
    const char* last = text.data() + text.size();
    uint32_t s = 0;
    auto [end, ec] = std::from_chars(first, last, s);
    if (first != last && ec == std::errc() && end == last) return {SyncKind::kSsp, s};
  }
  throw Error("bad sync rule \"" + text +
              "\": expected bsp, asp, ssp (= ssp:1), ssp:N with N a staleness bound >= 0, or r2sp "
              "(round-robin write windows, see --windows)");
}

std::string SyncSpec::ToString() const {
  switch (kind) {
    case SyncKind::kBsp:
      return "bsp";
    case SyncKind::kAsp:
      return "asp";
    case SyncKind::kR2sp:
      return "r2sp";
    case SyncKind::kSsp:
      break;
  }
  return "ssp:" + std::to_string(staleness);
}

SyncRule::SyncRule(SyncSpec spec, uint32_t num_workers, uint32_t r2sp_warmup)
    : spec_(spec),
      n_(num_workers),
      clock_(num_workers, 0),
      live_(num_workers, true),
      arrived_(num_workers, false),
      waiting_(num_workers, false),
      r2sp_warmup_(r2sp_warmup) {
  if (spec_.kind == SyncKind::kR2sp) spec_.staleness = num_workers;
}

SyncKind SyncRule::Phase() const {
  if (spec_.kind != SyncKind::kR2sp) return spec_.kind;
  return bsp_iter_ < r2sp_warmup_ ? SyncKind::kBsp : SyncKind::kSsp;
}

// A worker is "held" between an accepted push and its release: BSP until the barrier
// completes (arrived_), SSP while over the staleness bound (waiting_). A held worker has
// not received parameters, so any further push from it is a protocol violation: rejected.
SyncRule::Decision SyncRule::OnArrival(uint32_t worker, uint64_t iteration, bool* accepted) {
  *accepted = worker < n_ && live_[worker] && iteration == clock_[worker] && !arrived_[worker] &&
              !waiting_[worker];
  Decision d;
  if (!*accepted) return d;
  ++clock_[worker];
  switch (Phase()) {
    case SyncKind::kBsp:
      arrived_[worker] = true;
      CompleteBspIfReady(&d);
      break;
    case SyncKind::kAsp:
      d.apply = {worker};
      d.release = {worker};
      break;
    case SyncKind::kSsp:
    case SyncKind::kR2sp:  // (Phase() never returns it)
      d.apply = {worker};
      waiting_[worker] = true;
      ReleaseSspWaiters(&d);
      break;
  }
  return d;
}

SyncRule::Decision SyncRule::OnWorkerGone(uint32_t worker) {
  Decision d;
  if (worker >= n_ || !live_[worker]) return d;
  live_[worker] = false;
  waiting_[worker] = false;
  if (Phase() == SyncKind::kBsp) CompleteBspIfReady(&d);
  if (Phase() == SyncKind::kSsp) ReleaseSspWaiters(&d);
  return d;
}

// Completes bsp_iter_ once something arrived for it and every live worker has. Gradients of
// workers that arrived and then died are still applied (they were accepted).
void SyncRule::CompleteBspIfReady(Decision* d) {
  bool any = false;
  for (uint32_t w = 0; w < n_; ++w) {
    if (live_[w] && !arrived_[w]) return;
    any = any || arrived_[w];
  }
  if (!any) return;
  d->aggregate = true;
  for (uint32_t w = 0; w < n_; ++w) {
    if (arrived_[w]) d->apply.push_back(w);
    if (live_[w]) d->release.push_back(w);
    arrived_[w] = false;
  }
  ++bsp_iter_;
}

void SyncRule::ReleaseSspWaiters(Decision* d) {
  const uint64_t min = min_live_clock();
  for (uint32_t w = 0; w < n_; ++w) {
    if (waiting_[w] && clock_[w] - min <= spec_.staleness) {
      waiting_[w] = false;
      d->release.push_back(w);
    }
  }
}

uint64_t SyncRule::clock(uint32_t worker) const { return clock_.at(worker); }

uint64_t SyncRule::min_live_clock() const {
  std::optional<uint64_t> min;
  for (uint32_t w = 0; w < n_; ++w) {
    if (live_[w] && (!min || clock_[w] < *min)) min = clock_[w];
  }
  return min.value_or(0);
}

void SyncRule::ResumeBspAt(uint64_t iteration) {
  if (spec_.kind != SyncKind::kBsp) {
    throw Error("resuming is implemented for BSP only, not " + spec_.ToString());
  }
  std::fill(clock_.begin(), clock_.end(), iteration);
  bsp_iter_ = iteration;
}

uint64_t SyncRule::bsp_iteration() const { return bsp_iter_; }

bool SyncRule::live(uint32_t worker) const { return live_.at(worker); }

uint32_t SyncRule::num_live() const {
  return static_cast<uint32_t>(std::count(live_.begin(), live_.end(), true));
}

}  // namespace gw
