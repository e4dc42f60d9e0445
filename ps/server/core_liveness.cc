// ServerCore: losing workers (a closed connection, silence, parameters not taken), the
// progress check that finds them, and ending the job when it cannot go on.
#include "base/error.h"
#include "base/log.h"
#include "base/rate_limited_log.h"
#include "ps/messages.h"
#include "ps/server/core.h"

namespace gw {

void ServerCore::Lose(uint32_t w, const std::string& why) {
  WorkerState& ws = workers_[w];
  if (ws.lost || ws.done) return;
  ws.lost = true;
  held_.Forget(w);
  ++lost_;
  workers_.Send(desk_.OnGone(w, GetClock().Now()));
  workers_.NeverJoins(w);  // if it never joined: do not wait for it
  const std::string what = "worker " + std::to_string(w) + " lost at " +
                           (coded_ ? "round " + std::to_string(coded_->rounds().round())
                                   : "iteration " + std::to_string(rule_.clock(w))) +
                           ": " + why;
  if (coded_) {
    CodedRounds& rounds = coded_->rounds();
    rounds.OnGone(w, /*lost=*/true);
    if (!rounds.CanGoOn()) {
      Fail(what + "; " + rounds.spec() +
           " cannot finish the round without it (too many workers lost for this code)");
    }
    GW_WARN(what << "; the code goes on without it");
    return;
  }
  if (!MayGoOnWithoutLost()) {
    Fail(what +
         "; under BSP the job cannot go on without it (or pass "
         "--continue-without-lost-workers)");
  }
  if (rule_.num_live() <= 1 && !workers_.AnyDone()) {
    // Nobody left to finish the iterations: ending "done" would pass off a model the job never
    // finished (or one that every worker's gradients turned away from) as its result.
    Fail(what + "; no worker is left to finish the job");
  }
  GW_WARN(what << "; going on with " << rule_.num_live() - 1 << " worker(s)");
  Apply(sync_->OnWorkerGone(w));
}

void ServerCore::CheckProgress() {
  // Until every worker joined (or was given up), the silence that counts is the wait for the
  // next join.
  const bool started = workers_.all_joined();
  const std::chrono::milliseconds limit = started ? job_.timeout : job_.StartupTimeout();
  if (workers_.Finished() || GetClock().Now() - last_progress_ < limit) return;
  if (coded_ && coded_->rounds().finishing()) {
    // The model is final: a worker that does not take it in time costs nothing but itself.
    for (uint32_t w = 0; w < job_.num_workers; ++w) {
      if (!workers_[w].done && !workers_[w].lost) {
        if (workers_[w].conn) workers_[w].conn->Abort("did not finish");
        Lose(w, "did not take the final model within " + Seconds(job_.timeout));
      }
    }
    return;
  }
  // A rule that can go on without a worker loses the ones holding it back (a stalled process,
  // a cut link: alive to TCP, silent to us) instead of ending the job.
  if (!coded_ && MayGoOnWithoutLost()) {
    const uint64_t laggard = rule_.min_live_clock();
    for (uint32_t w = 0; w < job_.num_workers; ++w) {
      WorkerState& ws = workers_[w];
      // Before the start, the joined are waiting for the others, not holding them back.
      if (ws.done || ws.lost || (ws.joined && (!started || rule_.clock(w) != laggard))) continue;
      if (ws.conn) ws.conn->Abort("silent for " + Seconds(limit));
      Lose(w, ws.joined ? "silent for " + Seconds(limit) + " (stalled, or its link is down)"
                        : "never joined within " + Seconds(limit) + " (--join-timeout)");
    }
    last_progress_ = GetClock().Now();
    StartIfAllJoined();  // the ones that joined go on without those that never did
    return;
  }
  // Coded rounds keep no sync-rule clocks: once they started, the rounds name who is behind.
  const std::string laggards =
      coded_ && workers_.all_joined() ? coded_->rounds().Laggards() : workers_.Laggards(rule_);
  Fail("no progress for " + Seconds(limit) + ":" + laggards +
       (started ? " (alive but silent: stalled? raise --timeout if it is just slow)"
                : " (still starting? raise --join-timeout if start-up is just slow)"));
}

void ServerCore::HandleRejected() {
  if (!sync_) return;  // coded rounds decode what they get: not checked yet
  for (const SyncPath::Rejected& r : sync_->path().TakeRejected()) {
    const char* what =
        r.why == SyncPath::Why::kNonFinite
            ? "a gradient holding NaN, Inf or values large enough to overflow the sum"
            : "a gradient written over by a late, duplicate or misplaced write";
    WarnOfPeer("worker " + std::to_string(r.worker),
               std::string(what) + ", dropped (" + std::to_string(r.in_a_row) + " in a row)");
    if (opt_.lose_after_rejected > 0 && r.in_a_row >= opt_.lose_after_rejected) {
      Lose(r.worker,
           "sent " + std::to_string(r.in_a_row) + " dropped gradients in a row, the last " + what);
    }
  }
}

void ServerCore::Fail(const std::string& why) {
  GW_ERROR(why);
  workers_.AbortAll(why);
  dev_->Shutdown();  // orderly: the abort messages go out first
  try {
    WriteResults(/*partial=*/true);  // what the job did up to here
  } catch (const Error& e) {
    GW_ERROR(e.what());  // the failure that ended the job is the one to throw
  }
  throw Error(why);
}

std::string ServerCore::Seconds(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

}  // namespace gw
