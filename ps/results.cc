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

std::ofstream OpenForWrite(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path);
  if (!out) throw Error("cannot write results file " + path + " (check --out)");
  return out;
}

// path gets kColumns' header, then one line per row.
template <const auto& kColumns, typename Row>
void WriteTable(const std::string& path, const std::vector<Row>& rows) {
  auto out = OpenForWrite(path);
  out << kCsvHeader<kColumns>.data() << '\n';
  out.precision(kCsvDigits);
  for (const auto& row : rows) WriteCsvRow(out, kColumns, row);
  CloseOrThrow(out, path);
}
}  // namespace

void CloseOrThrow(std::ofstream& out, const std::string& path) {
  // Buffered rows reach the disk at close: a full disk shows there, not at the last <<.
  errno = 0;
  out.close();
  if (!out) {
    throw Error("cannot write " + path + ": " +
                (errno ? std::strerror(errno) : "write failed (disk full?)"));
  }
}

void WriteIterationCsv(const std::string& path, const std::vector<IterationRow>& rows) {
  WriteTable<kIterationCsvColumns>(path, rows);
}

void WriteRoundCsv(const std::string& path, const std::vector<RoundRow>& rows) {
  WriteTable<kRoundCsvColumns>(path, rows);
}

void WriteAccuracyCsv(const std::string& path, const std::vector<AccuracyRow>& rows) {
  WriteTable<kAccuracyCsvColumns>(path, rows);
}

void WriteWindowCsv(const std::string& path, const std::vector<WindowRow>& rows) {
  WriteTable<kWindowCsvColumns>(path, rows);
}

void WriteWriteCsv(const std::string& path, const std::vector<WriteRecord>& rows) {
  WriteTable<kWriteCsvColumns>(path, rows);
}

void WriteLayerCsv(const std::string& path, const std::vector<LayerRecord>& rows) {
  WriteTable<kLayerCsvColumns>(path, rows);
}

void WriteSummaryCsv(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& fields) {
  auto out = OpenForWrite(path);
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
