#include "ps/server/checkpointer.h"

#include <chrono>
#include <string>
#include <utility>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "ps/sync/registry.h"

namespace gw {
namespace {

// Checkpoints restore a barrier's state (every worker at the same iteration); rules that
// release one worker at a time have pushes in flight, and coded rounds and window turns are
// not in the file either.
bool CheckpointsSupported(const JobConfig& job) {
  return job.sync.rule().releases_together && !job.coding && !job.windows;
}

}  // namespace

Checkpointer::Checkpointer(const JobConfig& job, const ServerOptions& opt,
                           const ModelLayout& layout)
    : job_(job), opt_(opt), layout_(layout) {
  if (opt_.checkpoint_every == 0 && !opt_.resume) return;
  if (opt_.checkpoint_dir.empty()) {
    throw Error("--checkpoint-every and --resume need --checkpoint-dir");
  }
  if (!CheckpointsSupported(job_)) {
    throw Error(
        "checkpoints are implemented for --sync bsp without --coding and --windows (this job: " +
        job_.Describe() + ")");
  }
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

CheckpointOwner Checkpointer::Owner() const {
  return {job_.Fingerprint(),
          job_.Describe(),
          opt_.rank,
          layout_.shard_begin(opt_.rank),
          layout_.shard_size(opt_.rank),
          job_.iterations};
}

std::optional<Checkpoint> Checkpointer::Resume() {
  if (!opt_.resume) return std::nullopt;
  auto loaded = LoadNewestCheckpoint(opt_.checkpoint_dir, Owner());
  if (!loaded) {
    GW_INFO("--resume: no checkpoint of server " << opt_.rank << " in " << opt_.checkpoint_dir
                                                 << "; starting from scratch");
    return std::nullopt;
  }
  for (const auto& why : loaded->skipped) GW_WARN("skipped for an older one: " << why);
  resumed_from_ = loaded->checkpoint.iteration;
  GW_INFO("resuming from checkpoint " << loaded->path << ": iteration "
                                      << loaded->checkpoint.iteration);
  return std::move(loaded->checkpoint);
}

void Checkpointer::AfterUpdate(uint64_t version, std::span<const float> params,
                               std::span<const float> velocity) {
  if (opt_.checkpoint_every == 0 || version % opt_.checkpoint_every != 0) return;
  Checkpoint c;
  c.fingerprint = job_.Fingerprint();
  c.job = job_.Describe();
  c.server_rank = opt_.rank;
  c.shard_begin = layout_.shard_begin(opt_.rank);
  c.iteration = version;
  c.optimizer_steps = version;
  c.params.assign(params.begin(), params.end());
  c.velocity.assign(velocity.begin(), velocity.end());
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !pending_; });
  pending_ = std::move(c);
  if (!writer_.joinable()) writer_ = std::thread([this] { WriteLoop(); });
  cv_.notify_all();
}

bool Checkpointer::busy() const {
  std::lock_guard lock(mu_);
  return pending_.has_value();
}

void Checkpointer::Finish() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !pending_; });
}

uint64_t Checkpointer::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

void Checkpointer::WriteLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || pending_; });
    if (!pending_) return;  // stopped with nothing left to write
    lock.unlock();
    Write(*pending_);  // pending_ is not touched by the loop thread until it is reset
    lock.lock();
    pending_.reset();
    cv_.notify_all();
  }
}

void Checkpointer::Write(const Checkpoint& c) {
  const auto t = GetClock().Now();
  using Ms = std::chrono::duration<double, std::milli>;
  try {
    uint64_t bytes = 0;
    const std::string path = SaveCheckpoint(opt_.checkpoint_dir, c, /*keep=*/2, &bytes);
    {
      std::lock_guard lock(mu_);
      ++written_;
    }
    GW_INFO("checkpoint at iteration " << c.iteration << ": " << path << " (" << bytes << " bytes, "
                                       << Ms(GetClock().Now() - t).count() << " ms)");
  } catch (const Error& e) {
    GW_ERROR("checkpoint at iteration " << c.iteration << " failed (training goes on; the "
                                        << "previous checkpoint stays): " << e.what());
  }
}

}  // namespace gw
