// A parameter server: owns one shard of the model, gives every worker a slot region it alone
// may write its gradient into, applies updates under the job's sync rule, and writes the new
// parameters back into each worker's memory.
#pragma once

#include <functional>
#include <string>

#include "net/address.h"
#include "net/device.h"
#include "ps/job.h"

namespace gw {

struct ServerOptions {
  uint32_t rank = 0;
  Address listen;
  DeviceOptions device;  // job id, token, congestion control (self is set from rank)
  std::string out_dir;   // summary goes to out_dir/server-<rank>.csv ("" = none)
  // Checkpoints (BSP jobs without --coding or --windows): every checkpoint_every model
  // versions (0 = never) the shard, the optimizer state and the version are written
  // atomically into checkpoint_dir (the last two kept). With resume, the newest readable
  // checkpoint there is loaded and workers (re)joining start at its iteration; with none
  // there at all, the server says so and starts from scratch (one command line serves the
  // first start and every restart); an unreadable or foreign one is an error.
  std::string checkpoint_dir;
  uint64_t checkpoint_every = 0;
  bool resume = false;
  // A worker whose pushes were dropped this many times in a row for NaN, Inf or overflowing
  // values is lost (0 = never: each is dropped and warned about).
  uint32_t lose_after_rejected = 3;
  // Called once the server listens, with the bound port (e.g. to tell a launcher).
  std::function<void(uint16_t)> on_listening;
};

// Serves until every worker finished (or was lost, where the rule allows going on). Throws
// gw::Error with a clear message when the job cannot go on: a worker lost under BSP, nobody
// joining, or no progress within the job's timeout.
void RunServer(const JobConfig& job, const ServerOptions& options);

}  // namespace gw
