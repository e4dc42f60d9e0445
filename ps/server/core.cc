#include "ps/server/core.h"

#include <algorithm>
#include <utility>

#include "base/error.h"
#include "base/log.h"
#include "ps/coded_shape.h"
#include "ps/imm.h"
#include "ps/messages.h"
#include "ps/results.h"

namespace gw {

ServerCore::ServerCore(const JobConfig& job, const ServerOptions& opt)
    : job_(job),
      opt_(opt),
      t0_(GetClock().Now()),
      shape_(MakeWorkload(job.workload, 0, job.num_workers, /*load_data=*/false)),
      layout_(shape_->num_params(), job.PartFloats(shape_->num_params()), job.num_servers),
      rule_(job.sync, job.num_workers, job.windows ? job.windows->warmup : 0),
      desk_(job_, opt.rank, rule_, t0_),
      workers_(job.num_workers),
      held_(job.num_workers) {
  if (opt.rank >= job.num_servers) {
    throw Error("server rank " + std::to_string(opt.rank) + " out of range: the job has " +
                std::to_string(job.num_servers) + " server(s)");
  }
  const size_t begin = layout_.shard_begin(opt.rank);
  const size_t size = layout_.shard_size(opt.rank);
  std::vector<float> full(layout_.num_params());
  shape_->InitParams(full);
  std::vector<float> params(full.begin() + begin, full.begin() + begin + size);
  checkpointer_ = std::make_unique<Checkpointer>(job_, opt_, layout_);
  const std::optional<Checkpoint> resumed = checkpointer_->Resume();

  DeviceOptions dopt = opt.device;
  dopt.self = {Role::kServer, opt.rank};
  dev_ = CreateDevice(opt.listen.transport, dopt);
  size_t slot_floats = size;
  if (job.coding) {
    coded_ = std::make_unique<CodedRounds>(job_, CodedShape::Make(job_, layout_.num_params()),
                                           std::move(params));
    dev_->RegisterMemory(std::as_writable_bytes(coded_->params()), dopt.self);
    if (!coded_->residual().empty()) {
      dev_->RegisterMemory(std::as_writable_bytes(coded_->residual()), dopt.self);
    }
    slot_floats = coded_->slot_floats();
  } else {
    sync_ = std::make_unique<SyncPath>(job_, std::move(params),
                                       static_cast<uint32_t>(layout_.parts(opt.rank).size()));
    if (resumed) {
      sync_->Restore(*resumed);
      rule_.ResumeBspAt(resumed->iteration);
    }
    dev_->RegisterMemory(std::as_writable_bytes(sync_->params()), dopt.self);
    if (SyncPath::SendsFromSnapshots(job_)) {
      for (uint32_t w = 0; w < job.num_workers; ++w) {
        dev_->RegisterMemory(std::as_writable_bytes(sync_->snapshot(w)), dopt.self);
      }
    }
  }
  std::vector<std::span<const float>> slots;
  for (uint32_t w = 0; w < job.num_workers; ++w) {
    workers_[w].slot = &dev_->RegisterRegion(slot_floats * sizeof(float), {Role::kWorker, w});
    slots.push_back(workers_[w].slot->as<const float>());
  }
  if (coded_) {
    coded_->SetSlots(std::move(slots));
  } else {
    sync_->SetSlots(std::move(slots));
  }
  dev_->Listen(opt.listen);
  GW_INFO("listening on " << opt.listen.ToString() << " (port " << dev_->bound_port()
                          << "), shard [" << begin << ", " << begin + size << ") in "
                          << layout_.parts(opt.rank).size() << " part(s); " << job.Describe());
  if (opt.on_listening) opt.on_listening(dev_->bound_port());
}

void ServerCore::Run() {
  const auto t0 = GetClock().Now();
  last_progress_ = t0;
  while (!workers_.Finished() || !held_.empty()) {
    if (held_.empty()) {
      if (pending_.empty()) Fetch(FetchTimeout());
      if (!pending_.empty()) {
        const Completion c = std::move(pending_.front());
        pending_.pop_front();
        Handle(c);
      }
    }
    if (!held_.empty()) {
      DriveHeld();
      if (!held_.empty()) continue;
    }
    Send(desk_.PollIfDue(GetClock().Now()));
    CheckProgress();
  }
  checkpointer_->Finish();
  const double wall = GetClock().SecondsSince(t0);
  GW_INFO("done: " << updates() << " updates in " << wall << " s, " << dropped_
                   << " late or duplicate writes dropped, " << lost_ << " worker(s) lost");
  if (!opt_.out_dir.empty()) WriteSummary(wall);
  dev_->Shutdown();
}

void ServerCore::WriteSummary(double wall_s) {
  // A resumed server appends its row (resumed_from: the checkpoint's iteration, -1 for a
  // fresh start) after the one of the run before it, if that run got to write one.
  const auto resumed_from = checkpointer_->resumed_from();
  AppendSummaryCsv(opt_.out_dir + "/server-" + std::to_string(opt_.rank) + ".csv",
                   {{"server", std::to_string(opt_.rank)},
                    {"updates", std::to_string(updates())},
                    {"pushes_received", std::to_string(pushes_received_)},
                    {"gradients_applied", std::to_string(sync_ ? sync_->gradients_applied() : 0)},
                    {"rows_applied", std::to_string(sync_ ? sync_->rows_applied() : 0)},
                    {"dropped_writes", std::to_string(dropped_)},
                    {"late_messages", std::to_string(coded_ ? coded_->late() : 0)},
                    {"unwindowed_writes", std::to_string(desk_.unwindowed_writes())},
                    {"workers_lost", std::to_string(lost_)},
                    {"gradient_bytes_received", std::to_string(bytes_in_)},
                    {"wall_s", std::to_string(wall_s)},
                    {"resumed_from", resumed_from ? std::to_string(*resumed_from) : "-1"},
                    {"checkpoints", std::to_string(checkpointer_->written())}});
  if (coded_) WriteRoundCsv(opt_.out_dir + "/rounds.csv", coded_->log());
  if (desk_.enabled()) WriteWindowCsv(opt_.out_dir + "/windows.csv", desk_.log());
}

void ServerCore::Handle(const Completion& c) {
  if (c.peer.role != Role::kWorker || c.peer.rank >= job_.num_workers) {
    if (c.kind == CompletionKind::kPeerConnected) {
      GW_WARN("refusing " << ToString(c.peer) << ": this job has workers 0.."
                          << job_.num_workers - 1 << " only");
      if (auto conn = dev_->Find(c.peer)) conn->Abort("not a worker of this job");
    }
    return;
  }
  WorkerState& ws = workers_[c.peer.rank];
  switch (c.kind) {
    case CompletionKind::kPeerConnected:
      return;  // it introduces itself with a join message
    case CompletionKind::kControl:
      return OnControl(c.peer.rank, ws, c);
    case CompletionKind::kWriteLanded:
      return OnLanded(c.peer.rank, ws, c);
    case CompletionKind::kWriteDone:
      return held_.Completed(c.peer.rank);
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
      ws.done = true;
      last_progress_ = GetClock().Now();
      Send(desk_.OnGone(w, last_progress_));
      if (coded_) return coded_->OnGone(w, /*lost=*/false);
      return Apply(rule_.OnWorkerGone(w));
    case MsgType::kSkipped: {
      const auto msg = Decode<RoundMsg>(c.payload);
      if (!coded_ || !msg || !ws.joined || !coded_->OnSkipped(w, msg->round)) {
        GW_WARN("worker " << w << " sent an unexpected skipped message; ignored");
        return;
      }
      return Feed(w);
    }
    case MsgType::kWindowRequest:
      return OnWindowRequest(w, ws, c);
    default:
      GW_WARN("worker " << w << " sent unknown control message " << c.control_type);
      return;
  }
}

void ServerCore::OnJoin(uint32_t w, WorkerState& ws, const Completion& c) {
  auto conn = dev_->Find(c.peer);
  if (!conn) return;
  const size_t input_floats = coded_ ? coded_->input_floats() : layout_.shard_size(opt_.rank);
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
  if (!workers_.all_joined()) return;
  if (coded_) return StartRounds();
  for (uint32_t i = 0; i < job_.num_workers; ++i) {
    if (!workers_[i].lost) Release(i);
  }
}

void ServerCore::OnWindowRequest(uint32_t w, const WorkerState& ws, const Completion& c) {
  const auto req = Decode<WindowRequestMsg>(c.payload);
  const bool live = ws.joined && !ws.done && !ws.lost;
  if (coded_ && desk_.enabled() && req && live) {
    // A coded message is ready: push = round · messages + message. Only a request for the
    // round that is open and that the worker is working on counts; one for a round that
    // closed (it crossed our closed message, a straggler's) or that we do not know is
    // ignored, so it holds no turn.
    const uint64_t messages = static_cast<uint64_t>(coded_->messages());
    const uint64_t round = req->iteration / messages;
    if (!coded_->TakesRequest(w, round)) {
      GW_DEBUG("worker " << w << " asked a window for round " << round << " message "
                         << req->iteration % messages << " (open round: " << coded_->round()
                         << "); ignored");
      return;
    }
    return Send(desk_.OnCodedRequest(w, req->iteration, GetClock().Now()));
  }
  if (!req || !live || !desk_.Expects(w, *req)) {
    GW_WARN("worker " << w << " sent an unexpected window request; ignored");
    return;
  }
  Send(desk_.OnRequest(w, *req, GetClock().Now()));
}

void ServerCore::Send(const WindowDesk::Grants& grants) {
  for (const auto& g : grants) {
    const auto& conn = workers_[g.worker].conn;
    if (conn) conn->Send(static_cast<uint16_t>(MsgType::kWindowGrant), Encode(g.msg));
  }
}

void ServerCore::Refuse(const std::shared_ptr<Connection>& conn, const std::string& why) {
  GW_WARN("refusing " << ToString(conn->peer()) << ": " << why);
  conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText(why));
  conn->Close();
}

void ServerCore::OnLanded(uint32_t w, WorkerState& ws, const Completion& c) {
  if (!ws.joined || ws.done || ws.lost || c.region != ws.slot->id()) return;
  if (coded_) return OnCodedLanded(w, c);
  const uint64_t expected = rule_.clock(w);
  const Imm imm = Imm::Decode(c.imm);
  const auto landing = sync_->OnLanded(w, imm, expected);
  if (landing == SyncPath::Landing::kDropped) {
    if (dropped_++ < 10) {
      GW_WARN("dropping a late or duplicate write from worker "
              << w << " (iteration tag " << imm.iteration_tag << ", part " << imm.part
              << "; expected iteration " << expected << ")");
    }
    return;
  }
  bytes_in_ += c.length;
  desk_.OnPartLanded(w, GetClock().Now());
  if (landing == SyncPath::Landing::kPartial) return;
  ++pushes_received_;
  // The link is free: the next window is granted before this update is applied.
  Send(desk_.OnPushLanded(w, expected, GetClock().Now()));
  bool accepted = false;
  const auto decision = rule_.OnArrival(w, expected, &accepted);
  if (!accepted) {
    ++dropped_;
    return;
  }
  last_progress_ = GetClock().Now();
  Apply(decision);
}

void ServerCore::OnCodedLanded(uint32_t w, const Completion& c) {
  const Imm imm = Imm::Decode(c.imm);
  uint64_t push = 0;
  const auto landing = coded_->OnLanded(w, imm, &push);
  if (landing == CodedRounds::Landing::kDropped) {
    if (dropped_++ < 10) {
      GW_WARN("dropping an unexpected write from worker "
              << w << " (round tag " << imm.iteration_tag << ", part " << imm.part << ")");
    }
    return;
  }
  bytes_in_ += c.length;
  const auto now = GetClock().Now();
  desk_.OnCodedPartLanded(w, push, imm.part, now);
  if (landing == CodedRounds::Landing::kPartial) return;
  // The link is free: the next window goes out once the round's fate is known (a grant for
  // a round about to close would waste the link).
  const bool ended_window = desk_.OnMessageLanded(w, push, now);
  if (landing == CodedRounds::Landing::kRoundComplete) {
    last_progress_ = now;
    // The model and residual are the sources of input writes still in flight.
    HeldSteps::Step step;
    step.kind = HeldSteps::Step::Kind::kCloseRound;
    step.since = now;
    step.writes = true;
    return WhenSettled(std::move(step));
  }
  if (landing == CodedRounds::Landing::kArrived) last_progress_ = now;
  if (ended_window) Send(desk_.Poll(GetClock().Now()));
}

}  // namespace gw
