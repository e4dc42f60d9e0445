#include "apps/gradwire/out_dir.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "apps/gradwire/flags.h"
#include "base/error.h"

namespace gw::cli {

namespace fs = std::filesystem;

namespace {

// One file per job, written by the servers, the workers or run itself.
static constexpr std::array<std::string_view, 7> kJobFiles = {
    "command.txt", "iterations.csv", "summary.csv", "rounds.csv",
    "windows.csv", "accuracy.csv",   "layers.csv"};

// One file per process: <prefix><rank><suffix>.
struct PerProcessFile {
  std::string_view prefix, suffix;
};
static constexpr std::array<PerProcessFile, 8> kProcessFiles = {{{"server-", ".csv"},
                                                                 {"rounds-", ".csv"},
                                                                 {"windows-", ".csv"},
                                                                 {"layers-", ".csv"},
                                                                 {"server-", ".port"},
                                                                 {"server-", ".port.tmp"},
                                                                 {"worker-", ".csv"},
                                                                 {"writes-", ".csv"}}};

bool IsRankedName(std::string_view name, const PerProcessFile& f) {
  if (!name.starts_with(f.prefix) || !name.ends_with(f.suffix)) return false;
  if (name.size() <= f.prefix.size() + f.suffix.size()) return false;
  const std::string_view rank =
      name.substr(f.prefix.size(), name.size() - f.prefix.size() - f.suffix.size());
  return std::all_of(rank.begin(), rank.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool WrittenByRun(const std::string& dir) {
  std::ifstream f(dir + "/command.txt");
  std::string first;
  return std::getline(f, first) && (first.starts_with(kRunMarker) || first.starts_with(kSimMarker));
}

}  // namespace

bool IsRunOutput(const std::string& filename) {
  return std::find(kJobFiles.begin(), kJobFiles.end(), filename) != kJobFiles.end() ||
         std::any_of(kProcessFiles.begin(), kProcessFiles.end(),
                     [&](const PerProcessFile& f) { return IsRankedName(filename, f); });
}

void PrepareOutDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error("cannot use --out " + dir + ": " +
                (ec ? ec.message() : std::string("it exists and is not a directory")));
  }
  std::vector<fs::path> outputs;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && IsRunOutput(e.path().filename().string())) {
      outputs.push_back(e.path());
    }
  }
  if (ec) throw Error("cannot read --out " + dir + ": " + ec.message());
  if (outputs.empty()) return;
  std::sort(outputs.begin(), outputs.end());
  std::string names;
  for (const auto& p : outputs) names += (names.empty() ? "" : ", ") + p.filename().string();
  if (!WrittenByRun(dir)) {
    throw UsageError("--out " + dir + " holds " + names +
                     " but no previous `gradwire run` wrote it (no command.txt starting '" +
                     kRunMarker + "'): not overwriting; give a new or empty directory");
  }
  std::fprintf(stderr,
               "gradwire: --out %s holds a previous run; replacing its outputs (%s), "
               "keeping every other file\n",
               dir.c_str(), names.c_str());
  for (const auto& p : outputs) {
    if (!fs::remove(p, ec) && ec) {
      throw Error("cannot remove the previous run's " + p.string() + ": " + ec.message());
    }
  }
}

}  // namespace gw::cli
