#include "ps/worker/coded_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <span>
#include <tuple>

#include "base/error.h"
#include "base/log.h"
#include "base/rate_limited_log.h"
#include "ps/imm.h"
#include "ps/messages.h"

namespace gw {

CodedLoop::CodedLoop(const JobConfig& job, const WorkerOptions& options, Workload& workload,
                     const ModelLayout& layout, WorkerSession& session)
    : job_(job),
      options_(options),
      session_(session),
      faults_(options.fault),
      report_(job, options, workload),
      shape_(CodedShape::Make(job, layout.num_params())),
      task_(job, shape_, options.rank),
      input_(shape_.max_input_floats()),
      messages_(static_cast<size_t>(shape_.spec.Messages()) * shape_.max_message_floats()) {
  for (int j = 0; j < shape_.spec.Messages(); ++j) {
    Gating gating;  // a coded message is one window whatever the policy
    if (job.windows) {
      // The estimate of T_iter comes from the server's rounds (WindowScheduler::kRounds).
      gating.ask = [this](uint64_t id, uint32_t, uint32_t, Duration) {
        WindowRequestMsg req;
        req.iteration = id;
        session_.Send(0, MsgType::kWindowRequest, Encode(req));
      };
      gating.posted = [this](uint64_t id, uint32_t, Duration) {
        session_.Send(0, MsgType::kWindowPosted, Encode(WindowPostedMsg{id}));
      };
    }
    message_push_.emplace_back(0, std::move(gating), static_cast<uint64_t>(j) << kMessageWrShift);
  }
  session.RegisterWriteSource(std::as_writable_bytes(std::span(messages_)));
  session.RegisterServerRegion(0, std::as_writable_bytes(std::span(input_)));
  session.SetEvents(this);
}

void CodedLoop::Run() {
  const Clock& clock = GetClock();
  session_.Join();
  const TimePoint t0 = clock.Now();
  TimePoint last_progress = t0;
  std::vector<IterationRow> rows;
  report_.Open(/*layered=*/false);
  while (true) {
    const TimePoint t = clock.Now();
    const uint64_t round = WaitInput();
    const double waited = clock.SecondsSince(t);
    if (final_) break;
    IterationRow row;
    row.worker = options_.rank;
    row.iteration = round;
    row.wait_s = waited;
    row.messages = 0;
    row.batch = static_cast<uint32_t>(job_.workload.batch_size);
    RunRound(round, &row);
    rows.push_back(row);
    report_.Append(row);
    report_.Append(TakeFinishedWrites());
    if (options_.progress && clock.SecondsSince(last_progress) >= kProgressEveryS) {
      last_progress = clock.Now();
      const uint64_t it = round / static_cast<uint64_t>(shape_.rounds_per_iteration());
      std::fprintf(stderr, "gradwire: round %llu (iteration %llu/%llu), %.1f rounds/s\n",
                   static_cast<unsigned long long>(round), static_cast<unsigned long long>(it),
                   static_cast<unsigned long long>(job_.iterations),
                   static_cast<double>(rows.size()) / clock.SecondsSince(t0));
    }
  }
  const double train_s = clock.SecondsSince(t0);
  session_.Send(0, MsgType::kDone);
  report_.Append(TakeFinishedWrites());
  report_.Close();
  if (options_.evaluate) {
    // The final model is the last input the server wrote.
    std::vector<float> params(shape_.d);
    std::copy_n(input_.begin(), shape_.d, params.begin());
    report_.Summarize(rows, t0, train_s, params);
  }
  session_.Shutdown();
}

// The message writes completed since the last call, by round and message.
std::vector<WriteRecord> CodedLoop::TakeFinishedWrites() {
  std::vector<WriteRecord> writes;
  streamed_writes_.resize(message_push_.size(), 0);
  for (size_t j = 0; j < message_push_.size(); ++j) {
    const auto& records = message_push_[j].records();
    writes.insert(writes.end(), records.begin() + static_cast<std::ptrdiff_t>(streamed_writes_[j]),
                  records.end());
    streamed_writes_[j] = records.size();
  }
  std::stable_sort(writes.begin(), writes.end(), [](const auto& a, const auto& b) {
    return std::tie(a.iteration, a.part) < std::tie(b.iteration, b.part);
  });
  return writes;
}

// Computes and sends this round's messages, each no earlier than the straggler model says,
// until done or the server says the round closed. Each message is its own push (GatedPush).
// With windows, a message's push asks the server for a window and is posted inside it; the
// next message asks once the previous push is out (the server keeps one request per
// worker), and a round that closes withdraws the push under way (its unposted writes are
// dropped; the server withdrew the window or request on its side).
void CodedLoop::RunRound(uint64_t round, IterationRow* row) {
  const Clock& clock = GetClock();
  const TimePoint start = clock.Now();
  const int phase = shape_.phase(round);
  const bool gated = job_.windows.has_value();
  // "none" injects nothing (its nominal times are for the models' arithmetic only).
  const std::vector<double> ready =
      job_.straggler.kind() == coding::StragglerKind::kNone
          ? std::vector<double>(shape_.spec.Messages(), 0.0)
          : coding::MessageTimes(shape_.spec, shape_.n, job_.straggler,
                                 static_cast<int>(options_.rank), round);
  const std::span<const float> input(input_.data(), shape_.input_floats(phase));
  const size_t msg_floats = shape_.message_floats(phase);
  // Message buffers are the sources of our last round's writes.
  session_.WaitUntil([&] { return MessagesOut(); }, "end of our last writes");
  const sched::Duration gate_before = GateWaited();
  busy_ = true;
  double loss_sum = 0;
  int losses = 0;
  int begun = 0;  // messages whose push began
  for (int j = 0; j < shape_.spec.Messages(); ++j) {
    const std::span<float> out(messages_.data() + j * shape_.max_message_floats(), msg_floats);
    TimePoint t = clock.Now();
    const double loss = task_.Compute(round, j, input, out);
    faults_.Poison(round, out);
    row->compute_s += clock.SecondsSince(t);
    if (!std::isnan(loss)) {
      loss_sum += loss;
      ++losses;
    }
    t = clock.Now();
    const bool closed = !SleepUntil(start, ready[j], round);
    row->delay_s += clock.SecondsSince(t);
    if (closed) break;
    t = clock.Now();
    if (gated && j > 0 &&
        !UntilClosed([&] { return Pushed(j - 1, round); }, round,
                     "write windows and our previous message's writes to finish")) {
      row->write_s += clock.SecondsSince(t);
      break;
    }
    BeginPush(j, round, out);
    ++begun;
    row->write_s += clock.SecondsSince(t);
  }
  if (gated && begun > 0) {
    const TimePoint t = clock.Now();
    UntilClosed([&] { return Pushed(begun - 1, round); }, round,
                "write windows and our message writes to finish");
    row->write_s += clock.SecondsSince(t);
  }
  if (closed_round_ == static_cast<int64_t>(round)) {
    for (int j = 0; j < begun; ++j) message_push_[j].Cancel(clock.Now());
  }
  for (int j = 0; j < begun; ++j) {
    row->bytes += message_push_[j].bytes();
    if (!message_push_[j].cancelled()) ++row->messages;
  }
  row->gate_s = std::chrono::duration<double>(GateWaited() - gate_before).count();
  busy_ = false;
  row->loss = losses > 0 ? loss_sum / losses : std::nan("");
  last_round_ = static_cast<int64_t>(round);
  // Told while busy: answer now that the input region is ours no more.
  if (closed_round_ == last_round_) SendSkipped();
}

void CodedLoop::BeginPush(int j, uint64_t round, std::span<const float> out) {
  GatedPush& push = message_push_[j];
  const uint64_t id = round * static_cast<uint64_t>(shape_.spec.Messages()) + j;
  push.Begin(id, round);
  const auto bytes = std::as_bytes(out);
  const size_t part_bytes = shape_.part_floats * sizeof(float);
  for (uint32_t p = 0; p < shape_.parts(out.size()); ++p) {
    const size_t off = p * part_bytes;
    push.Add(bytes.subspan(off, std::min(part_bytes, bytes.size() - off)),
             j * shape_.max_message_floats() * sizeof(float) + off,
             Imm::Encode(round, shape_.PartId(j, p)));
  }
  push.Start(GetClock().Now());
}

// --inject-fault stop:I (with --windows) stops in the middle of the first message push of
// round I, or of the first round after it in which this worker gets to push before the
// round closes, once a write of it is done: a writer that holds its window and falls silent.
bool CodedLoop::Pushed(int j, uint64_t round) {
  if (j == 0) {
    faults_.MidMessagePush(round, message_push_[0].writes_done(), message_push_[0].finished());
  }
  return message_push_[j].finished();
}

sched::Duration CodedLoop::GateWaited() const {
  return std::accumulate(
      message_push_.begin(), message_push_.end(), sched::Duration{},
      [](sched::Duration sum, const GatedPush& p) { return sum + p.gate_waited(); });
}

bool CodedLoop::MessagesOut() const {
  return std::all_of(message_push_.begin(), message_push_.end(),
                     [](const GatedPush& p) { return p.finished(); });
}

template <typename Pred>
bool CodedLoop::UntilClosed(Pred done, uint64_t round, const std::string& what) {
  session_.WaitUntil([&] { return done() || closed_round_ == static_cast<int64_t>(round); }, what);
  return done();
}

// The straggler model's +infinity (fail-stop) waits for exactly the round's close.
bool CodedLoop::SleepUntil(TimePoint start, double seconds, uint64_t round) {
  const TimePoint until =
      std::isfinite(seconds)
          ? start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds))
          : TimePoint::max();
  while (closed_round_ != static_cast<int64_t>(round)) {
    const TimePoint now = GetClock().Now();
    if (now >= until) return true;
    session_.Poll(std::min<Duration>(until - now, WorkerSession::kPollInterval));
  }
  return false;
}

uint64_t CodedLoop::WaitInput() {
  session_.WaitUntil(
      [&] {
        return incoming_round_ &&
               input_parts_ >=
                   shape_.parts(shape_.input_floats(final_ ? 0 : shape_.phase(*incoming_round_)));
      },
      "input for the next round");
  const uint64_t round = *incoming_round_;
  incoming_round_.reset();
  input_parts_ = 0;
  return round;
}

void CodedLoop::SendSkipped() {
  session_.Send(0, MsgType::kSkipped, Encode(RoundMsg{static_cast<uint64_t>(last_round_)}));
}

void CodedLoop::OnWelcome(uint32_t /*server*/, const std::shared_ptr<Connection>& conn,
                          const RemoteRegion& slot, uint64_t /*resume_iteration*/) {
  for (auto& push : message_push_) push.Bind(conn, slot);
}

bool CodedLoop::OnParamsLanded(uint32_t server, const Imm& imm) {
  if (!incoming_round_) {
    // Rounds only move forward; the one fed next is any newer than the last we worked on.
    const uint64_t next = static_cast<uint64_t>(last_round_ + 1);
    const uint64_t ahead = (imm.iteration_tag - next) & Imm::kIterMask;
    if (ahead >= (Imm::kIterMask >> 1)) {
      WarnOfPeer("server " + std::to_string(server),
                 "input for an old round (tag " + std::to_string(imm.iteration_tag) + "), ignored");
      return true;
    }
    incoming_round_ = next + ahead;
  }
  if (!Imm::Matches(imm.iteration_tag, *incoming_round_)) {
    WarnOfPeer("server " + std::to_string(server),
               "input tagged " + std::to_string(imm.iteration_tag) + " while receiving round " +
                   std::to_string(*incoming_round_) + ", ignored");
    return true;
  }
  ++input_parts_;
  return true;
}

bool CodedLoop::OnWriteDone(uint32_t /*server*/, uint64_t wr_id) {
  const uint64_t j = wr_id >> kMessageWrShift;
  if (j >= message_push_.size()) {
    throw Error("internal: a write completion of unknown message " + std::to_string(j));
  }
  message_push_[j].OnWriteDone(wr_id, GetClock().Now());
  return true;
}

void CodedLoop::OnGrant(uint32_t /*server*/, const WindowGrantMsg& grant, TimePoint received) {
  // The grant's id is round · messages + message; one for an old round or message is
  // ignored by its push.
  message_push_[grant.iteration % message_push_.size()].OnGrant(grant.iteration, received,
                                                                grant.window_ns);
}

void CodedLoop::OnRoundClosed(uint64_t round) {
  closed_round_ = static_cast<int64_t>(round);
  if (!busy_ && closed_round_ == last_round_) SendSkipped();
}

}  // namespace gw
