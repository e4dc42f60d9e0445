// `gradwire sim` in gradwire: the simulation is another binary, gradwire-sim, built beside
// gradwire, so that no other command loads SimGrid (net/CMakeLists.txt says what that costs).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/gradwire/commands.h"

namespace gw::cli {

namespace {

constexpr const char* kSimBinary = "gradwire-sim";

}  // namespace

int ExecSim(const std::string& self, const std::vector<std::string>& args) {
  const std::string path = (std::filesystem::path(self).parent_path() / kSimBinary).string();
  std::vector<std::string> argv_strings = {kSimBinary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  execv(path.c_str(), argv.data());
  const int err = errno;  // execv returns only on failure
  std::fprintf(stderr,
               "gradwire sim: cannot start %s: %s (gradwire-sim is built beside gradwire where "
               "SimGrid is: `make deps`, then build; a copied gradwire needs it copied too)\n",
               path.c_str(), std::strerror(err));
  return 1;
}

}  // namespace gw::cli
