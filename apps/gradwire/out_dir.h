// The results directory of `gradwire run` (--out): which files in it are gradwire's own, and
// making it ready for a new run without ever touching a file gradwire did not write.
#pragma once

#include <string>

namespace gw::cli {

// The first words of command.txt, which mark a directory a previous `gradwire run` or
// `gradwire sim` wrote (the same files either way).
static constexpr const char* kRunMarker = "gradwire run";
static constexpr const char* kSimMarker = "gradwire sim";

// True for the name of a file a run writes: command.txt, iterations.csv, summary.csv,
// rounds.csv, windows.csv, accuracy.csv, layers.csv, server-<s>.csv, server-<s>.port(.tmp),
// rounds-<s>.csv, windows-<s>.csv, worker-<w>.csv, writes-<w>.csv and layers-<w>.csv.
bool IsRunOutput(const std::string& filename);

// Creates dir if missing (an Error naming the path and the reason if it cannot). If a previous
// run wrote it (command.txt starts with kRunMarker or kSimMarker), removes that run's outputs,
// saying which; every other file is kept. If no run wrote it but a file there has an output's name,
// a UsageError: the run would overwrite a file that is not its own.
void PrepareOutDir(const std::string& dir);

}  // namespace gw::cli
