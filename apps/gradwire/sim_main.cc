// gradwire-sim: `gradwire sim` (sim.cc), which gradwire execs; also runnable by itself with the
// same flags. Apart from gradwire because it alone links SimGrid.
#include <string>
#include <vector>

#include "apps/gradwire/commands.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return gw::cli::ExitCodeOf("sim", [&] { return gw::cli::SimCommand(args); });
}
