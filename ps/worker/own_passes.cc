// PlainLoop's iterations for a workload that runs its own passes (Workload::own_tensors: a
// Python worker's framework): the worker's side of TensorEvents. Apart from plain_loop.cc,
// which holds the loop and the emulated (layered) and flat iterations.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "ps/worker/plain_loop.h"

namespace gw {

// The worker's side of a workload's own passes in iteration it_ (RunOwnPassesIteration).
class PlainLoop::OwnPassEvents final : public TensorEvents {
 public:
  OwnPassEvents(PlainLoop& loop, uint64_t it, TimePoint t0, TimePoint start, IterationRow& row)
      : loop_(loop), it_(it), t0_(t0), start_(start), row_(row) {
    const auto tensors = loop_.workload_.own_tensors();
    records_.resize(tensors.size());
    for (uint32_t t = 0; t < tensors.size(); ++t) {
      records_[t].layer = t;
      records_[t].bytes = tensors[t].size * sizeof(float);
      records_[t].start_s = std::chrono::duration<double>(start - t0).count();
    }
  }

  void WaitForward(size_t t) override {
    if (backward_begun_ || t >= loop_.tensor_parts_->num_tensors()) return;
    const auto& parts = loop_.tensor_parts_->Parts(t);
    const auto here = [&] { return loop_.landed_.AllOf(parts); };
    if (!here()) {
      const TimePoint before = GetClock().Now();
      loop_.session_.WaitUntil(here, "tensor " + std::to_string(t) +
                                         "'s parameters for iteration " + std::to_string(it_));
      row_.wait_s += GetClock().SecondsSince(before);
    }
    // The framework does not say when a module's forward pass ended: the record's forward
    // pass is the moment it could begin.
    LayerRecord& r = records_[t];
    if (r.forward_start_s == 0) r.forward_start_s = r.forward_end_s = SinceStart();
  }

  void BackwardBegins() override {
    if (backward_begun_) return;
    backward_begun_ = true;
    const Clock& clock = GetClock();
    TimePoint t = clock.Now();
    // Tensors the forward pass did not read: their parameters are this iteration's too.
    loop_.WaitParams(it_);
    row_.wait_s += clock.SecondsSince(t);
    t = clock.Now();
    if (loop_.push_pending_) {
      row_.gate_s = loop_.FinishPendingPush(it_);
      loop_.RecordLayers(it_ - 1);  // its push ended, and the parameters it brought all landed
    }
    row_.write_s = clock.SecondsSince(t);
    loop_.report_.Snapshot(it_, t0_, loop_.params_);
    loop_.push_batch_ = loop_.batch_;
    LayeredIteration& li = loop_.layered_;
    li.start = start_;
    li.layers.clear();  // this iteration's records: TakeRecords, once its passes ended
    li.records_before.clear();
    for (const GatedPush& push : loop_.pushes_) li.records_before.push_back(push.records().size());
    loop_.AddWrites(it_);
    loop_.BeginPush(it_);
    li.push_start = clock.Now();
    loop_.tensor_parts_->Reset();
  }

  void GradientReady(size_t t) override {
    if (!backward_begun_) BackwardBegins();
    // Writes posted at earlier hooks may have completed: an order that bounds the parts in
    // flight posts the next ones only once it sees that (Backprop's ComputeUntil does the same
    // between emulated layers).
    loop_.session_.HandleArrived();
    if (t < records_.size() && records_[t].backward_end_s == 0) {
      records_[t].backward_end_s = SinceStart();
    }
    ready_.clear();
    if (!loop_.tensor_parts_->Ready(t, &ready_)) return;
    MakeReady();
  }

  // After the passes: the parts of tensors that got no gradient (unused in this pass).
  void Finish() {
    if (!backward_begun_) BackwardBegins();
    const double now = SinceStart();
    for (LayerRecord& r : records_) {
      if (r.backward_end_s == 0) r.backward_end_s = now;  // unused in the pass: ready now
    }
    ready_.clear();
    loop_.tensor_parts_->RestReady(&ready_);
    MakeReady();
  }
  // The iteration's per-tensor records (layers-W.csv), their push and landing columns filled
  // once its push ended (RecordLayers).
  std::vector<LayerRecord> TakeRecords() { return std::move(records_); }

 private:
  void MakeReady() {
    const TimePoint now = GetClock().Now();
    for (const auto& [s, p] : ready_) loop_.pushes_[s].Ready(p, now);
  }

  double SinceStart() const {
    return std::chrono::duration<double>(GetClock().Now() - start_).count();
  }

  PlainLoop& loop_;
  const uint64_t it_;
  const TimePoint t0_, start_;
  IterationRow& row_;
  std::vector<LayerRecord> records_;  // [tensor]
  bool backward_begun_ = false;
  std::vector<std::pair<uint32_t, uint32_t>> ready_;
};

// Iteration it of a workload that runs its own passes: as RunLayeredIteration, with the
// workload's real passes telling the worker when to wait and what is ready (OwnPassEvents).
// wait_s: waits for parameters; write_s: the end of the previous push; compute_s the rest.
IterationRow PlainLoop::RunOwnPassesIteration(uint64_t it, TimePoint t0) {
  const Clock& clock = GetClock();
  IterationRow row = StartRow(it);
  const TimePoint start = clock.Now();
  OwnPassEvents events(*this, it, t0, start, row);
  row.loss = workload_.ComputeWithEvents(events);
  events.Finish();
  layered_.layers = events.TakeRecords();
  const TimePoint t = clock.Now();
  row.delay_s = InjectDelay(t, it, static_cast<double>(batch_) / job_.workload.batch_size);
  push_pending_ = true;
  row.bytes = layout_.num_params() * sizeof(float);
  row.compute_s = clock.SecondsSince(start) - row.wait_s - row.write_s - row.delay_s;
  Remember(row);
  return row;
}

}  // namespace gw
