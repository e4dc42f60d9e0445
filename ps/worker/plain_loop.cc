#include "ps/worker/plain_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <span>
#include <string>

#include "base/error.h"
#include "base/log.h"
#include "ps/imm.h"
#include "ps/messages.h"
#include "sched/batch_tuner.h"

namespace gw {
namespace {

int64_t Nanoseconds(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

}  // namespace

PlainLoop::PlainLoop(const JobConfig& job, const WorkerOptions& options, Workload& workload,
                     const ModelLayout& layout, WorkerSession& session, WorkerMemory memory)
    : job_(job),
      options_(options),
      workload_(workload),
      layout_(layout),
      session_(session),
      faults_(options.fault),
      reconnector_(session, options.reconnect_timeout),
      report_(job, options, workload),
      own_params_(memory.params.empty() ? ZeroPages(layout.num_params() * sizeof(float))
                                        : ZeroPages()),
      own_grad_(memory.grad.empty() ? ZeroPages(layout.num_params() * sizeof(float)) : ZeroPages()),
      params_(memory.params.empty() ? own_params_.floats() : memory.params),
      grad_(memory.grad.empty() ? own_grad_.floats() : memory.grad),
      landed_(layout),
      batch_(static_cast<uint32_t>(job.workload.batch_size)),
      push_batch_(batch_) {
  if (!workload.layers().empty()) backprop_.emplace(workload.layers(), layout);
  if (!workload.own_tensors().empty()) tensor_parts_.emplace(workload.own_tensors(), layout);
  if (!pipelined() && job.push_order != sched::PushOrderSpec{}) {
    throw Error("--push-order " + job.push_order.ToString() + " orders the parts of a gradient " +
                "as its passes produce them: this worker computes its gradient in one call " +
                "(a Python worker: gradwire.torch.train pushes tensor by tensor)");
  }
  for (uint32_t s = 0; s < job.num_servers; ++s) {
    Gating gating;
    if (job.windows) {
      gating.ask = [this, s](uint64_t it, uint32_t priority, uint32_t part_index,
                             Duration ready_in) {
        SendWindowRequest(s, it, priority, part_index, ready_in);
      };
      gating.posted = [this, s](uint64_t it, uint32_t part_index, Duration held) {
        // Rounded up: a grant held at all is never reported as not held; capped at the field.
        const auto us = std::chrono::ceil<std::chrono::microseconds>(held).count();
        const auto held_us = static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
        session_.Send(s, MsgType::kWindowPosted, Encode(WindowPostedMsg{it, part_index, held_us}));
      };
      gating.per_part = job.windows->grants_parts();
      gating.window_bytes = job.part_bytes;  // small tensors share a partition's window
    }
    if (pipelined()) {
      pushes_.emplace_back(s, std::move(gating), job.push_order);
    } else {
      pushes_.emplace_back(s, std::move(gating));
    }
  }
  session.RegisterWriteSource(std::as_writable_bytes(grad_));
  for (uint32_t s = 0; s < job.num_servers; ++s) {
    session.RegisterServerRegion(
        s, std::as_writable_bytes(params_).subspan(layout.shard_begin(s) * sizeof(float),
                                                   layout.shard_size(s) * sizeof(float)));
  }
  session.SetEvents(this);
}

void PlainLoop::Run() {
  const Clock& clock = GetClock();
  std::optional<ServerLost> lost;
  try {
    session_.Join();
  } catch (const ServerLost& e) {
    lost = e;  // dropped as soon as welcomed: reconnected to like any server lost later
  }
  const TimePoint t0 = clock.Now();
  TimePoint last_progress = t0;
  std::vector<IterationRow> rows;
  rows.reserve(job_.iterations);
  report_.Open(pipelined());
  uint64_t it = 0;
  bool have_params = false;  // for iteration it
  while (true) {
    try {
      if (lost) {
        ForgetServers();
        reconnector_.Reconnect(*lost, it);
        lost.reset();
      }
      if (!have_params) {
        it = ResumeAt(it, &rows);
        WaitParams(it);
        have_params = true;
        reconnector_.OnParamsArrived();
      }
      if (it >= job_.iterations || faults_.EndsEarly(it)) break;
      rows.push_back(RunIteration(it, t0));
      ++it;
      if (pipelined() && it >= job_.iterations) FinishLayered(it, &rows.back());
      StreamResults(rows);
    } catch (const ServerLost& e) {
      lost = e;
      have_params = false;
      continue;
    }
    if (options_.progress && clock.SecondsSince(last_progress) >= kProgressEveryS) {
      last_progress = clock.Now();
      PrintProgress(it, rows, t0);
    }
  }
  const double train_s = clock.SecondsSince(t0);
  report_.Snapshot(job_.iterations, t0, params_);
  for (uint32_t s = 0; s < job_.num_servers; ++s) session_.Send(s, MsgType::kDone);
  StreamResults(rows);
  report_.Close();
  GW_INFO("sent " << pushes_sent_ << " whole pushes (" << job_.num_servers << " per iteration)");
  if (job_.windows) {
    uint64_t stale = 0, missed = 0, expired = 0;
    for (const GatedPush& push : pushes_) {
      stale += push.stale_grants();
      missed += push.missed_grants();
      expired += push.windows_expired();
    }
    GW_INFO("windows: " << expired << " ran out before their push was done, " << missed
                        << " granted ahead ran out before the gradient was ready, " << stale
                        << " stale grants ignored");
  }
  if (options_.evaluate) report_.Summarize(rows, t0, train_s, params_);
  session_.Shutdown();
}

// What finished since the last call reaches the results files: rows (each iteration's is
// complete once it is in `rows`), every write that completed and every layer recorded.
void PlainLoop::StreamResults(const std::vector<IterationRow>& rows) {
  for (; streamed_rows_ < rows.size(); ++streamed_rows_) report_.Append(rows[streamed_rows_]);
  streamed_writes_.resize(pushes_.size(), 0);
  for (size_t s = 0; s < pushes_.size(); ++s) {
    const std::span<const WriteRecord> records(pushes_[s].records());
    report_.Append(records.subspan(streamed_writes_[s]));
    streamed_writes_[s] = records.size();
  }
  report_.Append(std::span<const LayerRecord>(layer_rows_).subspan(streamed_layers_));
  streamed_layers_ = layer_rows_.size();
}

void PlainLoop::PrintProgress(uint64_t it, const std::vector<IterationRow>& rows,
                              TimePoint t0) const {
  const double rate = static_cast<double>(rows.size()) / GetClock().SecondsSince(t0);
  std::fprintf(stderr, "gradwire: iteration %llu/%llu (%.0f%%) loss %.4f, %.1f it/s, ETA %.0f s\n",
               static_cast<unsigned long long>(it),
               static_cast<unsigned long long>(job_.iterations),
               100.0 * static_cast<double>(it) / static_cast<double>(job_.iterations),
               rows.back().loss, rate, static_cast<double>(job_.iterations - it) / rate);
}

// Iteration it's row, its minibatch drawn.
IterationRow PlainLoop::StartRow(uint64_t it) {
  IterationRow row;
  row.worker = options_.rank;
  row.iteration = it;
  row.batch = batch_;
  if (job_.batch_tuning) {
    // Batches change size: the walk through the partition goes on from where it is
    // (the same batches as seeking while they do not; resuming is BSP-only anyway).
    workload_.SetBatchSize(batch_);
  } else {
    // The minibatch is a function of (seed, rank, iteration): a resumed run draws the same.
    workload_.SeekBatch(it);
  }
  return row;
}

// What the next window requests report of this iteration. R2SP's T_iter counts what it did,
// not what it waited for.
void PlainLoop::Remember(const IterationRow& row) {
  last_iteration_s_ = row.compute_s + row.delay_s + row.write_s + row.wait_s;
  last_blocked_s_ = row.gate_s + row.wait_s;
  last_compute_s_ = row.compute_s + row.delay_s;
  last_batch_ = row.batch;
}

// Iteration it: its gradient on the parameters that arrived for it, pushed, and the
// parameters for it + 1 awaited.
IterationRow PlainLoop::RunIteration(uint64_t it, TimePoint t0) {
  if (backprop_) return RunLayeredIteration(it, t0);
  if (tensor_parts_) return RunOwnPassesIteration(it, t0);
  const Clock& clock = GetClock();
  report_.Snapshot(it, t0, params_);
  IterationRow row = StartRow(it);
  // The writes exist before the gradient does (their source is grad_), so a window asked
  // ahead can be granted while it is computed.
  AddWrites(it);
  AskAhead();
  TimePoint t = clock.Now();
  row.loss = workload_.ComputeGradient(params_, grad_);
  row.compute_s = clock.SecondsSince(t);
  // An emulated compute time is that of the nominal batch; it scales with the rows.
  row.delay_s = InjectDelay(t, it, static_cast<double>(batch_) / job_.workload.batch_size);
  push_batch_ = batch_;
  t = clock.Now();
  BeginPush(it);
  row.gate_s = FinishPush(it);
  row.write_s = clock.SecondsSince(t);
  row.bytes = layout_.num_params() * sizeof(float);
  pushed_row_ = row;  // the servers may resume after this push: the row is then complete
  t = clock.Now();
  WaitParams(it + 1);
  pushed_row_.reset();
  row.wait_s = clock.SecondsSince(t);
  Remember(row);
  return row;
}

uint64_t PlainLoop::ResumeAt(uint64_t it, std::vector<IterationRow>* rows) {
  const uint64_t r = session_.ResumeIteration();
  if (r > it && pushed_row_ && pushed_row_->iteration == it) {
    rows->push_back(*pushed_row_);  // its push made it into the checkpoint
  }
  pushed_row_.reset();
  if (r == it && !reconnector_.reconnected()) return r;
  if (!reconnector_.reconnected()) {
    GW_INFO("the servers resumed from a checkpoint: starting at iteration " << r);
  } else {
    // Finished iterations the checkpoint does not hold (their rows stay in the CSV; the
    // redone ones follow), not counting the one under way when the server was lost.
    GW_INFO("resuming at iteration " << r << " (the servers' checkpoint): redoing "
                                     << (it > r ? it - r : 0) << " finished iteration(s)");
  }
  report_.ForgetSnapshotsFrom(r);
  expected_iteration_ = r;
  return r;
}

void PlainLoop::ForgetServers() {
  landed_.Clear();
  push_pending_ = false;
  for (auto& push : pushes_) push.Abandon();
  faults_.OnReconnect();
}

// A layered workload's iteration it: its forward pass layer by layer as the parameters for it
// land, then (the gradient buffer being about to change) the end of the push of it - 1, then
// backward with each layer's parts pushed the moment they exist. The push of it ends in the
// next iteration: its last writes overlap that forward pass.
// wait_s is what the forward pass waited for parameters; write_s what the previous push took
// after that; compute_s the rest (forward, backward, the gradient itself).
IterationRow PlainLoop::RunLayeredIteration(uint64_t it, TimePoint t0) {
  const Clock& clock = GetClock();
  IterationRow row = StartRow(it);
  const double scale = static_cast<double>(batch_) / job_.workload.batch_size;
  const TimePoint start = clock.Now();
  std::vector<LayerRecord> layers;
  const TimePoint forward_end =
      backprop_->Forward(session_, landed_, it, start, scale, &layers, &row.wait_s);
  TimePoint t = clock.Now();
  if (push_pending_) {
    row.gate_s = FinishPendingPush(it);
    RecordLayers(it - 1);  // its push ended, and the parameters it brought all landed
  }
  row.write_s = clock.SecondsSince(t);
  report_.Snapshot(it, t0, params_);  // every part of it landed
  t = clock.Now();
  row.loss = workload_.ComputeGradient(params_, grad_);
  row.delay_s = InjectDelay(t, it, scale);
  push_batch_ = batch_;
  LayeredIteration& li = layered_;
  li.start = start;
  li.layers = std::move(layers);
  for (LayerRecord& l : li.layers) l.start_s = std::chrono::duration<double>(start - t0).count();
  li.records_before.clear();
  for (const GatedPush& push : pushes_) li.records_before.push_back(push.records().size());
  AddWrites(it);
  BeginPush(it);
  li.push_start = clock.Now();
  backprop_->Backward(session_, pushes_, std::max(forward_end, clock.Now()), start, scale,
                      job_.overlap, &li.layers);
  push_pending_ = true;
  row.bytes = layout_.num_params() * sizeof(float);
  row.compute_s = clock.SecondsSince(start) - row.wait_s - row.write_s - row.delay_s;
  Remember(row);
  return row;
}

// After the last iteration: its push's end and the final parameters, counted in its row.
void PlainLoop::FinishLayered(uint64_t it, IterationRow* last) {
  const Clock& clock = GetClock();
  TimePoint t = clock.Now();
  const bool pending = push_pending_;
  if (pending) last->gate_s += FinishPendingPush(it);
  last->write_s += clock.SecondsSince(t);
  t = clock.Now();
  WaitParams(it);
  last->wait_s += clock.SecondsSince(t);
  if (pending) RecordLayers(it - 1);
}

double PlainLoop::FinishPendingPush(uint64_t it) {
  const double gate_s = FinishPush(it - 1);
  push_pending_ = false;
  return gate_s;
}

// Once the next parameters landed: each layer's push and landing times, kept for layers-W.csv.
void PlainLoop::RecordLayers(uint64_t it) {
  LayeredIteration& li = layered_;
  std::vector<WriteRecord> writes;
  for (uint32_t s = 0; s < pushes_.size(); ++s) {
    const auto& r = pushes_[s].records();
    writes.insert(writes.end(), r.begin() + static_cast<std::ptrdiff_t>(li.records_before[s]),
                  r.end());
  }
  if (backprop_) {
    backprop_->Finish(writes, li.push_start, li.start, landed_, &li.layers);
  } else {
    tensor_parts_->Finish(writes, li.push_start, li.start, landed_, &li.layers);
  }
  for (LayerRecord& l : li.layers) {
    l.worker = options_.rank;
    l.iteration = it;
    layer_rows_.push_back(l);
  }
}

// Writes this iteration's gradient into every server's slot, each server's parts inside
// the windows it grants (if the job has windows).
void PlainLoop::AddWrites(uint64_t it) {
  const auto bytes = std::as_bytes(grad_);
  for (uint32_t s = 0; s < job_.num_servers; ++s) {
    GatedPush& push = pushes_[s];
    const auto& parts = layout_.parts(s);
    const size_t begin = layout_.shard_begin(s);
    push.Begin(it);
    for (uint32_t p = 0; p < parts.size(); ++p) {
      push.Add(bytes.subspan(parts[p].begin * sizeof(float), parts[p].size * sizeof(float)),
               (parts[p].begin - begin) * sizeof(float), Imm::Encode(it, p),
               backprop_       ? backprop_->PartLayer(s, p)
               : tensor_parts_ ? tensor_parts_->PartTensor(s, p)
                               : 0);
    }
  }
}

// The estimate is the last iteration's compute time (gradient plus emulated straggler delay)
// scaled to this batch: late by as much as the compute time grew, early by as much as it shrank.
// None before the first iteration (the request then goes when the gradient is ready).
void PlainLoop::AskAhead() {
  if (!job_.windows || !job_.windows->ask_ahead || job_.windows->grants_parts()) return;
  if (!(last_compute_s_ > 0) || last_batch_ == 0) return;
  const double ready_in_s = last_compute_s_ * static_cast<double>(batch_) / last_batch_;
  const auto ready_in =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(ready_in_s));
  for (GatedPush& push : pushes_) push.AskAhead(ready_in);
}

void PlainLoop::BeginPush(uint64_t it) {
  // The server may answer before our own write completions are seen: from here on the
  // parameters that land are those for the next iteration.
  expected_iteration_ = it + 1;
  landed_.Clear();
  faults_.BeforePush(it);
  faults_.Poison(it, grad_);
  // Grants asked ahead that came while we computed are taken now, so Start finds them held
  // (their windows count from their arrival either way).
  if (std::any_of(pushes_.begin(), pushes_.end(),
                  [](const GatedPush& p) { return p.asked_ahead(); })) {
    session_.Poll(Duration::zero());
  }
  const TimePoint now = GetClock().Now();
  gate_before_push_.clear();
  for (GatedPush& push : pushes_) {
    gate_before_push_.push_back(push.gate_waited());
    push.Start(now);
  }
}

// Returns the seconds spent waiting for windows (the longest over the servers: their pushes
// run side by side).
double PlainLoop::FinishPush(uint64_t it) {
  // The gradient buffer is the writes' source: it must not change until they are out.
  session_.WaitUntil(
      [&] {
        // Mid-push: some of server 0's writes are done and some are not; a push that
        // finishes within one batch of completions dies right after it instead.
        faults_.MidPush(it, pushes_[0].writes_done());
        return std::all_of(pushes_.begin(), pushes_.end(),
                           [](const GatedPush& p) { return p.finished(); });
      },
      job_.windows ? "write window and end of our gradient writes" : "end of our gradient writes");
  pushes_sent_ += job_.num_servers;
  faults_.AfterPush(it);
  sched::Duration gate{};
  for (uint32_t s = 0; s < job_.num_servers; ++s) {
    gate = std::max(gate, pushes_[s].gate_waited() - gate_before_push_[s]);
  }
  return std::chrono::duration<double>(gate).count();
}

void PlainLoop::SendWindowRequest(uint32_t server, uint64_t it, uint32_t priority,
                                  uint32_t part_index, Duration ready_in) {
  WindowRequestMsg req;
  req.iteration = it;
  req.priority = priority;
  req.part_index = part_index;
  req.ready_in_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(ready_in).count();
  req.last_iteration_ns = Nanoseconds(last_iteration_s_);
  req.last_blocked_ns = Nanoseconds(last_blocked_s_);
  if (job_.batch_tuning) {
    req.batch = push_batch_;
    req.last_batch = last_batch_;
    req.last_compute_ns = Nanoseconds(last_compute_s_);
  }
  session_.Send(server, MsgType::kWindowRequest, Encode(req));
}

void PlainLoop::WaitParams(uint64_t it) {
  session_.WaitUntil(
      [&] {
        faults_.MidPull(it, landed_.count(0), layout_.parts(0).size());
        return landed_.All();
      },
      "parameters for iteration " + std::to_string(it));
}

// Sleeps until the straggler model's finish time for this iteration, counted from `start`.
double PlainLoop::InjectDelay(TimePoint start, uint64_t it, double scale) {
  if (job_.straggler.kind() == coding::StragglerKind::kNone) return 0;
  const double t = job_.straggler.Sample(static_cast<int>(options_.rank), it, 1)[0] * scale;
  if (!std::isfinite(t)) {
    throw Error("straggler model " + job_.straggler.ToString() +
                " stops this worker at iteration " + std::to_string(it));
  }
  Clock& clock = GetClock();
  const TimePoint before = clock.Now();
  clock.SleepUntil(start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t)));
  return clock.SecondsSince(before);
}

void PlainLoop::OnWelcome(uint32_t server, const std::shared_ptr<Connection>& conn,
                          const RemoteRegion& slot, uint64_t resume_iteration) {
  pushes_[server].Bind(conn, slot);
  // The parameters the server writes next, right behind the welcome, are those for the
  // iteration it starts us at (they may be in this very batch of completions).
  expected_iteration_ = resume_iteration;
}

bool PlainLoop::OnParamsLanded(uint32_t server, const Imm& imm) {
  // Another iteration's, a part the server does not have, or one that already landed.
  return Imm::Matches(imm.iteration_tag, expected_iteration_) &&
         landed_.Land(server, imm.part, GetClock().Now());
}

bool PlainLoop::OnWriteDone(uint32_t server, uint64_t wr_id) {
  // After reconnecting, a late completion of the connection before.
  if (session_.recovers_lost_servers() && pushes_[server].idle()) return false;
  pushes_[server].OnWriteDone(wr_id, GetClock().Now());
  return true;
}

void PlainLoop::OnGrant(uint32_t server, const WindowGrantMsg& grant, TimePoint received) {
  pushes_[server].OnGrant(grant.iteration, received, grant.window_ns, grant.part_index);
  if (grant.next_batch == 0 || !job_.batch_tuning || server != 0) return;
  if (grant.next_batch > sched::BatchTuner::kMaxScale * job_.workload.batch_size) {
    throw Error("server 0 sized our next batch at " + std::to_string(grant.next_batch) +
                " rows, over " + std::to_string(sched::BatchTuner::kMaxScale) + " x --batch " +
                std::to_string(job_.workload.batch_size) +
                " (does it run the same gradwire version?)");
  }
  batch_ = grant.next_batch;  // from our next iteration on
}

}  // namespace gw
