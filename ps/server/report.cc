#include "ps/server/report.h"

#include <span>

namespace gw {

void ServerReport::Open(bool coded, bool windows) {
  if (out_dir_.empty()) return;
  const std::string rank = std::to_string(rank_);
  if (coded) rounds_.Open(out_dir_ + "/rounds-" + rank + ".csv");
  if (windows) windows_.Open(out_dir_ + "/windows-" + rank + ".csv");
}

void ServerReport::Stream(const std::vector<RoundRow>& rounds,
                          const std::vector<WindowRow>& windows, size_t settled_windows,
                          TimePoint now) {
  last_stream_ = now;
  Append(rounds, windows, settled_windows);
}

void ServerReport::Append(const std::vector<RoundRow>& rounds,
                          const std::vector<WindowRow>& windows, size_t settled_windows) {
  if (rounds.size() > rounds_written_) {
    rounds_.Append(std::span(rounds).subspan(rounds_written_));
    rounds_written_ = rounds.size();
  }
  if (settled_windows > windows_written_) {
    windows_.Append(
        std::span(windows).subspan(windows_written_, settled_windows - windows_written_));
    windows_written_ = settled_windows;
  }
}

void ServerReport::Finish(const std::vector<RoundRow>& rounds,
                          const std::vector<WindowRow>& windows, const ServerSummary& summary) {
  if (out_dir_.empty()) return;
  Append(rounds, windows, windows.size());
  rounds_.Close();
  windows_.Close();
  AppendServerSummary(out_dir_, rank_, summary);
}

}  // namespace gw
