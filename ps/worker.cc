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
  const ModelLayout layout = job.Layout(*workload);
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
    CodedLoop(job, options, *workload, layout, session).Run();
  } else {
    PlainLoop(job, options, *workload, layout, session).Run();
  }
}

}  // namespace gw
