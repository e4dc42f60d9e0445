#include "ps/server/core.h"

#include <optional>
#include <utility>

#include "base/descriptors.h"
#include "base/error.h"
#include "base/huge_pages.h"
#include "base/log.h"
#include "base/rate_limited_log.h"
#include "ps/messages.h"
#include "ps/results.h"
#include "ps/roles.h"

namespace gw {
namespace {

const std::vector<RoundRow> kNoRounds;  // an uncoded job's rounds log

}  // namespace

ServerCore::ServerCore(const JobConfig& job, const ServerOptions& opt)
    : job_(job),
      opt_(opt),
      t0_(GetClock().Now()),
      shape_(MakeWorkload(job.workload, 0, job.num_workers, /*load_data=*/false)),
      layout_(job.Layout(*shape_)),
      rule_(job.sync, job.num_workers, job.windows ? job.windows->warmup : 0),
      desk_(job_, opt.rank, rule_, t0_),
      workers_(job.num_workers),
      held_(job.num_workers),
      pending_(job.num_workers),
      report_(opt.out_dir, opt.rank) {
  if (opt.rank >= job.num_servers) {
    throw Error("server rank " + std::to_string(opt.rank) + " out of range: the job has " +
                std::to_string(job.num_servers) + " server(s)");
  }
  const size_t begin = layout_.shard_begin(opt.rank);
  const size_t size = layout_.shard_size(opt.rank);
  std::vector<float> full = HugeZeroedFloats(layout_.num_params());
  shape_->InitParams(full);
  std::vector<float> params = HugeZeroedFloats(size);
  std::copy(full.begin() + begin, full.begin() + begin + size, params.begin());
  checkpointer_ = std::make_unique<Checkpointer>(job_, opt_, layout_);
  const std::optional<Checkpoint> resumed = checkpointer_->Resume();

  DeviceOptions dopt = opt.device;
  dopt.self = {Role::kServer, opt.rank};
  // Its workers and nobody else: a peer claiming a server (this one, whose parameters are
  // registered for itself) or a rank the job lacks is refused in the handshake, before any
  // region is reachable.
  dopt.roles = PsRoles().AcceptingOnly(Role::kWorker, job.num_workers);
  EnsureDescriptors(job.num_workers + kSpareDescriptors, "server " + std::to_string(opt.rank));
  dev_ = CreateDevice(opt.listen.transport, dopt);
  if (job.coding) {
    coded_ = std::make_unique<CodedDriver>(job_, layout_.num_params(), std::move(params), *dev_,
                                           dopt.self, workers_, desk_, held_);
  } else {
    sync_ = std::make_unique<SyncDriver>(job_, opt.rank, layout_, std::move(params), resumed, *dev_,
                                         dopt.self, rule_, workers_, desk_, held_, *checkpointer_);
  }
  report_.Open(job.coding.has_value(), desk_.enabled());
  dev_->Listen(opt.listen);
  GW_INFO("listening on " << opt.listen.ToString() << " (port " << dev_->bound_port()
                          << "), shard [" << begin << ", " << begin + size << ") in "
                          << layout_.parts(opt.rank).size() << " part(s); " << job.Describe());
  if (opt.on_listening) opt.on_listening(dev_->bound_port());
}

void ServerCore::Run() {
  last_progress_ = GetClock().Now();
  while (!workers_.Finished() || !held_.empty()) {
    if (held_.empty()) {
      if (pending_.empty()) Fetch(FetchTimeout());
      if (!pending_.empty()) Handle(pending_.Pop());
    }
    if (!held_.empty()) {
      DriveHeld();
      if (!held_.empty()) continue;
    }
    const TimePoint now = GetClock().Now();
    workers_.Send(desk_.PollIfDue(now));
    HandleRejected();
    CheckProgress();
    if (report_.Due(now)) {
      report_.Stream(coded_ ? coded_->rounds().log() : kNoRounds, desk_.log(), desk_.settled_rows(),
                     now);
    }
  }
  checkpointer_->Finish();
  WriteResults(/*partial=*/false);
  dev_->Shutdown();
}

void ServerCore::WriteResults(bool partial) {
  ServerSummary summary = coded_ ? coded_->Tally() : sync_->Tally();
  const TimePoint now = GetClock().Now();
  summary.partial = partial;
  summary.wall_s = std::chrono::duration<double>(now - t0_).count();
  summary.startup_s = std::chrono::duration<double>(all_joined_at_.value_or(now) - t0_).count();
  summary.unwindowed_writes = desk_.unwindowed_writes();
  summary.stale_window_notices = desk_.stale_notices();
  summary.workers_lost = lost_;
  summary.resumed_from = checkpointer_->resumed_from();
  summary.checkpoints = checkpointer_->written();
  if (!partial) {
    GW_INFO("done: " << summary.updates << " updates in " << summary.wall_s << " s, "
                     << summary.dropped_writes << " late or duplicate writes dropped, " << lost_
                     << " worker(s) lost");
  }
  report_.Finish(coded_ ? coded_->rounds().log() : kNoRounds, desk_.log(), summary);
}

void ServerCore::Handle(const Completion& c) {
  // The device admits this job's workers only (the constructor's AcceptingOnly): nothing else
  // can complete; the check keeps workers_[rank] in bounds whatever a backend delivers.
  if (c.peer.role != Role::kWorker || c.peer.rank >= job_.num_workers) return;
  WorkerState& ws = workers_[c.peer.rank];
  switch (c.kind) {
    case CompletionKind::kPeerConnected:
      return;  // it introduces itself with a join message
    case CompletionKind::kControl:
      return OnControl(c.peer.rank, ws, c);
    case CompletionKind::kWriteLanded:
      return OnLanded(c.peer.rank, ws, c);
    case CompletionKind::kWriteDone:
      return;  // counted off as it was fetched (HeldSteps::TakeIfWriteDone)
    case CompletionKind::kPeerClosed:
      if (ws.done || ws.lost) return;
      if (!ws.joined) {
        // Refused, or gave up before joining: the join deadline still waits for a good one.
        GW_WARN("worker " << c.peer.rank << " disconnected before joining: " << c.error);
        return;
      }
      return Lose(c.peer.rank, "connection closed: " + c.error);
  }
}

void ServerCore::OnControl(uint32_t w, WorkerState& ws, const Completion& c) {
  switch (static_cast<MsgType>(c.control_type)) {
    case MsgType::kJoin:
      return OnJoin(w, ws, c);
    case MsgType::kDone:
      return OnDone(w, ws);
    case MsgType::kSkipped: {
      const auto msg = Decode<RoundMsg>(c.payload);
      if (!coded_ || !msg || !ws.joined || !coded_->OnSkipped(w, msg->round)) {
        WarnOfPeer("worker " + std::to_string(w), "an unexpected skipped message, ignored");
      }
      return;
    }
    case MsgType::kWindowRequest:
      return OnWindowRequest(w, ws, c);
    case MsgType::kWindowPosted: {
      const auto msg = Decode<WindowPostedMsg>(c.payload);
      if (!msg || !ws.live() || !desk_.enabled()) {
        WarnOfPeer("worker " + std::to_string(w), "an unexpected window notice, ignored");
        return;
      }
      return workers_.Send(desk_.OnPosted(w, *msg, GetClock().Now()));
    }
    default:
      WarnOfPeer("worker " + std::to_string(w),
                 "unknown control message " + std::to_string(c.control_type) + ", ignored");
      return;
  }
}

void ServerCore::OnDone(uint32_t w, WorkerState& ws) {
  if (!ws.live()) {
    WarnOfPeer("worker " + std::to_string(w),
               "a done message before joining or after leaving, ignored");
    return;
  }
  // A worker leaves only once it did every iteration (coded: once the last round was
  // written); one that says done before is lost, as if it had vanished, and says so: the
  // job must not end "0 workers lost" with a worker's share never computed.
  if (coded_ ? !coded_->rounds().finishing() : rule_.clock(w) < job_.iterations) {
    return Lose(w, coded_ ? std::string("said done before the last round")
                          : "said done after " + std::to_string(rule_.clock(w)) + " of " +
                                std::to_string(job_.iterations) + " iterations");
  }
  ws.done = true;
  last_progress_ = GetClock().Now();
  workers_.Send(desk_.OnGone(w, last_progress_));
  if (coded_) return coded_->rounds().OnGone(w, /*lost=*/false);
  Apply(sync_->OnWorkerGone(w));
}

void ServerCore::OnJoin(uint32_t w, WorkerState& ws, const Completion& c) {
  auto conn = dev_->Find(c.peer);
  if (!conn) return;
  const size_t input_floats =
      coded_ ? coded_->rounds().input_floats() : layout_.shard_size(opt_.rank);
  if (auto why = workers_.Join(w, Decode<JoinMsg>(c.payload), job_, input_floats, conn)) {
    return Refuse(conn, *why);
  }
  WelcomeMsg welcome;
  welcome.slot = ws.slot->Describe();
  welcome.shard_begin = layout_.shard_begin(opt_.rank);
  welcome.shard_size = layout_.shard_size(opt_.rank);
  welcome.resume_iteration = coded_ ? 0 : rule_.clock(w);
  conn->Send(static_cast<uint16_t>(MsgType::kWelcome), Encode(welcome));
  last_progress_ = GetClock().Now();
  GW_INFO("worker " << w << " joined (" << workers_.joined() << "/" << job_.num_workers << ")");
  StartIfAllJoined();
}

void ServerCore::StartIfAllJoined() {
  if (all_joined_at_ || !workers_.all_joined()) return;
  all_joined_at_ = GetClock().Now();
  if (coded_) {
    if (auto failure = coded_->Start()) Fail(*failure);
    return;
  }
  for (uint32_t i = 0; i < job_.num_workers; ++i) {
    if (auto release = sync_->ReleaseStep(i)) WhenSettled(std::move(*release));
  }
}

void ServerCore::OnWindowRequest(uint32_t w, const WorkerState& ws, const Completion& c) {
  const auto req = Decode<WindowRequestMsg>(c.payload);
  const bool live = ws.live();
  if (coded_ && desk_.enabled() && req && live) return coded_->OnWindowRequest(w, *req);
  if (!req || !live || !desk_.Expects(w, *req)) {
    WarnOfPeer("worker " + std::to_string(w), "an unexpected window request, ignored");
    return;
  }
  workers_.Send(desk_.OnRequest(w, *req, GetClock().Now()));
}

void ServerCore::Refuse(const std::shared_ptr<Connection>& conn, const std::string& why) {
  WarnOfPeer(PsRoles().Name(conn->peer()), "refused: " + why);
  conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText(why));
  conn->Close();
}

void ServerCore::OnLanded(uint32_t w, const WorkerState& ws, const Completion& c) {
  if (!ws.live() || c.region != ws.slot->id()) return;
  if (sync_) {
    auto steps = sync_->OnLanded(w, c);
    if (!steps.empty()) last_progress_ = GetClock().Now();
    for (auto& step : steps) WhenSettled(std::move(step));
    return;
  }
  auto landed = coded_->OnLanded(w, c);
  if (landed.progress) last_progress_ = *landed.progress;
  if (landed.failure) Fail(*landed.failure);
  if (landed.close) WhenSettled(std::move(*landed.close));
}

}  // namespace gw
