// What a server leaves in its results directory: rounds-<rank>.csv (coded jobs) and
// windows-<rank>.csv (--windows) streamed as their rows become final, so a server that fails
// or is killed keeps them, and its summary row (server-<rank>.csv) at the end, also when the
// job failed (then marked partial). Nothing without --out. Every file is the server's own: a
// job's servers share the directory (two servers streaming into one windows.csv tore each
// other's rows); the launcher merges them into rounds.csv and windows.csv with a server column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ps/results.h"
#include "ps/server/summary.h"

namespace gw {

class ServerReport {
 public:
  // Rows reach the files at most this long after they became final (the server's loop runs
  // per completion: a flush per completion would be a write(2) per write landed).
  static constexpr Duration kStreamEvery = std::chrono::milliseconds(200);

  ServerReport(std::string out_dir, uint32_t rank) : out_dir_(std::move(out_dir)), rank_(rank) {}

  // Starts rounds-<rank>.csv and windows-<rank>.csv where the job has them. Throws gw::Error
  // naming a file.
  void Open(bool coded, bool windows);
  // Whether kStreamEvery passed since the last Stream (callers skip computing its arguments).
  bool Due(TimePoint now) const { return now - last_stream_ >= kStreamEvery; }
  // Appends the rounds logged and the first `settled_windows` window rows not yet in the files.
  void Stream(const std::vector<RoundRow>& rounds, const std::vector<WindowRow>& windows,
              size_t settled_windows, TimePoint now);
  // Appends every row left (final or not: the job is over), closes the files and appends the
  // summary row. Throws gw::Error naming the file it could not write.
  void Finish(const std::vector<RoundRow>& rounds, const std::vector<WindowRow>& windows,
              const ServerSummary& summary);

 private:
  void Append(const std::vector<RoundRow>& rounds, const std::vector<WindowRow>& windows,
              size_t settled_windows);

  const std::string out_dir_;
  const uint32_t rank_;
  CsvStream<RoundRow, kRoundCsvColumns> rounds_;
  CsvStream<WindowRow, kWindowCsvColumns> windows_;
  size_t rounds_written_ = 0, windows_written_ = 0;
  TimePoint last_stream_{};
};

}  // namespace gw
