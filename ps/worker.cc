#include "ps/worker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <tuple>

#include "base/error.h"
#include "ps/imm.h"
#include "base/log.h"
#include "ps/coded_task.h"
#include "ps/gated_push.h"
#include "ps/layout.h"
#include "ps/messages.h"
#include "ps/results.h"
#include "sched/batch_tuner.h"

namespace gw {
namespace {

using Clock = std::chrono::steady_clock;

// A flag value as one CSV cell: its commas become semicolons.
std::string CsvCell(std::string s) {
  std::replace(s.begin(), s.end(), ',', ';');
  return s;
}

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Worker {
 public:
  Worker(const JobConfig& job, const WorkerOptions& opt)
      : job_(job),
        opt_(opt),
        // A coded job's data lives in its CodedTask; this workload then only evaluates.
        workload_(MakeWorkload(job.workload, opt.rank, job.num_workers,
                               /*load_data=*/!job.coding || opt.evaluate)),
        layout_(workload_->num_params(), job.PartFloats(workload_->num_params()), job.num_servers),
        params_(layout_.num_params()),
        grad_(layout_.num_params()) {
    for (uint32_t s = 0; s < job.num_servers; ++s)
      servers_.emplace_back(s, job.windows.has_value());
    if (opt.rank >= job.num_workers) {
      throw Error("worker rank " + std::to_string(opt.rank) + " out of range: the job has " +
                  std::to_string(job.num_workers) + " worker(s)");
    }
    if (opt.servers.size() != job.num_servers) {
      throw Error("the job has " + std::to_string(job.num_servers) + " server(s) but " +
                  std::to_string(opt.servers.size()) + " server address(es) were given");
    }
    DeviceOptions dopt = opt.device;
    dopt.self = {Role::kWorker, opt.rank};
    dev_ = CreateDevice(opt.servers[0].transport, dopt);
    if (job.coding) {
      shape_.emplace(CodedShape::Make(job, layout_.num_params()));
      task_ = std::make_unique<CodedTask>(job, *shape_, opt.rank);
      // One push per message index, each with its own write ids (message j: j << 32 on).
      for (int j = 0; j < shape_->spec.Messages(); ++j) {
        message_push_.emplace_back(0, job.windows.has_value(),
                                   static_cast<uint64_t>(j) << kMessageWrShift);
      }
      input_.resize(shape_->max_input_floats());
      messages_.resize(static_cast<size_t>(shape_->spec.Messages()) * shape_->max_message_floats());
      dev_->RegisterMemory(std::as_writable_bytes(std::span(messages_)), dopt.self);
      servers_[0].params =
          &dev_->RegisterMemory(std::as_writable_bytes(std::span(input_)), {Role::kServer, 0});
      return;
    }
    dev_->RegisterMemory(std::as_writable_bytes(std::span(grad_)), dopt.self);
    for (uint32_t s = 0; s < job.num_servers; ++s) {
      auto shard = std::as_writable_bytes(std::span(params_))
                       .subspan(layout_.shard_begin(s) * sizeof(float),
                                layout_.shard_size(s) * sizeof(float));
      servers_[s].params = &dev_->RegisterMemory(shard, {Role::kServer, s});
    }
  }

  void Run() {
    if (shape_) return RunCoded();
    Join();
    const auto t0 = Clock::now();
    auto last_progress = t0;
    std::vector<IterationRow> rows;
    rows.reserve(job_.iterations);
    uint64_t it = 0;
    bool have_params = false;  // for iteration it
    std::optional<ServerLost> lost;
    while (true) {
      try {
        if (lost) {
          Reconnect(*lost, it);
          lost.reset();
        }
        if (!have_params) {
          it = ResumeAt(it, &rows);
          WaitParams(it);
          have_params = true;
          reconnect_deadline_.reset();
        }
        if (it >= job_.iterations) break;
        rows.push_back(RunIteration(it, t0));
        ++it;
      } catch (const ServerLost& e) {
        lost = e;
        have_params = false;
        continue;
      }
      if (opt_.progress && Since(last_progress) >= 2.0) {
        last_progress = Clock::now();
        const double rate = static_cast<double>(rows.size()) / Since(t0);
        std::fprintf(
            stderr, "gradwire: iteration %llu/%llu (%.0f%%) loss %.4f, %.1f it/s, ETA %.0f s\n",
            static_cast<unsigned long long>(it), static_cast<unsigned long long>(job_.iterations),
            100.0 * static_cast<double>(it) / static_cast<double>(job_.iterations),
            rows.back().loss, rate, static_cast<double>(job_.iterations - it) / rate);
      }
    }
    const double wall = Since(t0);
    Snapshot(job_.iterations, t0);
    for (auto& s : servers_) s.conn->Send(static_cast<uint16_t>(MsgType::kDone), {});
    if (!opt_.out_dir.empty()) {
      WriteIterationCsv(opt_.out_dir + "/worker-" + std::to_string(opt_.rank) + ".csv", rows);
      if (job_.windows) {
        std::vector<WriteRecord> writes;
        for (auto& s : servers_) {
          writes.insert(writes.end(), s.push.records().begin(), s.push.records().end());
        }
        WriteWriteCsv(opt_.out_dir + "/writes-" + std::to_string(opt_.rank) + ".csv", writes);
      }
    }
    GW_INFO("sent " << pushes_sent_ << " whole pushes (" << job_.num_servers << " per iteration)");
    if (opt_.evaluate) Summarize(rows, wall);
    dev_->Shutdown();
  }

 private:
  struct ServerState {
    ServerState(uint32_t rank, bool gated) : push(rank, gated) {}
    std::shared_ptr<Connection> conn;
    Region* params = nullptr;  // our copy of its shard, written by it
    RemoteRegion slot;         // where we write our gradient for its shard
    uint32_t parts_landed = 0;
    bool welcomed = false;
    bool closed = false;            // its connection's kPeerClosed was seen
    uint64_t resume_iteration = 0;  // from its welcome
    GatedPush push;                 // our gradient writes to it
  };

  // A server connection ended while reconnecting is on: the loop recovers (Reconnect).
  struct ServerLost {
    uint32_t server = 0;
    std::string why;
  };

  // Iteration it: its gradient on the parameters that arrived for it, pushed, and the
  // parameters for it + 1 awaited.
  IterationRow RunIteration(uint64_t it, Clock::time_point t0) {
    Snapshot(it, t0);
    IterationRow row;
    row.worker = opt_.rank;
    row.iteration = it;
    auto t = Clock::now();
    row.batch = batch_;
    if (job_.batch_tuning) {
      // Batches change size: the walk through the partition goes on from where it is
      // (the same batches as seeking while they do not; resuming is BSP-only anyway).
      workload_->SetBatchSize(batch_);
    } else {
      // The minibatch is a function of (seed, rank, iteration): a resumed run draws the same.
      workload_->SeekBatch(it);
    }
    row.loss = workload_->ComputeGradient(params_, grad_);
    row.compute_s = Since(t);
    // An emulated compute time is that of the nominal batch; it scales with the rows.
    row.delay_s = InjectDelay(t, it, static_cast<double>(batch_) / job_.workload.batch_size);
    push_batch_ = batch_;
    t = Clock::now();
    row.gate_s = PushGradient(it);
    row.write_s = Since(t);
    row.bytes = layout_.num_params() * sizeof(float);
    pushed_row_ = row;  // the servers may resume after this push: the row is then complete
    t = Clock::now();
    WaitParams(it + 1);
    pushed_row_.reset();
    row.wait_s = Since(t);
    // R2SP's T_iter counts what this iteration did, not what it waited for.
    last_iteration_s_ = row.compute_s + row.delay_s + row.write_s + row.wait_s;
    last_blocked_s_ = row.gate_s + row.wait_s;
    last_compute_s_ = row.compute_s + row.delay_s;
    last_batch_ = row.batch;
    return row;
  }

  void SendJoin(uint32_t s) {
    JoinMsg join;
    join.fingerprint = job_.Fingerprint();
    join.params = servers_[s].params->Describe();
    servers_[s].conn->Send(static_cast<uint16_t>(MsgType::kJoin), Encode(join));
  }

  void WaitWelcomes(const std::string& what) {
    WaitUntil(
        [&] {
          for (const auto& s : servers_) {
            if (!s.welcomed) return false;
          }
          return true;
        },
        what);
  }

  void Join() {
    for (uint32_t s = 0; s < job_.num_servers; ++s) {
      servers_[s].conn = dev_->Connect(opt_.servers[s], {Role::kServer, s});
      SendJoin(s);
    }
    WaitWelcomes("a welcome from every server");
    GW_DEBUG("joined " << job_.num_servers << " server(s)");
  }

  // After (re)joining, the iteration the servers start this worker at: 0, or the iteration
  // of the checkpoint they resumed. `it` is the iteration this worker was in.
  uint64_t ResumeAt(uint64_t it, std::vector<IterationRow>* rows) {
    const uint64_t r = servers_[0].resume_iteration;
    for (uint32_t s = 1; s < job_.num_servers; ++s) {
      if (servers_[s].resume_iteration != r) {
        std::string at;
        for (uint32_t t = 0; t < job_.num_servers; ++t) {
          at += " server " + std::to_string(t) + ": " +
                std::to_string(servers_[t].resume_iteration) + ";";
        }
        throw Error("the servers resumed at different iterations (" + at +
                    " restart every server with --resume from checkpoints of one iteration)");
      }
    }
    if (r > it && pushed_row_ && pushed_row_->iteration == it) {
      rows->push_back(*pushed_row_);  // its push made it into the checkpoint
    }
    pushed_row_.reset();
    if (r == it && !reconnected_) return r;
    if (!reconnected_) {
      GW_INFO("the servers resumed from a checkpoint: starting at iteration " << r);
    } else {
      // Finished iterations the checkpoint does not hold (their rows stay in the CSV; the
      // redone ones follow), not counting the one under way when the server was lost.
      GW_INFO("resuming at iteration " << r << " (the servers' checkpoint): redoing "
                                       << (it > r ? it - r : 0) << " finished iteration(s)");
    }
    std::erase_if(snapshots_, [&](const Kept& k) { return k.iteration >= r; });
    expected_iteration_ = r;
    return r;
  }

  // Drops every server connection (the job resumes on all servers from their checkpoints),
  // waits until each is closed, then connects and joins again, retrying with backoff until
  // the reconnect deadline (counted from the first loss since parameters last arrived).
  void Reconnect(const ServerLost& lost, uint64_t it) {
    const auto now = Clock::now();
    if (!reconnect_deadline_) reconnect_deadline_ = now + opt_.reconnect_timeout;
    const auto deadline = *reconnect_deadline_;
    const std::string bound = std::to_string(opt_.reconnect_timeout.count()) + " ms";
    GW_WARN("lost server " << lost.server << " in iteration " << it << " (" << lost.why
                           << "); reconnecting for up to " << bound);
    reconnected_ = true;
    for (auto& s : servers_) {
      if (s.conn && !s.closed) s.conn->Abort("reconnecting after losing a server");
    }
    // Each old connection's close is awaited: no completion of one is taken for its
    // successor's (the rest of them are dropped with it).
    std::vector<Completion> batch;
    auto all_closed = [&] {
      return std::all_of(servers_.begin(), servers_.end(),
                         [](const ServerState& s) { return !s.conn || s.closed; });
    };
    while (!all_closed()) {
      if (Clock::now() > deadline) throw Error("old server connections did not close in " + bound);
      batch.clear();
      dev_->cq().Wait(batch, std::chrono::milliseconds(100));
      for (const auto& c : batch) {
        if (c.kind == CompletionKind::kPeerClosed && c.peer.role == Role::kServer &&
            c.peer.rank < job_.num_servers) {
          servers_[c.peer.rank].closed = true;
        }
      }
    }
    for (auto& s : servers_) {
      s.conn.reset();
      s.parts_landed = 0;
      s.welcomed = false;
      s.closed = false;
      s.resume_iteration = 0;
      s.push.Abandon();
    }
    lost_.reset();
    const auto start = Clock::now();
    for (uint32_t s = 0; s < job_.num_servers; ++s) {
      auto backoff = std::chrono::milliseconds(100);
      for (int attempt = 1;; ++attempt) {
        try {
          // Connect itself retries a refused connection for the device's connect timeout.
          servers_[s].conn = dev_->Connect(opt_.servers[s], {Role::kServer, s});
          break;
        } catch (const Error& e) {
          if (Clock::now() + backoff >= deadline) {
            throw Error("could not reconnect to server " + std::to_string(s) + " at " +
                        opt_.servers[s].ToString() + " within " + bound + ": " + e.what());
          }
          GW_INFO("still reconnecting to server " << s << " (attempt " << attempt << ", "
                                                  << Since(start) << " s): " << e.what());
          std::this_thread::sleep_for(backoff);
          backoff = std::min(2 * backoff, std::chrono::milliseconds(2000));
        }
      }
      SendJoin(s);
    }
    WaitWelcomes("a welcome from every server after reconnecting");
    GW_INFO("reconnected to " << job_.num_servers << " server(s) in " << Since(start) << " s");
  }

  // Writes this iteration's gradient into every server's slot, each server's parts inside
  // the windows it grants (if the job has windows). Returns the seconds spent waiting for
  // windows (the longest over the servers: their pushes run side by side).
  double PushGradient(uint64_t it) {
    // The server may answer before our own write completions are seen: from here on the
    // parameters that land are those for the next iteration.
    expected_iteration_ = it + 1;
    if (opt_.fault.At(InjectedFault::Point::kBeforePush, it))
      Die("before its push of iteration", it);
    if (opt_.fault.At(InjectedFault::Point::kStop, it)) {
      GW_WARN("--inject-fault: SIGSTOP before the push of iteration " << it);
      std::raise(SIGSTOP);  // until someone sends SIGCONT
    }
    const auto bytes = std::as_bytes(std::span(grad_));
    const auto now = Clock::now();
    std::vector<sched::Duration> waited_before;
    for (uint32_t s = 0; s < job_.num_servers; ++s) {
      ServerState& ss = servers_[s];
      const auto& parts = layout_.parts(s);
      const size_t begin = layout_.shard_begin(s);
      ss.push.Begin(it);
      for (uint32_t p = 0; p < parts.size(); ++p) {
        ss.push.Add(bytes.subspan(parts[p].begin * sizeof(float), parts[p].size * sizeof(float)),
                    (parts[p].begin - begin) * sizeof(float), Imm::Encode(it, p));
      }
      if (job_.windows) {
        WindowRequestMsg req;
        req.iteration = it;
        req.last_iteration_ns = Nanoseconds(last_iteration_s_);
        req.last_blocked_ns = Nanoseconds(last_blocked_s_);
        if (job_.batch_tuning) {
          req.batch = push_batch_;
          req.last_batch = last_batch_;
          req.last_compute_ns = Nanoseconds(last_compute_s_);
        }
        ss.conn->Send(static_cast<uint16_t>(MsgType::kWindowRequest), Encode(req));
      }
      waited_before.push_back(ss.push.gate_waited());
      ss.push.Start(now);
    }
    // The gradient buffer is the writes' source: it must not change until they are out.
    WaitUntil(
        [&] {
          // Mid-push: some of server 0's writes are done and some are not; a push that
          // finishes within one batch of completions dies right after it instead.
          if (opt_.fault.At(InjectedFault::Point::kMidPush, it) &&
              servers_[0].push.writes_done() > 0) {
            Die("in the middle of its push of iteration", it);
          }
          for (const auto& s : servers_) {
            if (!s.push.finished()) return false;
          }
          return true;
        },
        job_.windows ? "write windows and our gradient writes to finish"
                     : "our gradient writes to finish");
    pushes_sent_ += job_.num_servers;
    if (opt_.fault.At(InjectedFault::Point::kAfterPush, it) ||
        opt_.fault.At(InjectedFault::Point::kMidPush, it)) {
      Die("after its push of iteration", it);
    }
    sched::Duration gate{};
    for (uint32_t s = 0; s < job_.num_servers; ++s) {
      gate = std::max(gate, servers_[s].push.gate_waited() - waited_before[s]);
    }
    return std::chrono::duration<double>(gate).count();
  }

  // --inject-fault: the log says where, then SIGKILL (no cleanup: a crash, the OOM killer).
  [[noreturn]] static void Die(const char* where, uint64_t it) {
    GW_WARN("--inject-fault: SIGKILL " << where << " " << it);
    std::fflush(stderr);
    std::raise(SIGKILL);
    std::abort();  // not reached: SIGKILL cannot be caught
  }

  static int64_t Nanoseconds(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

  // Sleeps until the straggler model's finish time for this iteration, counted from `start`.
  double InjectDelay(Clock::time_point start, uint64_t it, double scale = 1) {
    if (job_.straggler.kind() == coding::StragglerKind::kNone) return 0;
    const double t = job_.straggler.Sample(static_cast<int>(opt_.rank), it, 1)[0] * scale;
    if (!std::isfinite(t)) {
      throw Error("straggler model " + job_.straggler.ToString() +
                  " stops this worker at iteration " + std::to_string(it));
    }
    const auto until =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t));
    const auto before = Clock::now();
    std::this_thread::sleep_until(until);
    return std::chrono::duration<double>(Clock::now() - before).count();
  }

  // ---- Coded jobs (ps/coded_shape.h): the server drives rounds; we compute what it feeds.

  void RunCoded() {
    Join();
    const auto t0 = Clock::now();
    auto last_progress = t0;
    std::vector<IterationRow> rows;
    while (true) {
      auto t = Clock::now();
      const uint64_t round = WaitInput();
      const double waited = Since(t);
      if (final_) break;
      IterationRow row;
      row.worker = opt_.rank;
      row.iteration = round;
      row.wait_s = waited;
      row.messages = 0;
      row.batch = static_cast<uint32_t>(job_.workload.batch_size);
      RunRound(round, &row);
      rows.push_back(row);
      if (opt_.progress && Since(last_progress) >= 2.0) {
        last_progress = Clock::now();
        const uint64_t it = round / static_cast<uint64_t>(shape_->rounds_per_iteration());
        std::fprintf(stderr, "gradwire: round %llu (iteration %llu/%llu), %.1f rounds/s\n",
                     static_cast<unsigned long long>(round), static_cast<unsigned long long>(it),
                     static_cast<unsigned long long>(job_.iterations),
                     static_cast<double>(rows.size()) / Since(t0));
      }
    }
    const double wall = Since(t0);
    servers_[0].conn->Send(static_cast<uint16_t>(MsgType::kDone), {});
    if (!opt_.out_dir.empty()) {
      WriteIterationCsv(opt_.out_dir + "/worker-" + std::to_string(opt_.rank) + ".csv", rows);
      if (job_.windows) {
        std::vector<WriteRecord> writes;
        for (auto& push : message_push_) {
          writes.insert(writes.end(), push.records().begin(), push.records().end());
        }
        std::stable_sort(writes.begin(), writes.end(), [](const auto& a, const auto& b) {
          return std::tie(a.iteration, a.part) < std::tie(b.iteration, b.part);
        });
        WriteWriteCsv(opt_.out_dir + "/writes-" + std::to_string(opt_.rank) + ".csv", writes);
      }
    }
    if (opt_.evaluate) {
      std::copy_n(input_.begin(), params_.size(), params_.begin());
      Summarize(rows, wall);
    }
    dev_->Shutdown();
  }

  // Computes and sends this round's messages, each no earlier than the straggler model says,
  // until done or the server says the round closed. Each message is its own push (GatedPush).
  // With windows, a message's push asks the server for a window and is posted inside it; the
  // next message asks once the previous push is out (the server keeps one request per
  // worker), and a round that closes withdraws the push under way (its unposted writes are
  // dropped; the server withdrew the window or request on its side).
  void RunRound(uint64_t round, IterationRow* row) {
    const auto start = Clock::now();
    const int phase = shape_->phase(round);
    const bool gated = job_.windows.has_value();
    // "none" injects nothing (its nominal times are for the models' arithmetic only).
    const std::vector<double> ready =
        job_.straggler.kind() == coding::StragglerKind::kNone
            ? std::vector<double>(shape_->spec.Messages(), 0.0)
            : coding::MessageTimes(shape_->spec, shape_->n, job_.straggler,
                                   static_cast<int>(opt_.rank), round);
    const std::span<const float> input(input_.data(), shape_->input_floats(phase));
    const size_t msg_floats = shape_->message_floats(phase);
    // Message buffers are the sources of our last round's writes.
    WaitUntil([&] { return MessagesOut(); }, "our last writes to finish");
    sched::Duration gate_before{};
    for (const auto& push : message_push_) gate_before += push.gate_waited();
    busy_ = true;
    double loss_sum = 0;
    int losses = 0;
    int begun = 0;  // messages whose push began
    for (int j = 0; j < shape_->spec.Messages(); ++j) {
      const std::span<float> out(messages_.data() + j * shape_->max_message_floats(), msg_floats);
      auto t = Clock::now();
      const double loss = task_->Compute(round, j, input, out);
      row->compute_s += Since(t);
      if (!std::isnan(loss)) {
        loss_sum += loss;
        ++losses;
      }
      t = Clock::now();
      const bool closed = !SleepUntil(start, ready[j], round);
      row->delay_s += Since(t);
      if (closed) break;
      t = Clock::now();
      if (gated && j > 0 &&
          !UntilClosed([&] { return Pushed(j - 1, round); }, round,
                       "write windows and our previous message's writes to finish")) {
        row->write_s += Since(t);
        break;
      }
      GatedPush& push = message_push_[j];
      const uint64_t id = round * static_cast<uint64_t>(shape_->spec.Messages()) + j;
      push.Begin(id, round);
      const auto bytes = std::as_bytes(std::span<const float>(out));
      const size_t part_bytes = shape_->part_floats * sizeof(float);
      for (uint32_t p = 0; p < shape_->parts(msg_floats); ++p) {
        const size_t off = p * part_bytes;
        push.Add(bytes.subspan(off, std::min(part_bytes, bytes.size() - off)),
                 j * shape_->max_message_floats() * sizeof(float) + off,
                 Imm::Encode(round, shape_->PartId(j, p)));
      }
      if (gated) {
        // The estimate of T_iter comes from the server's rounds (WindowScheduler::kRounds).
        WindowRequestMsg req;
        req.iteration = id;
        servers_[0].conn->Send(static_cast<uint16_t>(MsgType::kWindowRequest), Encode(req));
      }
      push.Start(Clock::now());
      ++begun;
      row->write_s += Since(t);
    }
    if (gated && begun > 0) {
      const auto t = Clock::now();
      UntilClosed([&] { return Pushed(begun - 1, round); }, round,
                  "write windows and our message writes to finish");
      row->write_s += Since(t);
    }
    if (closed_round_ == static_cast<int64_t>(round)) {
      for (int j = 0; j < begun; ++j) message_push_[j].Cancel(Clock::now());
    }
    sched::Duration gate_after{};
    for (int j = 0; j < begun; ++j) {
      row->bytes += message_push_[j].bytes();
      if (!message_push_[j].cancelled()) ++row->messages;
    }
    for (const auto& push : message_push_) gate_after += push.gate_waited();
    row->gate_s = std::chrono::duration<double>(gate_after - gate_before).count();
    busy_ = false;
    row->loss = losses > 0 ? loss_sum / losses : std::nan("");
    last_round_ = static_cast<int64_t>(round);
    // Told while busy: answer now that the input region is ours no more.
    if (closed_round_ == last_round_) SendSkipped();
  }

  // Message j's push of this round finished. --inject-fault stop:I (with --windows): SIGSTOP
  // in the middle of the first message push of round I, or of the first round after it in
  // which this worker gets to push before the round closes, once a write of it is done: a
  // writer that holds its window and falls silent.
  bool Pushed(int j, uint64_t round) {
    if (j == 0 && !fault_done_ && opt_.fault.point == InjectedFault::Point::kStop &&
        round >= opt_.fault.iteration && message_push_[0].writes_done() > 0 &&
        !message_push_[0].finished()) {
      fault_done_ = true;
      GW_WARN("--inject-fault: SIGSTOP in the middle of the push of round " << round);
      std::raise(SIGSTOP);  // until someone sends SIGCONT
    }
    return message_push_[j].finished();
  }

  // Every message push of the last round finished (their buffers may be written again).
  bool MessagesOut() const {
    return std::all_of(message_push_.begin(), message_push_.end(),
                       [](const GatedPush& p) { return p.finished(); });
  }

  // Handles completions until done() holds (true) or the server closed `round` (false).
  template <typename Pred>
  bool UntilClosed(Pred done, uint64_t round, const std::string& what) {
    WaitUntil([&] { return done() || closed_round_ == static_cast<int64_t>(round); }, what);
    return done();
  }

  // False if the server closed `round` before the time came (the straggler model's +infinity,
  // fail-stop, waits for exactly that).
  bool SleepUntil(Clock::time_point start, double seconds, uint64_t round) {
    const auto until = std::isfinite(seconds) ? start + std::chrono::duration_cast<Clock::duration>(
                                                            std::chrono::duration<double>(seconds))
                                              : Clock::time_point::max();
    std::vector<Completion> batch;
    while (closed_round_ != static_cast<int64_t>(round)) {
      const auto now = Clock::now();
      if (now >= until) return true;
      batch.clear();
      dev_->cq().Wait(batch,
                      std::min<Clock::duration>(until - now, std::chrono::milliseconds(100)));
      for (auto& c : batch) Handle(c);
    }
    return false;
  }

  // Waits for the next round's input (or the final model); returns the round.
  uint64_t WaitInput() {
    WaitUntil(
        [&] {
          return incoming_round_ &&
                 input_parts_ >= shape_->parts(shape_->input_floats(
                                     final_ ? 0 : shape_->phase(*incoming_round_)));
        },
        "input for the next round");
    const uint64_t round = *incoming_round_;
    incoming_round_.reset();
    input_parts_ = 0;
    return round;
  }

  void SendSkipped() {
    servers_[0].conn->Send(static_cast<uint16_t>(MsgType::kSkipped),
                           Encode(RoundMsg{static_cast<uint64_t>(last_round_)}));
  }

  void OnCodedInput(const Imm& imm) {
    if (!incoming_round_) {
      // Rounds only move forward; the one fed next is any newer than the last we worked on.
      const uint64_t next = static_cast<uint64_t>(last_round_ + 1);
      const uint64_t ahead = (imm.iteration_tag - next) & Imm::kIterMask;
      if (ahead >= (Imm::kIterMask >> 1)) {
        GW_WARN("ignoring input for an old round (tag " << imm.iteration_tag << ")");
        return;
      }
      incoming_round_ = next + ahead;
    }
    if (!Imm::Matches(imm.iteration_tag, *incoming_round_)) {
      GW_WARN("ignoring input tagged " << imm.iteration_tag << " while receiving round "
                                       << *incoming_round_);
      return;
    }
    ++input_parts_;
  }

  void WaitParams(uint64_t it) {
    bool stopped = false;
    WaitUntil(
        [&] {
          if (opt_.fault.At(InjectedFault::Point::kStopMidPull, it) && !stopped &&
              servers_[0].parts_landed > 0 && servers_[0].parts_landed < layout_.parts(0).size()) {
            stopped = true;
            GW_WARN("--inject-fault: SIGSTOP in the middle of the parameters of iteration " << it);
            std::raise(SIGSTOP);  // until someone sends SIGCONT
          }
          for (uint32_t s = 0; s < job_.num_servers; ++s) {
            if (servers_[s].parts_landed < layout_.parts(s).size()) return false;
          }
          return true;
        },
        "parameters for iteration " + std::to_string(it));
    for (auto& s : servers_) s.parts_landed = 0;
  }

  template <typename Pred>
  void WaitUntil(Pred done, const std::string& what) {
    // Twice the server's timeout: the server knows who is missing and reports it first.
    auto deadline = Clock::now() + 2 * job_.timeout;
    std::vector<Completion> batch;
    while (!done()) {
      if (Clock::now() > deadline) {
        throw Error("no " + what + " within " + std::to_string(2 * job_.timeout.count()) +
                    " ms (is every server up? raise --timeout if the job is just slow)");
      }
      batch.clear();
      dev_->cq().Wait(batch, std::chrono::milliseconds(100));
      for (auto& c : batch) Handle(c);
      if (lost_) throw *lost_;  // after the whole batch: it may hold other servers' closes
    }
  }

  bool reconnecting() const {
    return opt_.reconnect_timeout.count() > 0 && !shape_ && !job_.windows;
  }

  void Handle(const Completion& c) {
    if (c.peer.role != Role::kServer || c.peer.rank >= job_.num_servers) return;
    ServerState& s = servers_[c.peer.rank];
    switch (c.kind) {
      case CompletionKind::kWriteLanded: {
        const Imm imm = Imm::Decode(c.imm);
        if (shape_ && c.region == s.params->id()) return OnCodedInput(imm);
        if (c.region != s.params->id() || !Imm::Matches(imm.iteration_tag, expected_iteration_)) {
          GW_WARN("ignoring unexpected parameters from server " << c.peer.rank << " (tag "
                                                                << imm.iteration_tag << ")");
          return;
        }
        ++s.parts_landed;
        return;
      }
      case CompletionKind::kWriteDone:
        if (reconnecting() && (!c.ok || s.push.idle())) {
          // A write of a connection that is closing (its kPeerClosed starts the recovery),
          // or, after reconnecting, a late one of the connection before.
          GW_DEBUG("dropping a write completion for server " << c.peer.rank << ": " << c.error);
          return;
        }
        if (!c.ok)
          throw Error("gradient write to server " + std::to_string(c.peer.rank) +
                      " failed: " + c.error);
        if (shape_) {
          const uint64_t j = c.wr_id >> kMessageWrShift;
          if (j >= message_push_.size()) {
            throw Error("internal: a write completion of unknown message " + std::to_string(j));
          }
          message_push_[j].OnWriteDone(c.wr_id, Clock::now());
        } else {
          s.push.OnWriteDone(c.wr_id, Clock::now());
        }
        return;
      case CompletionKind::kControl:
        if (c.control_type == static_cast<uint16_t>(MsgType::kWelcome)) {
          const auto welcome = Decode<WelcomeMsg>(c.payload);
          if (!welcome || welcome->shard_size != layout_.shard_size(c.peer.rank)) {
            throw Error("server " + std::to_string(c.peer.rank) +
                        " sent a malformed welcome (does it run the same gradwire version?)");
          }
          s.slot = welcome->slot;
          s.push.Bind(s.conn, s.slot);
          for (auto& push : message_push_) push.Bind(s.conn, s.slot);
          s.resume_iteration = welcome->resume_iteration;
          s.welcomed = true;
          // The parameters the server writes next, right behind the welcome, are those for
          // the iteration it starts us at (they may be in this very batch of completions).
          if (!shape_) expected_iteration_ = welcome->resume_iteration;
        } else if (c.control_type == static_cast<uint16_t>(MsgType::kClosed)) {
          const auto msg = Decode<RoundMsg>(c.payload);
          if (!msg) throw Error("server sent a malformed round-closed message");
          closed_round_ = static_cast<int64_t>(msg->round);
          if (!busy_ && closed_round_ == last_round_) SendSkipped();
        } else if (c.control_type == static_cast<uint16_t>(MsgType::kWindowGrant)) {
          const auto grant = Decode<WindowGrantMsg>(c.payload);
          if (!grant || !job_.windows) throw Error("server sent a malformed window grant");
          if (shape_) {
            // Coded: the grant's id is round · messages + message; one for an old round or
            // message is ignored by its push.
            message_push_[grant->iteration % message_push_.size()].OnGrant(
                grant->iteration, Clock::now(), grant->window_ns);
          } else {
            s.push.OnGrant(grant->iteration, Clock::now(), grant->window_ns);
            if (grant->next_batch != 0 && job_.batch_tuning && c.peer.rank == 0) {
              if (grant->next_batch > sched::BatchTuner::kMaxScale * job_.workload.batch_size) {
                throw Error("server 0 sized our next batch at " +
                            std::to_string(grant->next_batch) + " rows, over " +
                            std::to_string(sched::BatchTuner::kMaxScale) + " x --batch " +
                            std::to_string(job_.workload.batch_size) +
                            " (does it run the same gradwire version?)");
              }
              batch_ = grant->next_batch;  // from our next iteration on
            }
          }
        } else if (c.control_type == static_cast<uint16_t>(MsgType::kFinal)) {
          final_ = true;
        } else if (c.control_type == static_cast<uint16_t>(MsgType::kAbort)) {
          if (!s.welcomed) {
            throw Error("server " + std::to_string(c.peer.rank) + " refused this worker: " +
                        DecodeText(c.payload) + "; this worker runs: " + job_.Describe());
          }
          throw Error("server " + std::to_string(c.peer.rank) +
                      " ended the job: " + DecodeText(c.payload));
        }
        return;
      case CompletionKind::kPeerClosed:
        s.closed = true;
        if (reconnecting()) {
          if (!lost_) lost_ = ServerLost{c.peer.rank, c.error};
          return;
        }
        throw Error("lost server " + std::to_string(c.peer.rank) + ": " + c.error);
      case CompletionKind::kPeerConnected:
        return;
    }
  }

  // The model iteration `it` starts from, kept for evaluation after the run (--eval-every).
  void Snapshot(uint64_t it, Clock::time_point t0) {
    if (!opt_.evaluate || job_.eval_every == 0) return;
    if (it % job_.eval_every != 0 && it != job_.iterations) return;
    if (!snapshots_.empty() && snapshots_.back().iteration == it) return;
    snapshots_.push_back({it, Since(t0), params_});
  }

  // Evaluates the kept models into accuracy.csv, with a progress line (they can be many).
  void EvaluateSnapshots() {
    if (snapshots_.empty() || opt_.out_dir.empty()) return;
    std::vector<AccuracyRow> rows;
    auto last_progress = Clock::now();
    for (size_t i = 0; i < snapshots_.size(); ++i) {
      const EvalResult e = workload_->Evaluate(snapshots_[i].params);
      rows.push_back({snapshots_[i].iteration, snapshots_[i].elapsed_s, e.loss, e.accuracy});
      if (opt_.progress && Since(last_progress) >= 2.0) {
        last_progress = Clock::now();
        std::fprintf(stderr, "gradwire: evaluated %zu/%zu kept models\n", i + 1, snapshots_.size());
      }
    }
    WriteAccuracyCsv(opt_.out_dir + "/accuracy.csv", rows);
    snapshots_.clear();
  }

  void Summarize(const std::vector<IterationRow>& rows, double wall) {
    EvaluateSnapshots();
    const EvalResult eval = workload_->Evaluate(params_);
    double tail_loss = 0;
    const size_t tail = std::min<size_t>(rows.size(), 20);
    for (size_t i = rows.size() - tail; i < rows.size(); ++i) tail_loss += rows[i].loss;
    if (tail > 0) tail_loss /= static_cast<double>(tail);
    const double ips = wall > 0 ? static_cast<double>(job_.iterations) / wall : 0;
    GW_INFO("finished " << job_.iterations << " iterations in " << wall << " s (" << ips
                        << " it/s); test loss " << eval.loss
                        << (eval.accuracy >= 0 ? ", test accuracy " + std::to_string(eval.accuracy)
                                               : std::string()));
    if (opt_.out_dir.empty()) return;
    WriteSummaryCsv(opt_.out_dir + "/summary.csv",
                    {{"workload", job_.workload.kind},
                     {"sync", job_.coding ? "coded" : job_.sync.ToString()},
                     {"coding", job_.coding ? job_.coding->ToString() : "none"},
                     {"straggler", CsvCell(job_.straggler.ToString())},
                     {"workers", std::to_string(job_.num_workers)},
                     {"servers", std::to_string(job_.num_servers)},
                     {"iterations", std::to_string(job_.iterations)},
                     {"batch_per_worker", std::to_string(job_.workload.batch_size)},
                     {"wall_s", std::to_string(wall)},
                     {"iterations_per_s", std::to_string(ips)},
                     {"train_loss_last20", std::to_string(tail_loss)},
                     {"test_loss", std::to_string(eval.loss)},
                     {"test_accuracy", std::to_string(eval.accuracy)}});
  }

  const JobConfig job_;
  const WorkerOptions opt_;
  std::unique_ptr<Workload> workload_;
  ModelLayout layout_;
  std::vector<float> params_, grad_;
  std::unique_ptr<Device> dev_;
  std::vector<ServerState> servers_;
  struct Kept {
    uint64_t iteration;
    double elapsed_s;
    std::vector<float> params;
  };
  std::vector<Kept> snapshots_;  // --eval-every
  uint64_t expected_iteration_ = 0;
  // Reconnecting (WorkerOptions::reconnect_timeout).
  std::optional<ServerLost> lost_;  // seen by Handle, thrown by WaitUntil
  std::optional<Clock::time_point> reconnect_deadline_;
  std::optional<IterationRow> pushed_row_;  // the iteration whose push went out, if any
  bool reconnected_ = false;
  double last_iteration_s_ = 0, last_blocked_s_ = 0;  // reported in window requests
  // --batch-tuning: rows of the next minibatch (server 0's grants set it), of the gradient
  // being pushed, and of the previous iteration with its compute time (reported).
  uint32_t batch_ = static_cast<uint32_t>(job_.workload.batch_size);
  uint32_t push_batch_ = batch_, last_batch_ = 0;
  double last_compute_s_ = 0;
  uint64_t pushes_sent_ = 0;  // whole pushes our transport finished (one per server)
  // Coded jobs: one push per message index, write ids from j << kMessageWrShift.
  static constexpr int kMessageWrShift = 32;
  std::vector<GatedPush> message_push_;
  bool fault_done_ = false;  // --inject-fault stop:I fired
  // Coded jobs.
  std::optional<CodedShape> shape_;
  std::unique_ptr<CodedTask> task_;
  std::vector<float> input_;     // written by the server: params or the residual
  std::vector<float> messages_;  // our results, sources of our writes
  int64_t last_round_ = -1;      // the last round we worked on
  int64_t closed_round_ = -1;    // the last round the server told us it closed
  std::optional<uint64_t> incoming_round_;
  uint32_t input_parts_ = 0;
  bool busy_ = false;
  bool final_ = false;
};

}  // namespace

void RunWorker(const JobConfig& job, const WorkerOptions& options) {
  SetLogIdentity("worker " + std::to_string(options.rank));
  Worker(job, options).Run();
}

}  // namespace gw
