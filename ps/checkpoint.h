// A server's checkpoint: its shard of the parameters, the optimizer's state and the model
// version, with the job they belong to. One file per checkpoint,
// <dir>/server-<rank>-<iteration>.ckpt, written atomically (a .tmp file, fsync, rename, fsync
// of the directory), so a crash at any point leaves the previous checkpoint intact.
//
// Layout (little-endian): a fixed header (magic, format version, sizes, the job's
// fingerprint, rank, shard, iteration, optimizer steps) and a payload (the job's description
// text, the parameters, the optimizer's velocity), with a CRC-32 over both. A short, corrupt
// or foreign file is refused with a message saying which; nothing is trusted before the sizes
// are checked against the file's length. A checkpoint is input like a peer's bytes: only a
// regular file is opened (a FIFO or a link to a device is refused, never waited on or read),
// its header is checked before its payload is read, and its parameters must be finite.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gw {

struct Checkpoint {
  uint64_t fingerprint = 0;  // JobConfig::Fingerprint() of the job that wrote it
  std::string job;           // its JobConfig::Describe(), to say what differs on a mismatch
  uint32_t server_rank = 0;
  uint64_t shard_begin = 0;
  uint64_t iteration = 0;  // model version: updates applied (BSP: iterations completed)
  uint64_t optimizer_steps = 0;
  std::vector<float> params;    // the server's shard
  std::vector<float> velocity;  // SgdMomentum's momentum buffer for the shard
};

// What a checkpoint must match to be resumed by a server.
struct CheckpointOwner {
  uint64_t fingerprint = 0;
  std::string job;
  uint32_t server_rank = 0;
  uint64_t shard_begin = 0;
  uint64_t shard_size = 0;
  // The largest model version the job can reach (its iterations): a checkpoint beyond it was
  // forged or belongs elsewhere, and resuming it would end the job at once as if done.
  uint64_t max_iteration = UINT64_MAX;
};

std::string CheckpointPath(const std::string& dir, uint32_t rank, uint64_t iteration);

// Writes the checkpoint to <final path>.tmp and fsyncs it; returns the .tmp path. Throws
// gw::Error (e.g. disk full) after removing the partial file.
std::string StageCheckpoint(const std::string& dir, const Checkpoint& c);
// Renames a staged file to its final name and fsyncs the directory. Throws gw::Error.
void CommitCheckpoint(const std::string& tmp_path);
// Stage + commit, then removes this rank's checkpoints older than the newest `keep` (and any
// stale .tmp of it). Returns the checkpoint's path and size in bytes.
std::string SaveCheckpoint(const std::string& dir, const Checkpoint& c, int keep = 2,
                           uint64_t* bytes = nullptr);

// Reads and verifies one file: a regular file, magic, version, sizes (at most max_floats
// parameters, checked before the payload is read), checksum, finite parameters and velocity.
// Throws gw::Error naming the file and what is wrong with it.
Checkpoint ReadCheckpoint(const std::string& path, uint64_t max_floats = UINT64_MAX);
// Throws gw::Error if c was written by another job, rank or shard (the message says which).
void CheckCheckpointOwner(const Checkpoint& c, const CheckpointOwner& owner,
                          const std::string& path);

struct LoadedCheckpoint {
  Checkpoint checkpoint;
  std::string path;
  std::vector<std::string> skipped;  // newer files refused as unreadable, with the reason
};

// This rank's newest readable checkpoint in dir; nullopt when dir holds none of this rank's
// checkpoint files at all. An unusable newest file (short, corrupt, not a regular file, a
// name whose iteration is out of range or differs from its header's, an iteration beyond
// owner.max_iteration, more parameters than the shard) is skipped for the one before it
// (listed in skipped); if none is usable, throws gw::Error listing why. A readable one of
// another job throws at once: resuming it would train something else.
std::optional<LoadedCheckpoint> LoadNewestCheckpoint(const std::string& dir,
                                                     const CheckpointOwner& owner);

}  // namespace gw
