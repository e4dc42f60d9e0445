// `gradwire bench`: filled in next.
#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
namespace gw::cli {
int BenchCommand(const std::string&, const std::vector<std::string>&) {
  throw UsageError("bench is not implemented yet");
}
int BenchServerCommand(const std::vector<std::string>&) { return 2; }
int BenchWorkerCommand(const std::vector<std::string>&) { return 2; }
}  // namespace gw::cli
