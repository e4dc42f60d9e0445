#include "ps/server/summary.h"

#include "ps/results.h"

namespace gw {

void AppendServerSummary(const std::string& out_dir, uint32_t rank, const ServerSummary& s) {
  AppendSummaryCsv(out_dir + "/server-" + std::to_string(rank) + ".csv",
                   {{"server", std::to_string(rank)},
                    {"updates", std::to_string(s.updates)},
                    {"pushes_received", std::to_string(s.pushes_received)},
                    {"gradients_applied", std::to_string(s.gradients_applied)},
                    {"rows_applied", std::to_string(s.rows_applied)},
                    {"dropped_writes", std::to_string(s.dropped_writes)},
                    {"rejected_nonfinite", std::to_string(s.rejected_nonfinite)},
                    {"rejected_tainted", std::to_string(s.rejected_tainted)},
                    {"late_messages", std::to_string(s.late_messages)},
                    {"unwindowed_writes", std::to_string(s.unwindowed_writes)},
                    {"stale_window_notices", std::to_string(s.stale_window_notices)},
                    {"workers_lost", std::to_string(s.workers_lost)},
                    {"gradient_bytes_received", std::to_string(s.gradient_bytes_received)},
                    {"partial", s.partial ? "1" : "0"},
                    {"startup_s", std::to_string(s.startup_s)},
                    {"train_s", std::to_string(s.wall_s - s.startup_s)},
                    {"wall_s", std::to_string(s.wall_s)},
                    {"resumed_from", s.resumed_from ? std::to_string(*s.resumed_from) : "-1"},
                    {"checkpoints", std::to_string(s.checkpoints)}});
}

}  // namespace gw
