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
  // Called once the server listens, with the bound port (e.g. to tell a launcher).
  std::function<void(uint16_t)> on_listening;
};

// Serves until every worker finished (or was lost, where the rule allows going on). Throws
// gw::Error with a clear message when the job cannot go on: a worker lost under BSP, nobody
// joining, or no progress within the job's timeout.
void RunServer(const JobConfig& job, const ServerOptions& options);

}  // namespace gw
