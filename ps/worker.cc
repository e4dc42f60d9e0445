#include "ps/worker.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "net/error.h"
#include "net/imm.h"
#include "net/log.h"
#include "ps/layout.h"
#include "ps/messages.h"
#include "ps/results.h"

namespace gw {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Worker {
 public:
  Worker(const JobConfig& job, const WorkerOptions& opt)
      : job_(job),
        opt_(opt),
        workload_(MakeWorkload(job.workload, opt.rank, job.num_workers, true)),
        layout_(workload_->num_params(), job.PartFloats(workload_->num_params()), job.num_servers),
        params_(layout_.num_params()),
        grad_(layout_.num_params()),
        servers_(job.num_servers) {
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
    dev_->RegisterMemory(std::as_writable_bytes(std::span(grad_)), dopt.self);
    for (uint32_t s = 0; s < job.num_servers; ++s) {
      auto shard = std::as_writable_bytes(std::span(params_))
                       .subspan(layout_.shard_begin(s) * sizeof(float),
                                layout_.shard_size(s) * sizeof(float));
      servers_[s].params = &dev_->RegisterMemory(shard, {Role::kServer, s});
    }
  }

  void Run() {
    Join();
    const auto t0 = Clock::now();
    auto last_progress = t0;
    WaitParams(0);
    std::vector<IterationRow> rows;
    rows.reserve(job_.iterations);
    const uint64_t grad_bytes = layout_.num_params() * sizeof(float);
    for (uint64_t it = 0; it < job_.iterations; ++it) {
      IterationRow row;
      row.worker = opt_.rank;
      row.iteration = it;
      auto t = Clock::now();
      row.loss = workload_->ComputeGradient(params_, grad_);
      row.compute_s = Since(t);
      t = Clock::now();
      PushGradient(it);
      row.write_s = Since(t);
      t = Clock::now();
      WaitParams(it + 1);
      row.wait_s = Since(t);
      row.bytes = grad_bytes;
      rows.push_back(row);
      if (opt_.progress && Since(last_progress) >= 2.0) {
        last_progress = Clock::now();
        const double rate = static_cast<double>(it + 1) / Since(t0);
        std::fprintf(stderr,
                     "gradwire: iteration %llu/%llu (%.0f%%) loss %.4f, %.1f it/s, ETA %.0f s\n",
                     static_cast<unsigned long long>(it + 1),
                     static_cast<unsigned long long>(job_.iterations),
                     100.0 * static_cast<double>(it + 1) / static_cast<double>(job_.iterations),
                     row.loss, rate, static_cast<double>(job_.iterations - it - 1) / rate);
      }
    }
    const double wall = Since(t0);
    for (auto& s : servers_) s.conn->Send(static_cast<uint16_t>(MsgType::kDone), {});
    if (!opt_.out_dir.empty()) {
      WriteIterationCsv(opt_.out_dir + "/worker-" + std::to_string(opt_.rank) + ".csv", rows);
    }
    if (opt_.evaluate) Summarize(rows, wall);
    dev_->Shutdown();
  }

 private:
  struct ServerState {
    std::shared_ptr<Connection> conn;
    Region* params = nullptr;  // our copy of its shard, written by it
    RemoteRegion slot;         // where we write our gradient for its shard
    uint32_t parts_landed = 0;
    bool welcomed = false;
  };

  void Join() {
    for (uint32_t s = 0; s < job_.num_servers; ++s) {
      servers_[s].conn = dev_->Connect(opt_.servers[s], {Role::kServer, s});
      JoinMsg join;
      join.fingerprint = job_.Fingerprint();
      join.params = servers_[s].params->Describe();
      servers_[s].conn->Send(static_cast<uint16_t>(MsgType::kJoin), Encode(join));
    }
    WaitUntil(
        [&] {
          for (const auto& s : servers_) {
            if (!s.welcomed) return false;
          }
          return true;
        },
        "a welcome from every server");
    GW_DEBUG("joined " << job_.num_servers << " server(s)");
  }

  void PushGradient(uint64_t it) {
    // The server may answer before our own write completions are seen: from here on the
    // parameters that land are those for the next iteration.
    expected_iteration_ = it + 1;
    const auto bytes = std::as_bytes(std::span(grad_));
    for (uint32_t s = 0; s < job_.num_servers; ++s) {
      const auto& parts = layout_.parts(s);
      const size_t begin = layout_.shard_begin(s);
      for (uint32_t p = 0; p < parts.size(); ++p) {
        servers_[s].conn->Write(
            bytes.subspan(parts[p].begin * sizeof(float), parts[p].size * sizeof(float)),
            servers_[s].slot, (parts[p].begin - begin) * sizeof(float), Imm::Encode(it, p), it);
        ++writes_in_flight_;
      }
    }
    // The gradient buffer is the writes' source: it must not change until they are out.
    WaitUntil([&] { return writes_in_flight_ == 0; }, "our gradient writes to finish");
  }

  void WaitParams(uint64_t it) {
    WaitUntil(
        [&] {
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
    }
  }

  void Handle(const Completion& c) {
    if (c.peer.role != Role::kServer || c.peer.rank >= job_.num_servers) return;
    ServerState& s = servers_[c.peer.rank];
    switch (c.kind) {
      case CompletionKind::kWriteLanded: {
        const Imm imm = Imm::Decode(c.imm);
        if (c.region != s.params->id() || !Imm::Matches(imm.iteration_tag, expected_iteration_)) {
          GW_WARN("ignoring unexpected parameters from server " << c.peer.rank << " (tag "
                                                                << imm.iteration_tag << ")");
          return;
        }
        ++s.parts_landed;
        return;
      }
      case CompletionKind::kWriteDone:
        if (!c.ok)
          throw Error("gradient write to server " + std::to_string(c.peer.rank) +
                      " failed: " + c.error);
        --writes_in_flight_;
        return;
      case CompletionKind::kControl:
        if (c.control_type == static_cast<uint16_t>(MsgType::kWelcome)) {
          const auto welcome = Decode<WelcomeMsg>(c.payload);
          if (!welcome || welcome->shard_size != layout_.shard_size(c.peer.rank)) {
            throw Error("server " + std::to_string(c.peer.rank) +
                        " sent a malformed welcome (does it run the same gradwire version?)");
          }
          s.slot = welcome->slot;
          s.welcomed = true;
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
        throw Error("lost server " + std::to_string(c.peer.rank) + ": " + c.error);
      case CompletionKind::kPeerConnected:
        return;
    }
  }

  void Summarize(const std::vector<IterationRow>& rows, double wall) {
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
                     {"sync", job_.sync.ToString()},
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
  uint64_t expected_iteration_ = 0;
  uint64_t writes_in_flight_ = 0;
};

}  // namespace

void RunWorker(const JobConfig& job, const WorkerOptions& options) {
  SetLogIdentity("worker " + std::to_string(options.rank));
  Worker(job, options).Run();
}

}  // namespace gw
