#include "ps/server/window_desk.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/log.h"
#include "base/rate_limited_log.h"

namespace gw {

WindowDesk::WindowDesk(const JobConfig& job, uint32_t rank, const SyncRule& rule, TimePoint t0)
    : job_(job),
      rule_(rule),
      messages_(job.coding ? job.coding->Messages() : 0),
      per_part_(job.windows && !job.coding && job.windows->grants_parts()),
      t0_(t0),
      workers_(job.num_workers) {
  if (job.windows) {
    // Coded rounds start every worker at once: turns first come, first served, back to back.
    windows_.emplace(*job.windows, job.num_workers,
                     job.coding ? sched::WindowScheduler::Pacing::kRounds
                                : sched::WindowScheduler::Pacing::kIterations);
  }
  // Server 0 sizes the batches; every server weights gradients by the rows they report.
  if (job.batch_tuning && rank == 0) {
    tuner_.emplace(job.num_workers, static_cast<uint32_t>(job.workload.batch_size));
  }
}

const char* WindowDesk::Name(End e) {
  switch (e) {
    case End::kLanded:
      return "landed";
    case End::kRemoved:
      return "removed";
    case End::kClosed:
      return "closed";
    case End::kAbandoned:
      return "abandoned";
  }
  return "?";
}

bool WindowDesk::Expects(uint32_t w, const WindowRequestMsg& req) const {
  if (!windows_ || req.iteration != rule_.clock(w)) return false;
  const Worker& ws = workers_[w];
  return !ws.asked || ws.push == req.iteration;
}

WindowDesk::Grants WindowDesk::OnRequest(uint32_t w, const WindowRequestMsg& req, TimePoint now) {
  if (per_part_ && workers_[w].asked) return OnPartRequest(w, req, now);
  if (workers_[w].asked) {
    // A repeat: a more urgent tensor joined the push. Its samples were in the first request;
    // the scheduler takes the priority only while the request waits.
    windows_->Request(w, now, req.priority);
    return Poll(now);
  }
  if (req.iteration > 0) {
    // One sample enters R2SP's average with weight 0.1: a bogus or paused one (a worker
    // stopped for minutes) is capped at the job's timeout so it cannot swamp the gap.
    auto clamp = [&](int64_t ns) {
      return std::clamp<sched::Duration>(std::chrono::nanoseconds(ns), sched::Duration::zero(),
                                         job_.timeout);
    };
    windows_->ObserveIteration(w, clamp(req.last_iteration_ns), clamp(req.last_blocked_ns));
    // Start-up iterations (allocation, cold caches) are not the worker's speed.
    if (tuner_ && req.iteration > sched::WindowSpec::kSkippedIterations) {
      tuner_->Observe(w, req.last_batch, clamp(req.last_compute_ns));
    }
  }
  if (job_.batch_tuning) {
    const uint32_t nominal = static_cast<uint32_t>(job_.workload.batch_size);
    workers_[w].push_batch = req.batch;
    if (req.batch == 0 || req.batch > sched::BatchTuner::kMaxScale * nominal) {
      WarnOfPeer("worker " + std::to_string(w),
                 "reported a gradient of " + std::to_string(req.batch) + " rows, outside 1.." +
                     std::to_string(sched::BatchTuner::kMaxScale * nominal) +
                     "; weighted as --batch " + std::to_string(nominal));
      workers_[w].push_batch = nominal;
    }
  }
  TimePoint ready_at = TimePoint::min();
  if (req.ready_in_ns != 0 && !per_part_) {
    if (req.ready_in_ns < 0 || std::chrono::nanoseconds(req.ready_in_ns) > job_.timeout) {
      WarnOfPeer("worker " + std::to_string(w),
                 "asked ahead with its push ready in " + std::to_string(req.ready_in_ns) +
                     " ns, outside 0.." + std::to_string(job_.timeout.count()) +
                     " ms (the job's timeout); taken as ready now");
    } else {
      ready_at = now + std::chrono::nanoseconds(req.ready_in_ns);
    }
  }
  Ask(w, req.iteration, req.iteration, 0, req.priority, now, ready_at);
  if (per_part_) {
    workers_[w].parts_landed = 0;
    workers_[w].next_part.reset();
    AskPart(w, req.part_index, req.priority, now);
  }
  return Poll(now);
}

WindowDesk::Grants WindowDesk::OnPartRequest(uint32_t w, const WindowRequestMsg& req,
                                             TimePoint now) {
  Worker& ws = workers_[w];
  const uint32_t k = req.part_index;
  const bool ready = req.priority != WindowRequestMsg::kNoneReady;
  // Asked before the worker saw its grant, or a repeat for a window served.
  if (k < ws.part || (k == ws.part && (!ws.part_open || ws.part_end))) return {};
  if (k == ws.part) {  // a more urgent tensor is ready while k waits: it goes in k's window
    if (ready) windows_->Request(w, now, req.priority);
    return Poll(now);
  }
  if (ws.part_open) {  // the window's writes end before k; k's window comes after it
    if (!ws.part_end) ws.part_end = k;
    if (ready && k == *ws.part_end) {
      if (!ws.next_part || ws.next_part->first != k) ws.next_part.emplace(k, req.priority);
      ws.next_part->second = std::min(ws.next_part->second, req.priority);
    }
    return MaybeEndPart(w, now) ? Poll(now) : Grants{};
  }
  if (ready) AskPart(w, k, req.priority, now);
  return Poll(now);
}

void WindowDesk::AskPart(uint32_t w, uint32_t part, uint32_t priority, TimePoint now) {
  Worker& ws = workers_[w];
  ws.part = part;
  ws.part_open = true;
  ws.part_granted = false;
  ws.part_end.reset();
  ws.asked_at = now;
  windows_->Request(w, now, priority);
}

bool WindowDesk::MaybeEndPart(uint32_t w, TimePoint now) {
  Worker& ws = workers_[w];
  if (!ws.part_open || !ws.part_end || ws.parts_landed < *ws.part_end) return false;
  // Every write of the window is in: it ends, and the link goes to whoever is most urgent.
  ws.part_open = false;
  windows_->Done(w, now);
  EndRow(w, "landed", now);
  if (ws.next_part) {
    const auto [part, priority] = *ws.next_part;
    ws.next_part.reset();
    AskPart(w, part, priority, now);
  }
  return true;
}

WindowDesk::Grants WindowDesk::OnCodedRequest(uint32_t w, uint64_t push, TimePoint now) {
  const uint64_t round = push / static_cast<uint64_t>(messages_);
  const uint32_t message = static_cast<uint32_t>(push % static_cast<uint64_t>(messages_));
  const Worker& ws = workers_[w];
  if (ws.asked) {
    if (ws.push == push) return {};  // asked twice: the first stands
    if (ws.iteration != round || ws.message >= message) {
      WarnOfPeer("worker " + std::to_string(w), "asked a window for round " +
                                                    std::to_string(round) + " message " +
                                                    std::to_string(message) + " after message " +
                                                    std::to_string(ws.message) + ", ignored");
      return {};
    }
    EndWindow(w, End::kAbandoned, now);
  }
  Ask(w, push, round, message, /*priority=*/0, now);  // a coded message has no layers
  return Poll(now);
}

void WindowDesk::Ask(uint32_t w, uint64_t push, uint64_t iteration, uint32_t message,
                     uint32_t priority, TimePoint now, TimePoint ready_at) {
  Worker& ws = workers_[w];
  ws.asked = true;
  ws.push_rows.clear();
  ws.push = push;
  ws.iteration = iteration;
  ws.message = message;
  ws.asked_at = now;
  windows_->Request(w, now, priority, ready_at);
}

WindowDesk::Grants WindowDesk::OnPosted(uint32_t w, const WindowPostedMsg& msg, TimePoint now) {
  const Worker& ws = workers_[w];
  const bool open = windows_ && ws.asked && ws.row && ws.granted_push == msg.iteration &&
                    (!per_part_ || (ws.part_granted && ws.part == msg.part_index));
  if (!open || !std::isnan(rows_[*ws.row].posted_s)) {
    ++stale_notices_;
    return {};
  }
  WindowRow& row = rows_[*ws.row];
  row.posted_s = Since(now);
  // The worker's word, bounded by what the server saw: at most the grant-to-notice time.
  const double held_s =
      std::min(static_cast<double>(msg.held_us) * 1e-6, row.posted_s - row.start_s);
  row.held_s = std::max(held_s, 0.0);
  windows_->Posted(w, now,
                   std::chrono::duration_cast<Duration>(std::chrono::duration<double>(row.held_s)));
  return Poll(now);
}

WindowDesk::Grants WindowDesk::OnPartLanded(uint32_t w, TimePoint now) {
  if (!windows_) return {};
  windows_->Progress(w, now);
  Worker& ws = workers_[w];
  if (!per_part_ || !ws.asked) return {};
  ++ws.parts_landed;
  if (!ws.part_open || !ws.part_granted) {
    ++unwindowed_writes_;
    WarnOfPeer("worker " + std::to_string(w), "wrote part " + std::to_string(ws.parts_landed - 1) +
                                                  " of iteration " + std::to_string(ws.iteration) +
                                                  " without a window for it");
  }
  return MaybeEndPart(w, now) ? Poll(now) : Grants{};
}

void WindowDesk::OnCodedPartLanded(uint32_t w, uint64_t push, uint32_t part, TimePoint now) {
  if (!windows_) return;
  // Every write of a message goes out inside a window granted for it (ps/gated_push.h); the
  // worker asks for its next one only after this one's writes are out, and they arrive
  // before that request, so the last grant must be this message's.
  if (workers_[w].granted_push != push) {
    ++unwindowed_writes_;
    WarnOfPeer("worker " + std::to_string(w),
               "wrote part " + std::to_string(part) + " of round " +
                   std::to_string(push / static_cast<uint64_t>(messages_)) +
                   " without a window for it");
  }
  windows_->Progress(w, now);
}

WindowDesk::Grants WindowDesk::OnPushLanded(uint32_t w, uint64_t iteration, TimePoint now) {
  Worker& ws = workers_[w];
  if (!ws.asked) ws.push_batch = 0;  // no request told its rows
  if (windows_ && !ws.asked) {
    ++unwindowed_;
    WarnOfPeer("worker " + std::to_string(w), "pushed iteration " + std::to_string(iteration) +
                                                  " without asking for a write window");
  }
  return EndWindow(w, End::kLanded, now) ? Poll(now) : Grants{};
}

bool WindowDesk::OnMessageLanded(uint32_t w, uint64_t push, TimePoint now) {
  return windows_ && workers_[w].asked && workers_[w].push == push &&
         EndWindow(w, End::kLanded, now);
}

WindowDesk::Grants WindowDesk::OnGone(uint32_t w, TimePoint now) {
  Grants grants = EndWindow(w, End::kRemoved, now) ? Poll(now) : Grants{};
  if (tuner_) tuner_->Remove(w);
  return grants;
}

WindowDesk::Grants WindowDesk::OnRoundClosed(Duration round, TimePoint now) {
  if (!windows_) return {};
  // A straggler's message is not needed any more; late requests for the closed round are
  // ignored (OnCodedRequest).
  for (uint32_t w = 0; w < job_.num_workers; ++w) EndWindow(w, End::kClosed, now);
  windows_->ObserveRound(round);  // round-robin's warm-up
  return Poll(now);
}

bool WindowDesk::EndWindow(uint32_t w, End how, TimePoint now) {
  Worker& ws = workers_[w];
  if (!windows_ || !ws.asked) return false;
  switch (how) {
    case End::kLanded:
      windows_->Done(w, now);
      for (size_t i : ws.push_rows) rows_[i].landed_s = Since(now);
      break;
    case End::kRemoved:
      windows_->Remove(w, now);
      break;
    case End::kClosed:
    case End::kAbandoned:
      windows_->Cancel(w, now);
      break;
  }
  EndRow(w, Name(how), now);
  ws.push_rows.clear();  // settled: nothing changes them any more
  ws.asked = false;
  ws.part_open = false;
  ws.part_end.reset();
  ws.next_part.reset();
  return true;
}

void WindowDesk::EndRow(uint32_t w, const char* how, TimePoint now) {
  Worker& ws = workers_[w];
  if (!ws.row) return;
  rows_[*ws.row].end_s = Since(now);
  rows_[*ws.row].end = how;
  ws.row.reset();
}

WindowDesk::Grants WindowDesk::Poll(TimePoint now) {
  if (!windows_) return {};
  due_.clear();
  windows_->Poll(now, &due_);
  for (uint32_t w = 0; w < job_.num_workers; ++w) {
    Worker& ws = workers_[w];
    if (!ws.row) continue;
    const bool regranted =
        std::any_of(due_.begin(), due_.end(), [&](const auto& g) { return g.worker == w; });
    if (windows_->holding(w) && !regranted) continue;
    // Revoked at its deadline, or (end of round-robin's warm-up) given a new deadline.
    WindowRow& row = rows_[*ws.row];
    // At or past its deadline it was revoked (possibly granted again at once); before it, the
    // new grant replaced its deadline.
    const double deadline = row.start_s + row.bound_s;
    row.end_s = std::min(Since(now), deadline);
    row.end = deadline <= Since(now) ? "revoked" : "replaced";
    ws.row.reset();
  }
  Grants grants;
  for (const auto& g : due_) {
    Worker& ws = workers_[g.worker];
    if (!ws.asked) continue;
    Grant grant{g.worker, {}};
    grant.msg.iteration = ws.push;
    grant.msg.part_index = per_part_ ? ws.part : 0;
    ws.part_granted = true;
    ws.granted_push = ws.push;
    const bool open_ended = g.deadline == sched::TimePoint::max();
    grant.msg.window_ns = open_ended ? WindowGrantMsg::kOpenEnded : (g.deadline - g.start).count();
    grant.msg.next_batch = NextBatch(g.worker);
    grants.push_back(grant);
    WindowRow row;
    row.worker = g.worker;
    row.iteration = ws.iteration;
    row.message = ws.message;
    row.part = per_part_ ? ws.part : 0;
    row.requested_s = Since(ws.asked_at);
    row.start_s = Since(g.start);
    row.ahead = g.ahead ? 1 : 0;
    row.bound_s = open_ended ? std::numeric_limits<double>::infinity()
                             : std::chrono::duration<double>(g.deadline - g.start).count();
    ws.row = rows_.size();
    ws.push_rows.push_back(rows_.size());
    rows_.push_back(row);
  }
  return grants;
}

size_t WindowDesk::settled_rows() const {
  size_t settled = rows_.size();
  for (const Worker& ws : workers_) {
    for (size_t i : ws.push_rows) settled = std::min(settled, i);
    if (ws.row) settled = std::min(settled, *ws.row);
  }
  return settled;
}

WindowDesk::Grants WindowDesk::PollIfDue(TimePoint now) {
  if (!windows_) return {};
  const auto next = windows_->NextEvent();
  return next && *next <= now ? Poll(now) : Grants{};
}

std::optional<TimePoint> WindowDesk::NextEvent() const {
  return windows_ ? windows_->NextEvent() : std::nullopt;
}

// --batch-tuning: the rows of worker w's next minibatch, for its grant; 0 (unchanged) while
// updates aggregate (R2SP's warm-up: equal batches there keep the plain mean right), on
// servers other than 0, or without tuning.
uint32_t WindowDesk::NextBatch(uint32_t w) {
  if (!tuner_ || rule_.aggregating()) return 0;
  if (!tuning_logged_ && tuner_->tuned()) {
    tuning_logged_ = true;
    std::string batches;
    for (uint32_t i = 0; i < job_.num_workers; ++i) {
      batches += (i ? " " : "") + std::to_string(tuner_->BatchFor(i));
    }
    GW_INFO("batch tuning: workers' batches " << batches << " (measured speeds)");
  }
  return tuner_->BatchFor(w);
}

uint64_t WindowDesk::RowsOf(uint32_t w) const {
  const uint32_t reported = workers_[w].push_batch;
  return job_.batch_tuning && reported != 0 ? reported : job_.workload.batch_size;
}

std::vector<uint64_t> WindowDesk::Rows() const {
  std::vector<uint64_t> rows(job_.num_workers);
  for (uint32_t w = 0; w < job_.num_workers; ++w) rows[w] = RowsOf(w);
  return rows;
}

}  // namespace gw
