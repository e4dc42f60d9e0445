#include "ps/results.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace gw {

namespace {
// Significant digits of every double cell (as every results CSV has had them: scripts and
// the two-build comparison read these cells as text).
static constexpr int kCsvDigits = 9;

std::string ErrnoText(const char* otherwise) { return errno ? std::strerror(errno) : otherwise; }
}  // namespace

std::ofstream OpenResultsFile(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  errno = 0;
  std::ofstream out(path);
  if (!out) {
    throw Error("cannot write results file " + path + ": " + ErrnoText("open failed") +
                " (check --out)");
  }
  out.precision(kCsvDigits);
  return out;
}

void FlushOrThrow(std::ofstream& out, const std::string& path) {
  errno = 0;
  out.flush();
  if (!out) throw Error("cannot write " + path + ": " + ErrnoText("write failed (disk full?)"));
}

void CloseOrThrow(std::ofstream& out, const std::string& path) {
  // Buffered rows reach the disk at close: a full disk shows there, not at the last <<.
  errno = 0;
  out.close();
  if (!out) throw Error("cannot write " + path + ": " + ErrnoText("write failed (disk full?)"));
}

void WriteSummaryCsv(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& fields) {
  auto out = OpenResultsFile(path);
  for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << fields[i].first;
  out << '\n';
  for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << fields[i].second;
  out << '\n';
  CloseOrThrow(out, path);
}

void AppendSummaryCsv(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
  std::ostringstream header, values;
  for (size_t i = 0; i < fields.size(); ++i) {
    header << (i ? "," : "") << fields[i].first;
    values << (i ? "," : "") << fields[i].second;
  }
  std::string first;
  {
    std::ifstream in(path);
    if (!in || !std::getline(in, first) || first != header.str()) {
      return WriteSummaryCsv(path, fields);  // none yet (or another format): start it
    }
  }
  std::ofstream out(path, std::ios::app);
  out << values.str() << '\n';
  CloseOrThrow(out, path);
}

}  // namespace gw
