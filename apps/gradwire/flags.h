// Command-line flags and launcher variables, read in one place. Flags win; where a flag is
// absent, the variables that launchers set fill in (Slurm, Open MPI, ps-lite's DMLC_*).
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/device.h"
#include "ps/job.h"

namespace gw::cli {

namespace po = boost::program_options;

// A bad flag or value: main prints one line and exits with code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

// The launcher variables gradwire understands, read once at start-up.
struct LauncherEnv {
  std::optional<uint32_t> rank;          // SLURM_PROCID, OMPI_COMM_WORLD_RANK
  std::optional<uint32_t> world_size;    // SLURM_NTASKS, OMPI_COMM_WORLD_SIZE
  std::optional<std::string> dmlc_role;  // DMLC_ROLE: server | worker
  std::optional<std::string> root_uri;   // DMLC_PS_ROOT_URI
  std::optional<uint16_t> root_port;     // DMLC_PS_ROOT_PORT
  std::optional<uint32_t> num_workers;   // DMLC_NUM_WORKER
  std::optional<uint32_t> num_servers;   // DMLC_NUM_SERVER
  std::optional<std::string> token;      // GRADWIRE_TOKEN (kept off the command line)

  static LauncherEnv Read();
};

// "4096", "64K", "100M", "1G" (binary units). Throws UsageError.
uint64_t ParseBytes(const std::string& text, const std::string& flag);

// A server's or worker's rank: --rank, else the launcher's (SLURM_PROCID, ...). UsageError.
uint32_t RankFrom(const po::variables_map& vm, const LauncherEnv& env, const char* role);
// An address flag's value; UsageError naming --flag.
Address AddressFlag(const std::string& text, const char* flag);

po::options_description JobFlags();
po::options_description ConnectionFlags();
// Parses argv against desc (plus --help); prints help and returns nullopt for --help.
std::optional<po::variables_map> Parse(const std::string& command, const std::string& synopsis,
                                       const po::options_description& desc,
                                       const std::vector<std::string>& args);
// The job the flags describe, validated (JobConfig::Validate): a contradiction is a UsageError.
JobConfig JobFrom(const po::variables_map& vm, const LauncherEnv& env);
// Where a process's token comes from. kGiven: a server or worker, which refuses to start
// without one (GRADWIRE_TOKEN or --token) unless --insecure-no-token is given, then warns once.
// kMadeHere: a launcher that makes one per job for its children (`run`, `bench`).
enum class TokenSource { kGiven, kMadeHere };
// The connection flags, validated: a job id or token longer than the handshake carries
// (Hello::kMaxString) is refused, as is a missing token under kGiven. Throws UsageError.
DeviceOptions DeviceFrom(const po::variables_map& vm, const LauncherEnv& env, TokenSource source);
// --log-level's value (debug, info, warn, error) set for the process; UsageError otherwise.
void SetLogLevelFlag(const std::string& level);
// The job and connection flags as given, re-serialised for child processes (without
// --num-workers/--num-servers, which the launcher sets, and --token, which goes by env).
std::vector<std::string> Forwarded(const po::variables_map& vm,
                                   const std::vector<po::options_description>& groups);

}  // namespace gw::cli
