// A worker: computes gradients on its data partition, writes them one-sided into each
// server's slot for it, and trains on the parameters the servers write back into its memory.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "net/address.h"
#include "net/device.h"
#include "ps/fault.h"
#include "ps/job.h"
#include "ps/workload/workload.h"

namespace gw {

struct WorkerOptions {
  uint32_t rank = 0;
  std::vector<Address> servers;  // server s at index s
  DeviceOptions device;          // job id, token, congestion control (self is set from rank)
  std::string out_dir;           // worker-<rank>.csv (and summary.csv from the evaluator)
  bool evaluate = false;         // evaluate the final model on the test set
  bool progress = false;         // print a progress line every couple of seconds
  // A server connection lost mid-run (plain sync rules, no --coding or --windows): for this
  // long the worker reconnects to every server, joins again, and resumes at the iteration the
  // servers resumed from (their checkpoint). 0: a lost server ends the worker.
  std::chrono::milliseconds reconnect_timeout{0};
  InjectedFault fault;  // fault tests: SIGKILL ourselves at this point of this push
  // When the worker began (made its options, before loading data): summary.csv's startup_s
  // counts from here to joining.
  TimePoint started = GetClock().Now();
};

// The worker's model memory when its caller owns it (the Python module, whose tensors view
// it): the parameters the servers write and the gradient pushed from, each the model's
// num_params floats, registered with the device for the run. Empty: the worker allocates its
// own. The caller keeps them alive until RunWorker returns.
struct WorkerMemory {
  std::span<float> params, grad;
};

// Trains job.iterations iterations. Throws gw::Error with a clear message when a server is
// lost (and cannot be reconnected to), refuses the worker, aborts the job, or sends nothing
// within the job's timeout.
void RunWorker(const JobConfig& job, const WorkerOptions& options);
// The same with the caller's workload (MakeWorkload's for job.workload otherwise) and, for
// uncoded jobs, its memory (gw::Error if the sizes are not the model's; coded jobs refuse it).
void RunWorker(const JobConfig& job, const WorkerOptions& options, Workload& workload,
               WorkerMemory memory = {});

}  // namespace gw
