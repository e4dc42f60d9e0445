#include "ps/server.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "base/error.h"
#include "ps/imm.h"
#include "base/log.h"
#include "ps/aggregate.h"
#include "ps/checkpoint.h"
#include "ps/coded_decoder.h"
#include "ps/coded_shape.h"
#include "ps/layout.h"
#include "ps/messages.h"
#include "ps/results.h"
#include "sched/batch_tuner.h"
#include "sched/window_scheduler.h"

namespace gw {
namespace {

using Clock = std::chrono::steady_clock;

class Server {
 public:
  Server(const JobConfig& job, const ServerOptions& opt)
      : job_(job),
        opt_(opt),
        shape_(MakeWorkload(job.workload, 0, job.num_workers, /*load_data=*/false)),
        layout_(shape_->num_params(), job.PartFloats(shape_->num_params()), job.num_servers),
        rule_(job.sync, job.num_workers, job.windows ? job.windows->warmup : 0),
        workers_(job.num_workers),
        t0_(Clock::now()) {
    if (job.windows) {
      // Coded rounds start every worker at once: turns first come, first served, back to back.
      windows_.emplace(*job.windows, job.num_workers,
                       job.coding ? sched::WindowScheduler::Pacing::kRounds
                                  : sched::WindowScheduler::Pacing::kIterations);
    }
    // Server 0 sizes the batches; every server weights gradients by the rows they report.
    if (job.batch_tuning && opt.rank == 0) {
      tuner_.emplace(job.num_workers, static_cast<uint32_t>(job.workload.batch_size));
    }
    if (opt.rank >= job.num_servers) {
      throw Error("server rank " + std::to_string(opt.rank) + " out of range: the job has " +
                  std::to_string(job.num_servers) + " server(s)");
    }
    const size_t begin = layout_.shard_begin(opt.rank);
    const size_t size = layout_.shard_size(opt.rank);
    std::vector<float> full(layout_.num_params());
    shape_->InitParams(full);
    params_.assign(full.begin() + begin, full.begin() + begin + size);
    agg_.resize(size);
    optimizer_ = std::make_unique<SgdMomentum>(job.optimizer, size);
    SetUpCheckpoints();

    DeviceOptions dopt = opt.device;
    dopt.self = {Role::kServer, opt.rank};
    dev_ = CreateDevice(opt.listen.transport, dopt);
    dev_->RegisterMemory(std::as_writable_bytes(std::span(params_)), dopt.self);
    if (SendsFromSnapshots()) {
      // One registered copy per worker, made up front: the memory limit is checked at start.
      for (auto& ws : workers_) {
        ws.snapshot.assign(size, 0.0f);
        dev_->RegisterMemory(std::as_writable_bytes(std::span(ws.snapshot)), dopt.self);
      }
    }
    size_t slot_floats = size;
    if (job.coding) {
      shape_coded_ = CodedShape::Make(job, layout_.num_params());
      decoder_ = std::make_unique<CodedDecoder>(job, *shape_coded_);
      tracker_.emplace(shape_coded_->spec, shape_coded_->n);
      slot_floats =
          static_cast<size_t>(shape_coded_->spec.Messages()) * shape_coded_->max_message_floats();
      if (shape_coded_->mds) {
        ax_.resize(shape_coded_->m);
        residual_.resize(shape_coded_->m);
        dev_->RegisterMemory(std::as_writable_bytes(std::span(residual_)), dopt.self);
      }
      grad_.resize(layout_.num_params());
    }
    for (uint32_t w = 0; w < job.num_workers; ++w) {
      workers_[w].slot = &dev_->RegisterRegion(slot_floats * sizeof(float), {Role::kWorker, w});
    }
    dev_->Listen(opt.listen);
    GW_INFO("listening on " << opt.listen.ToString() << " (port " << dev_->bound_port()
                            << "), shard [" << begin << ", " << begin + size << ") in "
                            << layout_.parts(opt.rank).size() << " part(s); " << job.Describe());
    if (opt.on_listening) opt.on_listening(dev_->bound_port());
  }

  void Run() {
    const auto t0 = Clock::now();
    last_progress_ = t0;
    while (!Finished()) {
      if (pending_.empty()) Fetch(FetchTimeout());
      if (!pending_.empty()) {
        const Completion c = std::move(pending_.front());
        pending_.pop_front();
        Handle(c);
      }
      PollWindowsIfDue();
      CheckProgress();
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    GW_INFO("done: " << optimizer_->steps() << " updates in " << wall << " s, " << dropped_
                     << " late or duplicate writes dropped, " << lost_ << " worker(s) lost");
    if (!opt_.out_dir.empty()) {
      // A resumed server appends its row (resumed_from: the checkpoint's iteration, -1 for a
      // fresh start) after the one of the run before it, if that run got to write one.
      AppendSummaryCsv(opt_.out_dir + "/server-" + std::to_string(opt_.rank) + ".csv",
                       {{"server", std::to_string(opt_.rank)},
                        {"updates", std::to_string(optimizer_->steps())},
                        {"pushes_received", std::to_string(pushes_received_)},
                        {"gradients_applied", std::to_string(gradients_applied_)},
                        {"rows_applied", std::to_string(rows_applied_)},
                        {"dropped_writes", std::to_string(dropped_)},
                        {"late_messages", std::to_string(late_)},
                        {"unwindowed_writes", std::to_string(unwindowed_writes_)},
                        {"workers_lost", std::to_string(lost_)},
                        {"gradient_bytes_received", std::to_string(bytes_in_)},
                        {"wall_s", std::to_string(wall)},
                        {"resumed_from", resumed_from_ ? std::to_string(*resumed_from_) : "-1"},
                        {"checkpoints", std::to_string(checkpoints_)}});
      if (job_.coding) WriteRoundCsv(opt_.out_dir + "/rounds.csv", rounds_);
      if (windows_) WriteWindowCsv(opt_.out_dir + "/windows.csv", window_rows_);
    }
    dev_->Shutdown();
  }

 private:
  struct WorkerState {
    bool joined = false;
    bool done = false;
    bool lost = false;
    RemoteRegion params;  // the worker's memory for our shard
    Region* slot = nullptr;
    uint32_t parts_landed = 0;  // of the iteration being received
    uint32_t writes_in_flight = 0;
    // The parameters last released to this worker, the source of its writes (SendsFromSnapshots).
    std::vector<float> snapshot;
    std::shared_ptr<Connection> conn;
    // Coded jobs: the round whose input the worker last got, whether it is idle (sent all its
    // messages or stopped: its input may be written), whether it was told the round closed.
    uint64_t fed_round = 0;
    bool idle = false;
    bool closed_sent = false;
    std::vector<uint32_t> parts_landed_per_message;
    int messages_landed = 0;
    // Write windows: the push it asked a window for (one at a time), and the open window's
    // row in window_rows_. The push's id is what requests and grants carry: the iteration,
    // or for coded jobs round · messages + message (window_iteration is then the round).
    bool window_asked = false;
    uint64_t window_push = 0;
    uint64_t window_iteration = 0;
    uint32_t window_message = 0;
    std::optional<uint64_t> granted_push;  // coded: the last push granted a window
    Clock::time_point window_asked_at;
    std::optional<size_t> window_row;
    std::vector<size_t> push_rows;  // every window row of the push asked for
    // --batch-tuning: the rows behind the push being received (from its window request).
    uint32_t push_batch = 0;
  };

  bool Finished() const {
    if (joined_ < job_.num_workers) return false;
    for (const auto& w : workers_) {
      if (!w.done && !w.lost) return false;
    }
    return true;
  }

  void Handle(const Completion& c) {
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
        if (ws.writes_in_flight > 0) --ws.writes_in_flight;
        return;
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

  void OnControl(uint32_t w, WorkerState& ws, const Completion& c) {
    switch (static_cast<MsgType>(c.control_type)) {
      case MsgType::kJoin: {
        const auto join = Decode<JoinMsg>(c.payload);
        auto conn = dev_->Find(c.peer);
        if (!conn) return;
        if (!join) return Refuse(conn, "malformed join message");
        if (join->fingerprint != job_.Fingerprint()) {
          return Refuse(conn, "worker " + std::to_string(w) +
                                  " runs a different job configuration (flags differ from the "
                                  "server's: " +
                                  job_.Describe() + ")");
        }
        if (ws.joined) return Refuse(conn, "worker " + std::to_string(w) + " joined twice");
        const size_t input_floats =
            job_.coding ? shape_coded_->max_input_floats() : layout_.shard_size(opt_.rank);
        if (join->params.length != input_floats * sizeof(float)) {
          return Refuse(conn, "parameter region of the wrong size");
        }
        ws.joined = true;
        ws.params = join->params;
        ws.conn = conn;
        WelcomeMsg welcome;
        welcome.slot = ws.slot->Describe();
        welcome.shard_begin = layout_.shard_begin(opt_.rank);
        welcome.shard_size = layout_.shard_size(opt_.rank);
        welcome.resume_iteration = job_.coding ? 0 : rule_.clock(w);
        conn->Send(static_cast<uint16_t>(MsgType::kWelcome), Encode(welcome));
        ++joined_;
        last_progress_ = Clock::now();
        GW_INFO("worker " << w << " joined (" << joined_ << "/" << job_.num_workers << ")");
        if (joined_ == job_.num_workers) {
          if (job_.coding) return StartRounds();
          for (uint32_t i = 0; i < job_.num_workers; ++i) {
            if (!workers_[i].lost) Release(i);
          }
        }
        return;
      }
      case MsgType::kDone:
        ws.done = true;
        last_progress_ = Clock::now();
        EndWindows(w, WindowEnd::kRemoved);
        if (tuner_) tuner_->Remove(w);
        if (job_.coding) return;
        return Apply(rule_.OnWorkerGone(w));
      case MsgType::kSkipped: {
        const auto msg = Decode<RoundMsg>(c.payload);
        if (!job_.coding || !msg || !ws.joined || !ws.closed_sent || msg->round != ws.fed_round) {
          GW_WARN("worker " << w << " sent an unexpected skipped message; ignored");
          return;
        }
        ws.idle = true;
        return Feed(w);
      }
      case MsgType::kWindowRequest:
        return OnWindowRequest(w, ws, c);
      default:
        GW_WARN("worker " << w << " sent unknown control message " << c.control_type);
        return;
    }
  }

  // ---- Write windows (JobConfig::windows, sched/window_scheduler.h) ----

  void OnWindowRequest(uint32_t w, WorkerState& ws, const Completion& c) {
    const auto req = Decode<WindowRequestMsg>(c.payload);
    if (job_.coding && windows_ && req && ws.joined && !ws.done && !ws.lost) {
      return OnCodedWindowRequest(w, ws, req->iteration);
    }
    if (!windows_ || !req || !ws.joined || ws.done || ws.lost || ws.window_asked ||
        req->iteration != rule_.clock(w)) {
      GW_WARN("worker " << w << " sent an unexpected window request; ignored");
      return;
    }
    const auto now = Clock::now();
    if (req->iteration > 0) {
      // One sample enters R2SP's average with weight 0.1: a bogus or paused one (a worker
      // stopped for minutes) is capped at the job's timeout so it cannot swamp the gap.
      auto clamp = [&](int64_t ns) {
        return std::clamp<sched::Duration>(std::chrono::nanoseconds(ns), sched::Duration::zero(),
                                           job_.timeout);
      };
      windows_->ObserveIteration(w, clamp(req->last_iteration_ns), clamp(req->last_blocked_ns));
      // Start-up iterations (allocation, cold caches) are not the worker's speed.
      if (tuner_ && req->iteration > sched::WindowSpec::kSkippedIterations) {
        tuner_->Observe(w, req->last_batch, clamp(req->last_compute_ns));
      }
    }
    if (job_.batch_tuning) {
      const uint32_t nominal = static_cast<uint32_t>(job_.workload.batch_size);
      ws.push_batch = req->batch;
      if (req->batch == 0 || req->batch > sched::BatchTuner::kMaxScale * nominal) {
        GW_WARN("worker " << w << " reported a gradient of " << req->batch << " rows, outside 1.."
                          << sched::BatchTuner::kMaxScale * nominal << "; weighting it as --batch "
                          << nominal);
        ws.push_batch = nominal;
      }
    }
    ws.window_asked = true;
    ws.push_rows.clear();
    ws.window_push = req->iteration;
    ws.window_iteration = req->iteration;
    ws.window_message = 0;
    ws.window_asked_at = now;
    windows_->Request(w, now);
    PollWindows(now);
  }

  // A coded message is ready: push = round · messages + message. Only a request for the round
  // that is open and that the worker is working on counts; one for a round that closed (it
  // crossed our closed message, a straggler's) or that we do not know is ignored, so it holds
  // no turn. A request for a newer message while one is still open (its message did not land
  // whole) replaces that one.
  void OnCodedWindowRequest(uint32_t w, WorkerState& ws, uint64_t push) {
    const uint64_t messages = static_cast<uint64_t>(shape_coded_->spec.Messages());
    const uint64_t round = push / messages;
    const uint32_t message = static_cast<uint32_t>(push % messages);
    if (finishing_ || ws.idle || ws.closed_sent || round != ws.fed_round || round != round_) {
      GW_DEBUG("worker " << w << " asked a window for round " << round << " message " << message
                         << " (open round: " << round_ << "); ignored");
      return;
    }
    if (ws.window_asked) {
      if (ws.window_push == push) return;  // asked twice: the first stands
      if (ws.window_iteration != round || ws.window_message >= message) {
        GW_WARN("worker " << w << " asked a window for round " << round << " message " << message
                          << " after message " << ws.window_message << "; ignored");
        return;
      }
      EndWindows(w, WindowEnd::kAbandoned, /*poll=*/false);
    }
    const auto now = Clock::now();
    ws.window_asked = true;
    ws.push_rows.clear();
    ws.window_push = push;
    ws.window_iteration = round;
    ws.window_message = message;
    ws.window_asked_at = now;
    windows_->Request(w, now);
    PollWindows(now);
  }

  // Sends the grants that are due and records the windows that ended since the last poll.
  void PollWindows(Clock::time_point now) {
    if (!windows_) return;
    grants_.clear();
    windows_->Poll(now, &grants_);
    for (uint32_t w = 0; w < job_.num_workers; ++w) {
      WorkerState& ws = workers_[w];
      if (!ws.window_row) continue;
      const bool regranted =
          std::any_of(grants_.begin(), grants_.end(), [&](const auto& g) { return g.worker == w; });
      if (windows_->holding(w) && !regranted) continue;
      // Revoked at its deadline, or (end of round-robin's warm-up) given a new deadline.
      WindowRow& row = window_rows_[*ws.window_row];
      const double end = std::min(Since(now), row.start_s + row.bound_s);
      row.end_s = end;
      row.end = end < Since(now) ? "revoked" : "replaced";
      ws.window_row.reset();
    }
    for (const auto& g : grants_) {
      WorkerState& ws = workers_[g.worker];
      if (!ws.conn || !ws.window_asked) continue;
      WindowGrantMsg msg;
      msg.iteration = ws.window_push;
      ws.granted_push = ws.window_push;
      const bool open_ended = g.deadline == sched::TimePoint::max();
      msg.window_ns = open_ended ? WindowGrantMsg::kOpenEnded : (g.deadline - g.start).count();
      msg.next_batch = NextBatch(g.worker);
      ws.conn->Send(static_cast<uint16_t>(MsgType::kWindowGrant), Encode(msg));
      WindowRow row;
      row.worker = g.worker;
      row.iteration = ws.window_iteration;
      row.message = ws.window_message;
      row.requested_s = Since(ws.window_asked_at);
      row.start_s = Since(g.start);
      row.bound_s = open_ended ? std::numeric_limits<double>::infinity()
                               : std::chrono::duration<double>(g.deadline - g.start).count();
      ws.window_row = window_rows_.size();
      ws.push_rows.push_back(window_rows_.size());
      window_rows_.push_back(row);
    }
  }

  // --batch-tuning: the rows of worker w's next minibatch, for its grant; 0 (unchanged) while
  // updates aggregate (R2SP's warm-up: equal batches there keep the plain mean right), on
  // servers other than 0, or without tuning.
  uint32_t NextBatch(uint32_t w) {
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

  void PollWindowsIfDue() {
    if (!windows_) return;
    const auto next = windows_->NextEvent();
    const auto now = Clock::now();
    if (next && *next <= now) PollWindows(now);
  }

  // How a worker's window (or its request) ends. Landed: its push arrived. Removed: the
  // worker is gone (done or lost). Coded jobs: Closed, its round closed first; Abandoned, it
  // asked for its next message. The last two withdraw the request.
  enum class WindowEnd { kLanded, kRemoved, kClosed, kAbandoned };
  static const char* Name(WindowEnd e) {
    switch (e) {
      case WindowEnd::kLanded:
        return "landed";
      case WindowEnd::kRemoved:
        return "removed";
      case WindowEnd::kClosed:
        return "closed";
      case WindowEnd::kAbandoned:
        return "abandoned";
    }
    return "?";
  }

  // Ends worker w's window or request. Poll: grant the next windows now (else the caller
  // polls).
  void EndWindows(uint32_t w, WindowEnd how, bool poll = true) {
    WorkerState& ws = workers_[w];
    if (!windows_ || !ws.window_asked) return;
    const auto now = Clock::now();
    switch (how) {
      case WindowEnd::kLanded:
        windows_->Done(w, now);
        for (size_t i : ws.push_rows) window_rows_[i].landed_s = Since(now);
        break;
      case WindowEnd::kRemoved:
        windows_->Remove(w, now);
        break;
      case WindowEnd::kClosed:
      case WindowEnd::kAbandoned:
        windows_->Cancel(w, now);
        break;
    }
    if (ws.window_row) {
      window_rows_[*ws.window_row].end_s = Since(now);
      window_rows_[*ws.window_row].end = Name(how);
      ws.window_row.reset();
    }
    ws.window_asked = false;
    if (poll) PollWindows(now);
  }

  // How long the main loop may sleep: until the windows' next event, at most 100 ms.
  std::chrono::nanoseconds FetchTimeout() const {
    std::chrono::nanoseconds t = std::chrono::milliseconds(100);
    if (windows_) {
      if (const auto next = windows_->NextEvent()) {
        t = std::clamp<std::chrono::nanoseconds>(*next - Clock::now(),
                                                 std::chrono::nanoseconds::zero(), t);
      }
    }
    return t;
  }

  double Since(Clock::time_point t) const { return std::chrono::duration<double>(t - t0_).count(); }

  void Refuse(const std::shared_ptr<Connection>& conn, const std::string& why) {
    GW_WARN("refusing " << ToString(conn->peer()) << ": " << why);
    conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText(why));
    conn->Close();
  }

  void OnLanded(uint32_t w, WorkerState& ws, const Completion& c) {
    if (!ws.joined || ws.done || ws.lost || c.region != ws.slot->id()) return;
    if (job_.coding) return OnCodedLanded(w, ws, c);
    const uint64_t expected = rule_.clock(w);
    const Imm imm = Imm::Decode(c.imm);
    if (!Imm::Matches(imm.iteration_tag, expected) || imm.part >= layout_.parts(opt_.rank).size()) {
      if (dropped_++ < 10) {
        GW_WARN("dropping a late or duplicate write from worker "
                << w << " (iteration tag " << imm.iteration_tag << ", part " << imm.part
                << "; expected iteration " << expected << ")");
      }
      return;
    }
    bytes_in_ += c.length;
    if (windows_) windows_->Progress(w, Clock::now());
    if (++ws.parts_landed < layout_.parts(opt_.rank).size()) return;
    ws.parts_landed = 0;
    ++pushes_received_;
    if (!ws.window_asked) ws.push_batch = 0;  // no request told its rows
    if (windows_ && !ws.window_asked && unwindowed_++ < 10) {
      GW_WARN("worker " << w << " pushed iteration " << expected
                        << " without asking for a write window");
    }
    // The link is free: the next window is granted before this update is applied.
    EndWindows(w, WindowEnd::kLanded);
    bool accepted = false;
    const auto decision = rule_.OnArrival(w, expected, &accepted);
    if (!accepted) {
      ++dropped_;
      return;
    }
    last_progress_ = Clock::now();
    Apply(decision);
  }

  void Apply(const SyncRule::Decision& d) {
    gradients_applied_ += d.apply.size();
    for (uint32_t w : d.apply) rows_applied_ += RowsOf(w);
    if (!d.apply.empty()) {
      // Parameters being the source of writes still in flight, let those finish first. With
      // snapshots they are not: one worker's slow link never holds back the others' updates.
      if (!SendsFromSnapshots()) WaitForOutgoingWrites();
      const float scale = 1.0f / static_cast<float>(job_.num_workers);
      if (d.aggregate) {
        std::vector<std::span<const float>> slots;
        for (uint32_t w : d.apply) slots.push_back(workers_[w].slot->as<const float>());
        SumSlots(agg_, slots);
        optimizer_->Step(params_, agg_, 1.0f / static_cast<float>(d.apply.size()));
      } else {
        // Each worker's gradient is its 1/N share of the global batch; with batch tuning, its
        // rows' share: weighted by rows / --batch (the weights still sum to N per round).
        for (uint32_t w : d.apply) {
          const float weight =
              static_cast<float>(RowsOf(w)) / static_cast<float>(job_.workload.batch_size);
          optimizer_->Step(params_, workers_[w].slot->as<const float>(), scale * weight);
        }
      }
      MaybeCheckpoint();
    }
    for (uint32_t w : d.release) Release(w);
  }

  // Rows behind worker w's gradient being applied: --batch, or as its request reported them
  // (--batch too for a push that came without a request: never weighted 0).
  uint64_t RowsOf(uint32_t w) const {
    const uint32_t reported = workers_[w].push_batch;
    return job_.batch_tuning && reported != 0 ? reported : job_.workload.batch_size;
  }

  void Release(uint32_t w) {
    WorkerState& ws = workers_[w];
    if (!ws.joined || ws.done || ws.lost) return;
    const auto& parts = layout_.parts(opt_.rank);
    const size_t begin = layout_.shard_begin(opt_.rank);
    std::span<const float> source(params_);
    if (SendsFromSnapshots()) {
      // Its previous parameters have landed (it pushed since), but their completions may not
      // have been counted yet: the snapshot is their source until they are.
      WaitForOutgoingWrites(w);
      if (ws.lost) return;
      std::copy(params_.begin(), params_.end(), ws.snapshot.begin());
      source = ws.snapshot;
    }
    const auto bytes = std::as_bytes(source);
    for (uint32_t p = 0; p < parts.size(); ++p) {
      const size_t off = (parts[p].begin - begin) * sizeof(float);
      ws.conn->Write(bytes.subspan(off, parts[p].size * sizeof(float)), ws.params, off,
                     Imm::Encode(rule_.clock(w), p), p);
      ++ws.writes_in_flight;
    }
  }

  // ---- Checkpoints (ServerOptions::checkpoint_*, ps/checkpoint.h) ----

  CheckpointOwner Owner() const {
    return {job_.Fingerprint(), job_.Describe(), opt_.rank, layout_.shard_begin(opt_.rank),
            layout_.shard_size(opt_.rank)};
  }

  void SetUpCheckpoints() {
    if (opt_.checkpoint_every == 0 && !opt_.resume) return;
    if (opt_.checkpoint_dir.empty()) {
      throw Error("--checkpoint-every and --resume need --checkpoint-dir");
    }
    if (job_.sync.kind != SyncKind::kBsp || job_.coding || job_.windows) {
      throw Error(
          "checkpoints are implemented for --sync bsp without --coding and --windows (this job: " +
          job_.Describe() + ")");
    }
    if (!opt_.resume) return;
    const auto loaded = LoadNewestCheckpoint(opt_.checkpoint_dir, Owner());
    if (!loaded) {
      GW_INFO("--resume: no checkpoint of server " << opt_.rank << " in " << opt_.checkpoint_dir
                                                   << "; starting from scratch");
      return;
    }
    for (const auto& why : loaded->skipped) GW_WARN("skipped for an older one: " << why);
    const Checkpoint& c = loaded->checkpoint;
    params_ = c.params;
    optimizer_->Restore(c.velocity, c.optimizer_steps);
    rule_.ResumeBspAt(c.iteration);
    resumed_from_ = c.iteration;
    GW_INFO("resuming from checkpoint " << loaded->path << ": iteration " << c.iteration);
  }

  // After an update: every checkpoint_every versions, the state the next release sends.
  // Synchronous: a shard of a few MB takes milliseconds, between two BSP barriers. A failed
  // write is reported and training goes on (the previous checkpoint stays valid).
  void MaybeCheckpoint() {
    if (opt_.checkpoint_every == 0) return;
    const uint64_t version = optimizer_->steps();
    if (version % opt_.checkpoint_every != 0) return;
    const auto t = Clock::now();
    using Ms = std::chrono::duration<double, std::milli>;
    Checkpoint c;
    c.fingerprint = job_.Fingerprint();
    c.job = job_.Describe();
    c.server_rank = opt_.rank;
    c.shard_begin = layout_.shard_begin(opt_.rank);
    c.iteration = version;
    c.optimizer_steps = version;
    c.params = params_;
    c.velocity = optimizer_->velocity();
    try {
      uint64_t bytes = 0;
      const std::string path = SaveCheckpoint(opt_.checkpoint_dir, c, /*keep=*/2, &bytes);
      ++checkpoints_;
      GW_INFO("checkpoint at iteration " << version << ": " << path << " (" << bytes << " bytes, "
                                         << Ms(Clock::now() - t).count() << " ms)");
    } catch (const Error& e) {
      GW_ERROR("checkpoint at iteration " << version << " failed (training goes on; the previous "
                                          << "checkpoint stays): " << e.what());
    }
  }

  // ---- Coded jobs (ps/coded_shape.h) ----

  // Workers that will send nothing more: done or lost.
  std::vector<bool> Gone() const {
    std::vector<bool> gone(job_.num_workers);
    for (uint32_t w = 0; w < job_.num_workers; ++w) gone[w] = workers_[w].done || workers_[w].lost;
    return gone;
  }

  void StartRounds() {
    round_ = 0;
    round_start_ = Clock::now();
    if (!tracker_->Possible(Gone())) {
      Fail(shape_coded_->spec.ToString() + " cannot decode with the workers that joined");
    }
    for (uint32_t w = 0; w < job_.num_workers; ++w) {
      if (!workers_[w].lost) {
        workers_[w].idle = true;
        Feed(w);
      }
    }
  }

  // Writes the current round's input (or, when finishing, the final model) into an idle
  // worker's input region.
  void Feed(uint32_t w) {
    WorkerState& ws = workers_[w];
    if (!ws.joined || ws.done || ws.lost || !ws.idle) return;
    ws.idle = false;
    ws.closed_sent = false;
    ws.fed_round = round_;
    ws.parts_landed_per_message.assign(shape_coded_->spec.Messages(), 0);
    ws.messages_landed = 0;
    if (finishing_) ws.conn->Send(static_cast<uint16_t>(MsgType::kFinal), {});
    const int phase = finishing_ ? 0 : shape_coded_->phase(round_);
    const std::span<const float> input =
        phase == 0 ? std::span<const float>(params_) : std::span<const float>(residual_);
    const auto bytes = std::as_bytes(input);
    const size_t part_bytes = shape_coded_->part_floats * sizeof(float);
    const uint32_t parts = shape_coded_->parts(input.size());
    for (uint32_t p = 0; p < parts; ++p) {
      const size_t off = p * part_bytes;
      ws.conn->Write(bytes.subspan(off, std::min(part_bytes, bytes.size() - off)), ws.params, off,
                     Imm::Encode(round_, p), p);
      ++ws.writes_in_flight;
    }
  }

  void OnCodedLanded(uint32_t w, WorkerState& ws, const Completion& c) {
    const Imm imm = Imm::Decode(c.imm);
    const uint32_t ppm = shape_coded_->parts_per_message();
    const int j = static_cast<int>(imm.part / ppm);
    const int phase = shape_coded_->phase(ws.fed_round);
    if (!Imm::Matches(imm.iteration_tag, ws.fed_round) || ws.idle ||
        j >= shape_coded_->spec.Messages() ||
        imm.part % ppm >= shape_coded_->parts(shape_coded_->message_floats(phase))) {
      if (dropped_++ < 10) {
        GW_WARN("dropping an unexpected write from worker "
                << w << " (round tag " << imm.iteration_tag << ", part " << imm.part << ")");
      }
      return;
    }
    bytes_in_ += c.length;
    const uint64_t push = ws.fed_round * static_cast<uint64_t>(shape_coded_->spec.Messages()) +
                          static_cast<uint64_t>(j);
    if (windows_) {
      // Every write of a message goes out inside a window granted for it (ps/gated_push.h);
      // the worker asks for its next one only after this one's writes are out, and they
      // arrive before that request, so the last grant must be this message's.
      if (ws.granted_push != push && unwindowed_writes_++ < 10) {
        GW_WARN("worker " << w << " wrote part " << imm.part << " of round " << ws.fed_round
                          << " without a window for it");
      }
      windows_->Progress(w, Clock::now());
    }
    if (++ws.parts_landed_per_message[j] <
        shape_coded_->parts(shape_coded_->message_floats(phase))) {
      return;
    }
    if (++ws.messages_landed == shape_coded_->spec.Messages() && !ws.closed_sent) ws.idle = true;
    // The link is free: the next window goes out after the round's fate is known (a grant for
    // a round about to close would waste the link).
    const bool ended_window = windows_ && ws.window_asked && ws.window_push == push;
    if (ended_window) EndWindows(w, WindowEnd::kLanded, /*poll=*/false);
    if (ws.fed_round != round_ || finishing_) {
      ++late_;  // its round was decoded without it
      if (ended_window) PollWindows(Clock::now());
      return;
    }
    last_progress_ = Clock::now();
    tracker_->Arrive(static_cast<int>(w), j);
    if (tracker_->Complete()) {
      CloseRound();
    } else if (ended_window) {
      PollWindows(Clock::now());
    }
  }

  void CloseRound() {
    const int phase = shape_coded_->phase(round_);
    const auto t0 = Clock::now();
    // params_ and residual_ are the sources of input writes still in flight.
    WaitForOutgoingWrites();
    const size_t msg_floats = shape_coded_->message_floats(phase);
    auto slot = [&](int w, int j) {
      return workers_[w].slot->as<const float>().subspan(
          static_cast<size_t>(j) * shape_coded_->max_message_floats(), msg_floats);
    };
    RoundRow row;
    row.round = round_;
    row.iteration = round_ / shape_coded_->rounds_per_iteration();
    row.phase = phase;
    row.messages_used = static_cast<uint32_t>(tracker_->used().size());
    std::vector<bool> used_worker(job_.num_workers, false);
    for (const auto& u : tracker_->used()) used_worker[u.worker] = true;
    for (bool b : used_worker) row.workers_used += b ? 1 : 0;
    if (shape_coded_->mds && phase == 0) {
      decoder_->Decode(phase, tracker_->used(), slot, ax_);
      row.loss = decoder_->Residual(ax_, residual_);
    } else {
      decoder_->Decode(phase, tracker_->used(), slot, grad_);
      optimizer_->Step(params_, grad_, 1.0f);
    }
    const auto now = Clock::now();
    row.decode_s = std::chrono::duration<double>(now - t0).count();
    row.duration_s = std::chrono::duration<double>(now - round_start_).count();
    rounds_.push_back(row);
    round_start_ = now;
    last_progress_ = now;
    ++round_;
    tracker_->Reset();
    if (windows_) {
      // The closed round's requests and windows hold no turn any more (a straggler's message
      // is not needed); late requests for it are ignored (OnCodedWindowRequest).
      for (uint32_t w = 0; w < job_.num_workers; ++w)
        EndWindows(w, WindowEnd::kClosed, /*poll=*/false);
      windows_->ObserveRound(std::chrono::nanoseconds(
          static_cast<int64_t>(row.duration_s * 1e9)));  // round-robin's warm-up
      PollWindows(now);
    }
    if (optimizer_->steps() >= job_.iterations) {
      finishing_ = true;
    } else if (!tracker_->Possible(Gone())) {
      std::string lost;
      for (uint32_t w = 0; w < job_.num_workers; ++w) {
        if (workers_[w].lost) lost += " worker " + std::to_string(w);
      }
      Fail(shape_coded_->spec.ToString() + " cannot decode round " + std::to_string(round_) +
           " without the lost workers (lost:" + lost + ")");
    }
    for (uint32_t w = 0; w < job_.num_workers; ++w) {
      WorkerState& ws = workers_[w];
      if (!ws.joined || ws.done || ws.lost) continue;
      if (ws.idle) {
        Feed(w);
      } else if (!ws.closed_sent) {
        ws.closed_sent = true;
        ws.conn->Send(static_cast<uint16_t>(MsgType::kClosed), Encode(RoundMsg{ws.fed_round}));
      }
    }
  }

  // Moves what the transport completed into pending_, waiting up to timeout for the first.
  void Fetch(std::chrono::nanoseconds timeout) {
    fetched_.clear();
    dev_->cq().Wait(fetched_, timeout);
    for (auto& c : fetched_) pending_.push_back(std::move(c));
  }

  // Counts off write completions among those fetched but not handled yet; others stay queued
  // in order for the main loop.
  void TakeWriteCompletions() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->kind == CompletionKind::kWriteDone && it->peer.role == Role::kWorker &&
          it->peer.rank < job_.num_workers) {
        auto& n = workers_[it->peer.rank].writes_in_flight;
        if (n > 0) --n;
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Until the parameter writes to every worker (or only to worker `only`) have completed.
  void WaitForOutgoingWrites(std::optional<uint32_t> only = std::nullopt) {
    const auto deadline = Clock::now() + job_.timeout;
    auto waited_for = [&](uint32_t w) {
      return (!only || *only == w) && workers_[w].writes_in_flight > 0 && !workers_[w].lost;
    };
    auto in_flight = [&] {
      for (uint32_t w = 0; w < job_.num_workers; ++w) {
        if (waited_for(w)) return true;
      }
      return false;
    };
    TakeWriteCompletions();
    while (in_flight()) {
      if (Clock::now() > deadline) {
        for (uint32_t w = 0; w < job_.num_workers; ++w) {
          if (waited_for(w)) {
            workers_[w].conn->Abort("not reading its parameters");
            Lose(w, "did not take its parameters within " + Seconds(job_.timeout) +
                        " (stalled or stopped?)");
          }
        }
        return;
      }
      Fetch(std::chrono::milliseconds(50));
      TakeWriteCompletions();
      PollWindowsIfDue();  // a turn or deadline may pass while we wait
    }
  }

  // Asynchronous rules release workers one at a time while others' parameters are still on
  // the wire; each worker's writes then come from its own copy, so an update never waits for
  // a slow link. BSP releases everyone together and sends from params_ (no copies).
  bool SendsFromSnapshots() const { return !job_.coding && job_.sync.kind != SyncKind::kBsp; }

  void Lose(uint32_t w, const std::string& why) {
    WorkerState& ws = workers_[w];
    if (ws.lost || ws.done) return;
    ws.lost = true;
    ws.writes_in_flight = 0;
    ++lost_;
    EndWindows(w, WindowEnd::kRemoved);
    if (tuner_) tuner_->Remove(w);
    if (!ws.joined) ++joined_;  // it will never join: do not wait for it
    const std::string what = "worker " + std::to_string(w) + " lost at " +
                             (job_.coding ? "round " + std::to_string(round_)
                                          : "iteration " + std::to_string(rule_.clock(w))) +
                             ": " + why;
    if (job_.coding) {
      if (!finishing_ && !tracker_->Possible(Gone())) {
        Fail(what + "; " + shape_coded_->spec.ToString() +
             " cannot finish the round without it (too many workers lost for this code)");
      }
      GW_WARN(what << "; the code goes on without it");
      return;
    }
    if (job_.sync.kind == SyncKind::kBsp && !job_.continue_without_lost) {
      Fail(what +
           "; under BSP the job cannot go on without it (or pass "
           "--continue-without-lost-workers)");
    }
    GW_WARN(what << "; going on with " << rule_.num_live() - 1 << " worker(s)");
    Apply(rule_.OnWorkerGone(w));
  }

  void CheckProgress() {
    if (Finished() || Clock::now() - last_progress_ < job_.timeout) return;
    if (finishing_) {
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
    if (!job_.coding && (job_.sync.kind != SyncKind::kBsp || job_.continue_without_lost)) {
      const uint64_t laggard = rule_.min_live_clock();
      for (uint32_t w = 0; w < job_.num_workers; ++w) {
        WorkerState& ws = workers_[w];
        if (ws.done || ws.lost || (ws.joined && rule_.clock(w) != laggard)) continue;
        if (ws.conn) ws.conn->Abort("silent for " + Seconds(job_.timeout));
        Lose(w, ws.joined
                    ? "silent for " + Seconds(job_.timeout) + " (stalled, or its link is down)"
                    : "never joined within " + Seconds(job_.timeout));
      }
      last_progress_ = Clock::now();
      return;
    }
    std::string who;
    for (uint32_t w = 0; w < job_.num_workers; ++w) {
      const auto& ws = workers_[w];
      if (ws.done || ws.lost) continue;
      if (!ws.joined) {
        who += " worker " + std::to_string(w) + " never joined;";
      } else if (rule_.clock(w) == rule_.min_live_clock()) {
        who += " worker " + std::to_string(w) + " is at iteration " +
               std::to_string(rule_.clock(w)) + ";";
      }
    }
    Fail("no progress for " + Seconds(job_.timeout) + ":" + who +
         " (alive but silent: stalled? raise --timeout if it is just slow)");
  }

  [[noreturn]] void Fail(const std::string& why) {
    GW_ERROR(why);
    for (auto& ws : workers_) {
      if (ws.conn && ws.conn->open()) {
        ws.conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText(why));
      }
    }
    dev_->Shutdown();  // orderly: the abort messages go out first
    throw Error(why);
  }

  static std::string Seconds(std::chrono::milliseconds ms) {
    return std::to_string(ms.count()) + " ms";
  }

  const JobConfig job_;
  const ServerOptions opt_;
  std::unique_ptr<Workload> shape_;  // parameter count and initialisation only
  ModelLayout layout_;
  SyncRule rule_;
  std::vector<float> params_, agg_;
  // Coded jobs.
  std::optional<CodedShape> shape_coded_;
  std::unique_ptr<CodedDecoder> decoder_;
  std::optional<coding::RoundTracker> tracker_;
  std::vector<float> grad_, ax_, residual_;
  uint64_t round_ = 0;
  bool finishing_ = false;  // all iterations done: feeding the final model
  Clock::time_point round_start_;
  std::vector<RoundRow> rounds_;
  uint64_t late_ = 0;
  std::unique_ptr<SgdMomentum> optimizer_;
  std::unique_ptr<Device> dev_;
  std::vector<WorkerState> workers_;
  std::deque<Completion> pending_;  // fetched from the transport, not handled yet
  std::vector<Completion> fetched_;
  uint32_t joined_ = 0;
  uint64_t dropped_ = 0, lost_ = 0, bytes_in_ = 0;
  // Uncoded pushes that landed whole, and gradients the optimizer took (the load test
  // compares them with the workers' pushes_sent).
  uint64_t pushes_received_ = 0, gradients_applied_ = 0;
  uint64_t rows_applied_ = 0;  // minibatch rows behind the gradients applied
  // Checkpoints.
  std::optional<uint64_t> resumed_from_;
  uint64_t checkpoints_ = 0;
  Clock::time_point last_progress_;
  // Write windows.
  std::optional<sched::WindowScheduler> windows_;
  std::optional<sched::BatchTuner> tuner_;  // --batch-tuning, server 0
  bool tuning_logged_ = false;
  std::vector<sched::WindowScheduler::Grant> grants_;
  std::vector<WindowRow> window_rows_;
  uint64_t unwindowed_ = 0;         // pushes that arrived without a window request
  uint64_t unwindowed_writes_ = 0;  // coded: message parts that landed without a grant
  const Clock::time_point t0_;
};

}  // namespace

void RunServer(const JobConfig& job, const ServerOptions& options) {
  SetLogIdentity("server " + std::to_string(options.rank));
  Server(job, options).Run();
}

}  // namespace gw
