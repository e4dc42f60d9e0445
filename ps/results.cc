#include "ps/results.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "ps/gated_push.h"

namespace gw {

namespace {
std::ofstream OpenForWrite(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path);
  if (!out) throw Error("cannot write results file " + path + " (check --out)");
  return out;
}
}  // namespace

void WriteIterationCsv(const std::string& path, const std::vector<IterationRow>& rows) {
  auto out = OpenForWrite(path);
  out << kIterationCsvHeader << '\n';
  out.precision(9);
  for (const auto& r : rows) {
    out << r.worker << ',' << r.iteration << ',' << r.compute_s << ',' << r.write_s << ','
        << r.wait_s << ',' << r.bytes << ',' << r.loss << ',' << r.delay_s << ',' << r.messages
        << ',' << r.gate_s << ',' << r.batch << '\n';
  }
  if (!out) throw Error("failed writing " + path);
}

void WriteRoundCsv(const std::string& path, const std::vector<RoundRow>& rows) {
  auto out = OpenForWrite(path);
  out << kRoundCsvHeader << '\n';
  out.precision(9);
  for (const auto& r : rows) {
    out << r.round << ',' << r.iteration << ',' << r.phase << ',' << r.duration_s << ','
        << r.decode_s << ',' << r.messages_used << ',' << r.workers_used << ',' << r.loss << '\n';
  }
  if (!out) throw Error("failed writing " + path);
}

void WriteAccuracyCsv(const std::string& path, const std::vector<AccuracyRow>& rows) {
  auto out = OpenForWrite(path);
  out << kAccuracyCsvHeader << '\n';
  out.precision(9);
  for (const auto& r : rows) {
    out << r.iteration << ',' << r.elapsed_s << ',' << r.test_loss << ',' << r.test_accuracy
        << '\n';
  }
  if (!out) throw Error("failed writing " + path);
}

void WriteWindowCsv(const std::string& path, const std::vector<WindowRow>& rows) {
  auto out = OpenForWrite(path);
  out << kWindowCsvHeader << '\n';
  out.precision(9);
  for (const auto& r : rows) {
    out << r.worker << ',' << r.iteration << ',' << r.requested_s << ',' << r.start_s << ','
        << r.end_s << ',' << r.bound_s << ',' << r.end << ',' << r.landed_s << ',' << r.message
        << '\n';
  }
  if (!out) throw Error("failed writing " + path);
}

void WriteWriteCsv(const std::string& path, const std::vector<WriteRecord>& rows) {
  auto out = OpenForWrite(path);
  out << kWriteCsvHeader << '\n';
  out.precision(9);
  for (const auto& r : rows) {
    out << r.iteration << ',' << r.server << ',' << r.part << ',' << r.bytes << ',' << r.gate_s
        << ',' << r.queued_s << ',' << r.wire_s << '\n';
  }
  if (!out) throw Error("failed writing " + path);
}

void WriteSummaryCsv(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& fields) {
  auto out = OpenForWrite(path);
  for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << fields[i].first;
  out << '\n';
  for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << fields[i].second;
  out << '\n';
  if (!out) throw Error("failed writing " + path);
}

}  // namespace gw

namespace gw {

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
  if (!out) throw Error("failed writing " + path);
}

}  // namespace gw
