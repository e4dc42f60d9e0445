#include "ps/worker.h"

#include <memory>
#include <string>

#include "base/error.h"
#include "base/log.h"
#include "ps/worker/coded_loop.h"
#include "ps/worker/plain_loop.h"
#include "ps/worker/session.h"

namespace gw {

void RunWorker(const JobConfig& job, const WorkerOptions& options) {
  SetLogIdentity("worker " + std::to_string(options.rank));
  // A coded job's data lives in its CodedTask; this workload then only evaluates.
  const std::unique_ptr<Workload> workload = MakeWorkload(
      job.workload, options.rank, job.num_workers, /*load_data=*/!job.coding || options.evaluate);
  RunWorker(job, options, *workload);
}

void RunWorker(const JobConfig& job, const WorkerOptions& options, Workload& workload,
               WorkerMemory memory) {
  SetLogIdentity("worker " + std::to_string(options.rank));
  const ModelLayout layout = job.Layout(workload);
  const bool own_memory = !memory.params.empty() || !memory.grad.empty();
  if (own_memory && job.coding) {
    throw Error("a coded job's worker keeps its own memory (its rounds write coded messages)");
  }
  if (own_memory &&
      (memory.params.size() != layout.num_params() || memory.grad.size() != layout.num_params())) {
    throw Error("the worker's memory holds " + std::to_string(memory.params.size()) +
                " parameters and " + std::to_string(memory.grad.size()) +
                " gradient floats; the model has " + std::to_string(layout.num_params()));
  }
  if (options.rank >= job.num_workers) {
    throw Error("worker rank " + std::to_string(options.rank) + " out of range: the job has " +
                std::to_string(job.num_workers) + " worker(s)");
  }
  if (options.servers.size() != job.num_servers) {
    throw Error("the job has " + std::to_string(job.num_servers) + " server(s) but " +
                std::to_string(options.servers.size()) + " server address(es) were given");
  }
  // Reconnecting resumes plain iterations from the servers' checkpoint; coded rounds and
  // windows have no such resume.
  const bool recover_lost_servers =
      options.reconnect_timeout.count() > 0 && !job.coding && !job.windows;
  WorkerSession session(job, options, layout, recover_lost_servers);
  if (job.coding) {
    CodedLoop(job, options, workload, layout, session).Run();
  } else {
    PlainLoop(job, options, workload, layout, session, memory).Run();
  }
}

}  // namespace gw
