// Steps the server core may not take yet, and the parameter writes they wait for. An update
// decided while parameter writes from the memory it changes are still in flight, a release
// whose source copy is still being written from, a coded round's close (the model and
// residual are the source of input writes), or anything after an update being checkpointed,
// is held here; the core's main loop takes each one once it is settled. There is no second
// loop inside an update: what a held step waits for arrives through the main loop.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "net/completion.h"
#include "ps/sync_rule.h"

namespace gw {

class HeldSteps {
 public:
  struct Step {
    enum class Kind { kUpdate, kRelease, kCloseRound };
    Kind kind = Kind::kUpdate;
    SyncRule::Decision decision;  // kUpdate
    uint32_t worker = 0;          // kRelease
    TimePoint since;              // kCloseRound: when the round completed
    // Waits for the parameter writes to every worker, or only to `only`.
    bool writes = false;
    std::optional<uint32_t> only;
    std::optional<TimePoint> deadline;  // set when first waited for
  };

  explicit HeldSteps(uint32_t num_workers) : in_flight_(num_workers, 0) {}

  // Parameter writes to worker w: posted, completed, never to complete (w is lost).
  void Posted(uint32_t w) { ++in_flight_[w]; }
  void Completed(uint32_t w);
  void Forget(uint32_t w) { in_flight_[w] = 0; }
  // Counts off the write completions among those fetched but not handled yet; the others
  // stay queued in order.
  void TakeWriteCompletions(std::deque<Completion>* pending);

  bool empty() const { return held_.empty(); }
  // Whether s may run at once: nothing held before it and it is settled.
  bool RunsNow(const Step& s, bool checkpoint_busy) const {
    return held_.empty() && Settled(s, checkpoint_busy);
  }
  void Hold(Step s) { held_.push_back(std::move(s)); }
  // The first held step if it is settled now. What it sets off (held while it runs) goes
  // before the steps held behind it, as if it had run at once: call Ran() after running it.
  std::optional<Step> TakeSettled(bool checkpoint_busy);
  void Ran();
  // Workers whose writes still hold the first step `timeout` after it was first waited for
  // (the core loses them, which settles it); empty before that.
  std::vector<uint32_t> Overdue(TimePoint now, Duration timeout);

 private:
  bool InFlight(const Step& s, uint32_t w) const {
    return s.writes && (!s.only || *s.only == w) && in_flight_[w] > 0;
  }
  bool Settled(const Step& s, bool checkpoint_busy) const;

  std::vector<uint32_t> in_flight_;
  std::deque<Step> held_;
  std::deque<Step> behind_;  // held behind the step running now
};

}  // namespace gw
