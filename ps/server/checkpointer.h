// Checkpoints of one server's shard (ServerOptions::checkpoint_*, the file format in
// ps/checkpoint.h): set-up and resume at start, then every checkpoint_every model versions a
// copy of the shard and the optimizer state written by a background thread, so the event loop
// never waits on the disk. At most one write is in progress; busy() lets the core hold the
// release that follows a checkpoint until it is on disk, so a server killed at any moment has
// workers at most checkpoint_every iterations past its newest checkpoint (as when the write
// was made on the loop). A failed write is logged and training goes on (the previous
// checkpoint stays valid).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "ps/checkpoint.h"
#include "ps/job.h"
#include "ps/layout.h"
#include "ps/server.h"

namespace gw {

class Checkpointer {
 public:
  // Throws gw::Error if checkpoints are asked for a job or set-up they do not support.
  Checkpointer(const JobConfig& job, const ServerOptions& opt, const ModelLayout& layout);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // With --resume: the newest readable checkpoint of this server (nullopt: none there, start
  // from scratch). Throws gw::Error for an unreadable or foreign one.
  std::optional<Checkpoint> Resume();

  // After an update to model version `version`: if one is due, starts writing a copy of the
  // state the next release sends (waits for a previous write first, which checkpoint_every
  // apart is long done).
  void AfterUpdate(uint64_t version, std::span<const float> params,
                   std::span<const float> velocity);
  bool busy() const;
  // Waits for the write in progress; then written() is final.
  void Finish();
  uint64_t written() const;
  std::optional<uint64_t> resumed_from() const { return resumed_from_; }

 private:
  CheckpointOwner Owner() const;
  void WriteLoop();
  void Write(const Checkpoint& c);

  const JobConfig& job_;
  const ServerOptions& opt_;
  const ModelLayout& layout_;
  std::optional<uint64_t> resumed_from_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Checkpoint> pending_;  // handed over, being written
  bool stop_ = false;
  uint64_t written_ = 0;
  std::thread writer_;  // started with the first checkpoint
};

}  // namespace gw
