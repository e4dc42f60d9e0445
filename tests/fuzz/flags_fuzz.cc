// The gradwire command line (apps/gradwire/flags.h): the input split at NUL bytes is the
// argument list of `gradwire server|worker|run`, parsed against the job and connection flags
// and turned into a job (JobFrom) and device options (DeviceFrom) with no launcher variables.
// A UsageError is the one expected refusal (main prints it and exits 2); anything else
// escaping is a bug. An accepted command line, forwarded to a child process the way `gradwire
// run` does (Forwarded), must give the child the same job.
#include <iostream>
#include <string>
#include <vector>

#include "apps/gradwire/flags.h"
#include "base/log.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace cli = gw::cli;

struct Parsed {
  gw::JobConfig job;
  gw::DeviceOptions device;
  std::vector<std::string> forwarded;
};

// nullopt for --help or a UsageError; traps on any other exception.
std::optional<Parsed> ParseArgs(const std::vector<std::string>& args) {
  cli::po::options_description desc;
  const cli::po::options_description job = cli::JobFlags(), conn = cli::ConnectionFlags();
  desc.add(job).add(conn);
  try {
    const auto vm = cli::Parse("run", "", desc, args);
    if (!vm) return std::nullopt;
    Parsed p;
    p.job = cli::JobFrom(*vm, cli::LauncherEnv{});
    p.device = cli::DeviceFrom(*vm, cli::LauncherEnv{}, cli::TokenSource::kMadeHere);
    p.forwarded = cli::Forwarded(*vm, {job, conn});
    return p;
  } catch (const cli::UsageError& e) {
    FUZZ_CHECK(std::string(e.what()).size() > 0);
    return std::nullopt;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    FUZZ_CHECK(!"only UsageError may escape the flag parser");
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::cout.setstate(std::ios::failbit);  // --help text
  gw::SetLogLevel(gw::LogLevel::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\0') {
      args.emplace_back();
    } else {
      args.back() += static_cast<char>(data[i]);
    }
  }
  const auto first = ParseArgs(args);
  if (!first) return 0;
  // What `gradwire run` passes its children: the forwarded flags, the sizes, the token by env.
  std::vector<std::string> child = first->forwarded;
  child.push_back("--num-workers=" + std::to_string(first->job.num_workers));
  child.push_back("--num-servers=" + std::to_string(first->job.num_servers));
  const auto second = ParseArgs(child);
  FUZZ_CHECK(second.has_value());
  FUZZ_CHECK(second->job.Fingerprint() == first->job.Fingerprint());
  FUZZ_CHECK(second->job.Describe() == first->job.Describe());
  FUZZ_CHECK(second->device.job_id == first->device.job_id);
  FUZZ_CHECK(second->forwarded == first->forwarded);
  return 0;
}
