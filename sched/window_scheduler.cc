#include "sched/window_scheduler.h"

#include <algorithm>
#include <string>

#include "base/error.h"
#include "sched/window_registry.h"

namespace gw::sched {

// The policy's hands in one Poll: windows it opens or rebounds become grants to send.
class WindowScheduler::Opener final : public WindowOpener {
 public:
  Opener(WindowScheduler* s, TimePoint now, std::vector<Grant>* grants)
      : s_(s), now_(now), grants_(grants) {}

  void Open(uint32_t w, TimePoint deadline, bool ahead) override {
    s_->Open(w, now_, deadline, ahead, grants_);
  }
  void Rebound(uint32_t w, TimePoint deadline) override {
    s_->workers_[w].deadline = deadline;
    grants_->push_back({w, now_, deadline});
  }

 private:
  WindowScheduler* s_;
  TimePoint now_;
  std::vector<Grant>* grants_;
};

WindowScheduler::WindowScheduler(const WindowSpec& spec, uint32_t num_workers, Pacing pacing)
    : spec_(spec), pacing_(pacing), workers_(num_workers), estimator_(spec.warmup) {
  spec_.Validate(num_workers);
  policy_ = WindowPolicyOf(spec_.kind).Make(spec_, num_workers, pacing_);
}

WindowScheduler::WindowScheduler(const WindowScheduler& other)
    : spec_(other.spec_),
      pacing_(other.pacing_),
      workers_(other.workers_),
      policy_(other.policy_->Clone()),
      estimator_(other.estimator_),
      last_seen_(other.last_seen_),
      revocations_(other.revocations_) {}

WindowScheduler& WindowScheduler::operator=(const WindowScheduler& other) {
  if (this != &other) *this = WindowScheduler(other);
  return *this;
}

WindowScheduler::~WindowScheduler() = default;

void WindowScheduler::Check(uint32_t w) const {
  if (w >= workers_.size()) {
    throw Error("window scheduler: worker " + std::to_string(w) + " out of range; ranks are 0.." +
                std::to_string(workers_.size() - 1));
  }
}

void WindowScheduler::Seen(TimePoint now) { last_seen_ = std::max(last_seen_, now); }

void WindowScheduler::Request(uint32_t w, TimePoint now, uint32_t priority, TimePoint ready_at) {
  Check(w);
  Seen(now);
  WindowWorker& x = workers_[w];
  if (!x.live) return;
  if (x.pending) {  // holding implies pending
    if (!x.holding) x.priority = std::min(x.priority, priority);
    return;
  }
  x.pending = true;
  x.queued = now;
  x.priority = priority;
  x.ready_at = ready_at;
}

void WindowScheduler::Done(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  WindowWorker& x = workers_[w];
  if (!x.live) return;
  x.pending = false;
  if (!x.holding) return;
  policy_->PushDone(w, now - x.start);
  if (x.posted) policy_->Transferred(w, now - *x.posted);
  Close(w, now);
}

void WindowScheduler::Progress(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  WindowWorker& x = workers_[w];
  if (x.holding) x.progressed = true;
}

void WindowScheduler::Posted(uint32_t w, TimePoint now, Duration held) {
  Check(w);
  Seen(now);
  WindowWorker& x = workers_[w];
  if (!x.holding || x.posted) return;
  x.posted = std::max(now, x.start);
  policy_->Posted(w, std::max(*x.posted - x.start - held, Duration::zero()));
}

void WindowScheduler::Remove(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  WindowWorker& x = workers_[w];
  if (!x.live) return;
  if (x.holding) Close(w, now);
  x.live = false;
  x.pending = false;
}

void WindowScheduler::Cancel(uint32_t w, TimePoint now) {
  Check(w);
  Seen(now);
  WindowWorker& x = workers_[w];
  if (!x.live) return;
  x.pending = false;
  if (x.holding) Close(w, now);
}

void WindowScheduler::ObserveRound(Duration round) {
  if (pacing_ != Pacing::kRounds) return;
  estimator_.Observe(round, Duration::zero());  // the gap stays zero: only warm-up counts
}

void WindowScheduler::ObserveIteration(uint32_t w, Duration iteration, Duration blocked) {
  Check(w);
  if (w != 0 || pacing_ != Pacing::kIterations) return;
  estimator_.Observe(iteration, blocked);
  if (estimator_.ready()) policy_->IterationTime(estimator_.value());
}

void WindowScheduler::Open(uint32_t w, TimePoint now, TimePoint deadline, bool ahead,
                           std::vector<Grant>* grants) {
  WindowWorker& x = workers_[w];
  x.holding = true;
  x.progressed = false;
  x.posted.reset();
  x.start = now;
  x.deadline = deadline;
  policy_->Opened(w);
  grants->push_back({w, now, deadline, ahead});
}

void WindowScheduler::Close(uint32_t w, TimePoint end) {
  workers_[w].holding = false;
  policy_->Closed(w, end);
}

std::vector<WindowScheduler::Grant> WindowScheduler::Poll(TimePoint now) {
  std::vector<Grant> grants;
  Poll(now, &grants);
  return grants;
}

void WindowScheduler::Poll(TimePoint now, std::vector<Grant>* grants) {
  Seen(now);
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    WindowWorker& x = workers_[w];
    if (x.holding && x.deadline <= now) {
      if (x.progressed) policy_->CutWhileProgressing(w, x.deadline - x.start);
      Close(w, x.deadline);   // revoked: the request stays pending
      x.queued = x.deadline;  // kRounds: behind those already waiting
      ++revocations_;
    }
  }
  Opener opener(this, now, grants);
  policy_->Grant(View(), now, opener);
}

std::optional<TimePoint> WindowScheduler::NextEvent() const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    t = std::max(t, last_seen_);
    if (!next || t < *next) next = t;
  };
  for (const WindowWorker& x : workers_) {
    if (x.holding && x.deadline != TimePoint::max()) consider(x.deadline);
  }
  if (const std::optional<TimePoint> grant = policy_->NextGrant(View())) consider(*grant);
  return next;
}

Duration WindowScheduler::gap(uint32_t w) const {
  Check(w);
  return policy_->gap(w);
}

Duration WindowScheduler::push_time(uint32_t w) const {
  Check(w);
  return policy_->push_time(w);
}

Duration WindowScheduler::lead(uint32_t w) const {
  Check(w);
  return policy_->lead(w);
}

Duration WindowScheduler::window_bound(uint32_t w) const {
  Check(w);
  return policy_->window_bound(w);
}

}  // namespace gw::sched
