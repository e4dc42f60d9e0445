#include "ps/server.h"

#include <string>

#include "base/log.h"
#include "ps/server/core.h"

namespace gw {

void RunServer(const JobConfig& job, const ServerOptions& options) {
  SetLogIdentity("server " + std::to_string(options.rank));
  ServerCore(job, options).Run();
}

}  // namespace gw
