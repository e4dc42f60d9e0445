// The adversarial client of the trust-boundary tests: a worker of a live job, holding the
// job's token and a real rank, that speaks the protocol through the project's own session
// (ps/worker/session.h) but writes what it likes: non-finite gradients, parts twice, writes
// of the wrong size or place, unknown control messages, an early done. Its honest push is a
// zero gradient, so a job it joins trains on the others' gradients.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/device.h"
#include "ps/imm.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/messages.h"
#include "ps/worker.h"
#include "ps/worker/session.h"
#include "ps/workload/workload.h"

namespace gw::adversary {

class InsiderWorker : public SessionEvents {
 public:
  // What one push of the shard holds, or how it is sent.
  enum class Push {
    kZeros,              // honest: a zero gradient, each part once
    kNan,                // every value NaN
    kOneNan,             // one NaN among zeros
    kInf,                // one +Inf
    kHuge,               // every value 1e38: finite, but the sum overflows
    kDuplicateNan,       // honest, then part 0 again holding NaN (a "late or duplicate" write)
    kEmptyAndMisplaced,  // a zero-length part 0, part 1 tagged part 0, then honest
  };

  // Joins server 0 of `job` as worker `rank` with `device` (job id and token).
  InsiderWorker(const JobConfig& job, uint32_t rank, const DeviceOptions& device)
      : job_(job),
        shape_(MakeWorkload(job.workload, rank, job.num_workers, /*load_data=*/false)),
        layout_(job.Layout(*shape_)) {
    options_.rank = rank;
    options_.device = device;
    const size_t n = layout_.shard_size(0);
    params_.assign(n, 0.0f);
    // One source per kind of push, registered once: [zeros | all NaN | one NaN | Inf | huge].
    source_.assign(5 * n, 0.0f);
    std::fill_n(source_.begin() + static_cast<std::ptrdiff_t>(n), n,
                std::numeric_limits<float>::quiet_NaN());
    source_[2 * n + n / 2] = std::numeric_limits<float>::quiet_NaN();
    source_[3 * n + n / 3] = std::numeric_limits<float>::infinity();
    std::fill_n(source_.begin() + static_cast<std::ptrdiff_t>(4 * n), n, 1e38f);
  }

  // Connects and joins; throws gw::Error as a worker would.
  void Join(const Address& server) {
    options_.servers = {server};
    session_ = std::make_unique<WorkerSession>(job_, options_, layout_, false);
    session_->SetEvents(this);
    session_->RegisterWriteSource(std::as_writable_bytes(std::span(source_)));
    session_->RegisterServerRegion(0, std::as_writable_bytes(std::span(params_)));
    session_->Join();
  }

  // Waits for the parameters of `iteration` (every part of the shard), then pushes.
  void Iterate(uint64_t iteration, Push kind) {
    session_->WaitUntil([&] { return landed_ == layout_.parts(0).size(); },
                        "parameters for iteration " + std::to_string(iteration));
    landed_ = 0;
    expected_ = iteration + 1;
    const size_t n = layout_.shard_size(0);
    const auto& parts = layout_.parts(0);
    const auto part = [&](size_t source, uint32_t p) {
      return std::as_bytes(std::span(source_))
          .subspan((source * n + parts[p].begin) * sizeof(float), parts[p].size * sizeof(float));
    };
    const auto write = [&](std::span<const std::byte> src, uint32_t p) {
      ++posted_;
      conn_->Write(src, slot_, parts[p].begin * sizeof(float), Imm::Encode(iteration, p), 0);
    };
    size_t source = 0;
    switch (kind) {
      case Push::kNan:
        source = 1;
        break;
      case Push::kOneNan:
        source = 2;
        break;
      case Push::kInf:
        source = 3;
        break;
      case Push::kHuge:
        source = 4;
        break;
      case Push::kEmptyAndMisplaced:
        write(part(0, 0).first(0), 0);
        if (parts.size() > 1) {
          ++posted_;
          conn_->Write(part(0, 1), slot_, parts[1].begin * sizeof(float), Imm::Encode(iteration, 0),
                       0);  // part 1's place, tagged part 0
        }
        break;
      default:
        break;
    }
    for (uint32_t p = 0; p < parts.size(); ++p) write(part(source, p), p);
    if (kind == Push::kDuplicateNan) write(part(1, 0), 0);
    // Our sources never change, but the writes must be out before we wait on anything else.
    session_->WaitUntil([&] { return done_ == posted_; }, "end of our writes");
  }

  void Send(MsgType type, const std::vector<uint8_t>& payload = {}) {
    session_->Send(0, type, payload);
  }
  // Sends `type` raw (any number, known or not) with `payload`.
  void SendRaw(uint16_t type, const std::vector<uint8_t>& payload) { conn_->Send(type, payload); }
  void Shutdown() { session_->Shutdown(); }

  // SessionEvents
  void OnWelcome(uint32_t, const std::shared_ptr<Connection>& conn, const RemoteRegion& slot,
                 uint64_t resume_iteration) override {
    conn_ = conn;
    slot_ = slot;
    expected_ = resume_iteration;
  }
  bool OnParamsLanded(uint32_t, const Imm& imm) override {
    if (!Imm::Matches(imm.iteration_tag, expected_)) return false;
    ++landed_;
    return true;
  }
  bool OnWriteDone(uint32_t, uint64_t) override {
    ++done_;
    return true;
  }
  void OnGrant(uint32_t, const WindowGrantMsg&, TimePoint) override {}

 private:
  const JobConfig job_;
  std::unique_ptr<Workload> shape_;
  ModelLayout layout_;
  WorkerOptions options_;
  std::vector<float> params_, source_;
  std::unique_ptr<WorkerSession> session_;
  std::shared_ptr<Connection> conn_;
  RemoteRegion slot_;
  uint64_t expected_ = 0;
  size_t landed_ = 0;
  uint64_t posted_ = 0, done_ = 0;
};

}  // namespace gw::adversary
