// A worker: computes gradients on its data partition, writes them one-sided into each
// server's slot for it, and trains on the parameters the servers write back into its memory.
#pragma once

#include <string>
#include <vector>

#include "net/address.h"
#include "net/device.h"
#include "ps/job.h"

namespace gw {

struct WorkerOptions {
  uint32_t rank = 0;
  std::vector<Address> servers;  // server s at index s
  DeviceOptions device;          // job id, token, congestion control (self is set from rank)
  std::string out_dir;           // worker-<rank>.csv (and summary.csv from the evaluator)
  bool evaluate = false;         // evaluate the final model on the test set
  bool progress = false;         // print a progress line every couple of seconds
};

// Trains job.iterations iterations. Throws gw::Error with a clear message when a server is
// lost, refuses the worker, aborts the job, or sends nothing within the job's timeout.
void RunWorker(const JobConfig& job, const WorkerOptions& options);

}  // namespace gw
