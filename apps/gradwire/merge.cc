// `gradwire merge`: a job's results directory made whole from what its servers and workers
// wrote, as `gradwire run` and `gradwire sim` do after a job (run_results.h), for jobs started
// some other way (experiments/launch/launch.sh: ssh, Slurm, mpirun).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "apps/gradwire/run_results.h"

namespace gw::cli {

int MergeCommand(const std::vector<std::string>& args) {
  po::options_description d("Merge");
  d.add_options()("out", po::value<std::string>(), "the job's results directory")(
      "num-servers", po::value<uint32_t>(), "the job's servers")(
      "num-workers", po::value<uint32_t>(), "the job's workers");
  const auto vm = Parse("merge", "--out DIR --num-servers S --num-workers N", d, args);
  if (!vm) return 0;
  for (const char* flag : {"out", "num-servers", "num-workers"}) {
    if (!vm->count(flag)) throw UsageError(std::string("--") + flag + " is required");
  }
  const std::string out = (*vm)["out"].as<std::string>();
  if (!std::filesystem::is_directory(out)) throw UsageError("--out: no directory " + out);
  const auto totals =
      MergeJobCsvs(out, (*vm)["num-servers"].as<uint32_t>(), (*vm)["num-workers"].as<uint32_t>());
  PrintTable(totals, out);
  return 0;
}

}  // namespace gw::cli
