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
    // kPartUpdate: one part of a BSP barrier (ps/server/part_barrier.h), applied and released
    // on its own; its writes are only those from that part's floats.
    enum class Kind { kUpdate, kRelease, kCloseRound, kPartUpdate };
    Kind kind = Kind::kUpdate;
    // kUpdate; a kPartUpdate's `apply` is the workers whose copies of its part are summed.
    SyncRule::Decision decision;
    std::vector<uint32_t> parts;  // kUpdate of a barrier taken part by part: parts left to apply
    uint32_t worker = 0;          // kRelease
    TimePoint since;              // kCloseRound: when the round completed
    uint32_t part = 0;            // kPartUpdate: the part
    uint64_t iteration = 0;       // kPartUpdate: the iteration its new parameters are for
    // Waits for the parameter writes to every worker, or only to `only` (a kPartUpdate: for
    // the writes of its part, with TrackParts).
    bool writes = false;
    std::optional<uint32_t> only;
    std::optional<TimePoint> deadline;  // set when first waited for
  };

  explicit HeldSteps(uint32_t num_workers) : in_flight_(num_workers, 0) {}

  // Counts the writes of each of `parts` parts too, told apart by their wr_id (the part):
  // every write posted to a worker must then be one part's.
  void TrackParts(uint32_t parts);
  // Parameter writes to worker w: posted, completed (by wr_id), never to complete (w is lost).
  void Posted(uint32_t w, uint64_t wr_id = 0);
  void Completed(uint32_t w, uint64_t wr_id = 0);
  void Forget(uint32_t w);
  // Counts c off if it is the completion of a parameter write to a worker (true).
  bool TakeIfWriteDone(const Completion& c);

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
    if (!s.writes || (s.only && *s.only != w)) return false;
    if (s.kind == Step::Kind::kPartUpdate && parts_ > 0) {
      return s.part < parts_ && part_in_flight_[size_t{w} * parts_ + s.part] > 0;
    }
    return in_flight_[w] > 0;
  }
  bool Settled(const Step& s, bool checkpoint_busy) const;

  std::vector<uint32_t> in_flight_;
  uint32_t parts_ = 0;                    // TrackParts
  std::vector<uint32_t> part_in_flight_;  // [worker * parts_ + part]
  std::deque<Step> held_;
  std::deque<Step> behind_;  // held behind the step running now
};

}  // namespace gw
