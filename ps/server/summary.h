// One server's summary row (server-<rank>.csv): what the job did, as counted by the part that
// saw each thing happen (the sync or coded driver, the window desk, the core, the
// checkpointer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gw {

struct ServerSummary {
  uint64_t updates = 0;
  uint64_t pushes_received = 0;     // pushes (coded: messages) that landed whole
  uint64_t gradients_applied = 0;   // in updates (coded: messages the decoding used)
  uint64_t rows_applied = 0;        // minibatch rows behind them (uncoded only)
  uint64_t dropped_writes = 0;      // late, duplicate or unexpected writes; pushes refused
  uint64_t rejected_nonfinite = 0;  // pushes dropped for NaN, Inf or overflowing values
  uint64_t rejected_tainted = 0;    // pushes dropped: a dropped write landed over them
  uint64_t late_messages = 0;       // coded messages whose round was decoded without them
  uint64_t unwindowed_writes = 0;
  uint64_t stale_window_notices = 0;  // for a window that had ended, or not this worker's
  uint64_t workers_lost = 0;
  uint64_t gradient_bytes_received = 0;
  bool partial = false;  // the job failed: the counts are those up to the failure
  double startup_s = 0;  // from the server's start until every worker had joined
  double wall_s = 0;     // from the server's start to its end (train_s = wall_s - startup_s)
  std::optional<uint64_t> resumed_from;  // the checkpoint's iteration (none: a fresh start)
  uint64_t checkpoints = 0;
};

// Appends server `rank`'s row to out_dir/server-<rank>.csv: a resumed server's row follows
// the one of the run before it, if that run got to write one. Throws gw::Error.
void AppendServerSummary(const std::string& out_dir, uint32_t rank, const ServerSummary& s);

}  // namespace gw
