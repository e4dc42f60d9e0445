#include "ps/server.h"

#include <chrono>
#include <deque>
#include <memory>
#include <vector>

#include "net/error.h"
#include "net/imm.h"
#include "net/log.h"
#include "ps/aggregate.h"
#include "ps/layout.h"
#include "ps/messages.h"
#include "ps/results.h"

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
        rule_(job.sync, job.num_workers),
        workers_(job.num_workers) {
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

    DeviceOptions dopt = opt.device;
    dopt.self = {Role::kServer, opt.rank};
    dev_ = CreateDevice(opt.listen.transport, dopt);
    dev_->RegisterMemory(std::as_writable_bytes(std::span(params_)), dopt.self);
    for (uint32_t w = 0; w < job.num_workers; ++w) {
      workers_[w].slot = &dev_->RegisterRegion(size * sizeof(float), {Role::kWorker, w});
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
      if (pending_.empty()) Fetch(std::chrono::milliseconds(100));
      if (!pending_.empty()) {
        const Completion c = std::move(pending_.front());
        pending_.pop_front();
        Handle(c);
      }
      CheckProgress();
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    GW_INFO("done: " << optimizer_->steps() << " updates in " << wall << " s, " << dropped_
                     << " late or duplicate writes dropped, " << lost_ << " worker(s) lost");
    if (!opt_.out_dir.empty()) {
      WriteSummaryCsv(opt_.out_dir + "/server-" + std::to_string(opt_.rank) + ".csv",
                      {{"server", std::to_string(opt_.rank)},
                       {"updates", std::to_string(optimizer_->steps())},
                       {"dropped_writes", std::to_string(dropped_)},
                       {"workers_lost", std::to_string(lost_)},
                       {"gradient_bytes_received", std::to_string(bytes_in_)},
                       {"wall_s", std::to_string(wall)}});
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
    std::shared_ptr<Connection> conn;
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
        if (join->params.length != layout_.shard_size(opt_.rank) * sizeof(float)) {
          return Refuse(conn, "parameter region of the wrong size");
        }
        ws.joined = true;
        ws.params = join->params;
        ws.conn = conn;
        WelcomeMsg welcome;
        welcome.slot = ws.slot->Describe();
        welcome.shard_begin = layout_.shard_begin(opt_.rank);
        welcome.shard_size = layout_.shard_size(opt_.rank);
        conn->Send(static_cast<uint16_t>(MsgType::kWelcome), Encode(welcome));
        ++joined_;
        last_progress_ = Clock::now();
        GW_INFO("worker " << w << " joined (" << joined_ << "/" << job_.num_workers << ")");
        if (joined_ == job_.num_workers) {
          for (uint32_t i = 0; i < job_.num_workers; ++i) {
            if (!workers_[i].lost) Release(i);
          }
        }
        return;
      }
      case MsgType::kDone:
        ws.done = true;
        last_progress_ = Clock::now();
        return Apply(rule_.OnWorkerGone(w));
      default:
        GW_WARN("worker " << w << " sent unknown control message " << c.control_type);
        return;
    }
  }

  void Refuse(const std::shared_ptr<Connection>& conn, const std::string& why) {
    GW_WARN("refusing " << ToString(conn->peer()) << ": " << why);
    conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText(why));
    conn->Close();
  }

  void OnLanded(uint32_t w, WorkerState& ws, const Completion& c) {
    if (!ws.joined || ws.done || ws.lost || c.region != ws.slot->id()) return;
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
    if (++ws.parts_landed < layout_.parts(opt_.rank).size()) return;
    ws.parts_landed = 0;
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
    if (!d.apply.empty()) {
      // Parameters are the source of writes still in flight: let those finish first.
      WaitForOutgoingWrites();
      const float scale = 1.0f / static_cast<float>(job_.num_workers);
      if (job_.sync.kind == SyncKind::kBsp) {
        std::vector<std::span<const float>> slots;
        for (uint32_t w : d.apply) slots.push_back(workers_[w].slot->as<const float>());
        SumSlots(agg_, slots);
        optimizer_->Step(params_, agg_, 1.0f / static_cast<float>(d.apply.size()));
      } else {
        // Each worker's gradient is its 1/N share of the global batch.
        for (uint32_t w : d.apply)
          optimizer_->Step(params_, workers_[w].slot->as<const float>(), scale);
      }
    }
    for (uint32_t w : d.release) Release(w);
  }

  void Release(uint32_t w) {
    WorkerState& ws = workers_[w];
    if (!ws.joined || ws.done || ws.lost) return;
    const auto& parts = layout_.parts(opt_.rank);
    const size_t begin = layout_.shard_begin(opt_.rank);
    const auto bytes = std::as_bytes(std::span(params_));
    for (uint32_t p = 0; p < parts.size(); ++p) {
      const size_t off = (parts[p].begin - begin) * sizeof(float);
      ws.conn->Write(bytes.subspan(off, parts[p].size * sizeof(float)), ws.params, off,
                     Imm::Encode(rule_.clock(w), p), p);
      ++ws.writes_in_flight;
    }
  }

  // Moves what the transport completed into pending_, waiting up to timeout for the first.
  void Fetch(std::chrono::milliseconds timeout) {
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

  void WaitForOutgoingWrites() {
    const auto deadline = Clock::now() + job_.timeout;
    auto in_flight = [&] {
      for (const auto& w : workers_) {
        if (w.writes_in_flight > 0 && !w.lost) return true;
      }
      return false;
    };
    TakeWriteCompletions();
    while (in_flight()) {
      if (Clock::now() > deadline) {
        for (uint32_t w = 0; w < job_.num_workers; ++w) {
          if (workers_[w].writes_in_flight > 0 && !workers_[w].lost) {
            workers_[w].conn->Abort("not reading its parameters");
            Lose(w, "did not take its parameters within " + Seconds(job_.timeout) +
                        " (stalled or stopped?)");
          }
        }
        return;
      }
      Fetch(std::chrono::milliseconds(50));
      TakeWriteCompletions();
    }
  }

  void Lose(uint32_t w, const std::string& why) {
    WorkerState& ws = workers_[w];
    if (ws.lost || ws.done) return;
    ws.lost = true;
    ws.writes_in_flight = 0;
    ++lost_;
    if (!ws.joined) ++joined_;  // it will never join: do not wait for it
    const std::string what = "worker " + std::to_string(w) + " lost at iteration " +
                             std::to_string(rule_.clock(w)) + ": " + why;
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
  std::unique_ptr<SgdMomentum> optimizer_;
  std::unique_ptr<Device> dev_;
  std::vector<WorkerState> workers_;
  std::deque<Completion> pending_;  // fetched from the transport, not handled yet
  std::vector<Completion> fetched_;
  uint32_t joined_ = 0;
  uint64_t dropped_ = 0, lost_ = 0, bytes_in_ = 0;
  Clock::time_point last_progress_;
};

}  // namespace

void RunServer(const JobConfig& job, const ServerOptions& options) {
  SetLogIdentity("server " + std::to_string(options.rank));
  Server(job, options).Run();
}

}  // namespace gw
