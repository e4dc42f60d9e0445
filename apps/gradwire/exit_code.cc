// How a subcommand's failure becomes the process's exit code and one line on stderr.
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "base/error.h"

namespace gw::cli {

int ExitCodeOf(const std::string& command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "gradwire %s: %s\n", command.c_str(), e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "gradwire %s: error: %s\n", command.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gradwire %s: unexpected error: %s\n", command.c_str(), e.what());
    return 1;
  }
}

}  // namespace gw::cli
