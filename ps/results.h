// Machine-readable results: one CSV row per worker per iteration, and a summary.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace gw {

struct IterationRow {
  uint32_t worker = 0;
  uint64_t iteration = 0;
  double compute_s = 0;   // gradient computation
  double write_s = 0;     // posting the gradient writes until they all finished sending
  double wait_s = 0;      // until the next parameters arrived (sync rule + network)
  uint64_t bytes = 0;     // gradient bytes written this iteration
  double loss = 0;        // minibatch loss
  double delay_s = 0;     // injected straggler delay (--straggler), apart from the others
  uint32_t messages = 1;  // writes of whole results (coded jobs: 0 when the round closed first)
  double gate_s = 0;      // of write_s: waiting for write windows (--windows)
  uint32_t batch = 0;     // minibatch rows (--batch, or as --batch-tuning sized it)
};

// Coded jobs: iteration is the round (mds: two rounds per iteration).
inline constexpr const char* kIterationCsvHeader =
    "worker,iteration,compute_s,write_s,wait_s,bytes,loss,delay_s,messages,gate_s,batch";

// One row per round of a coded job, from the server.
struct RoundRow {
  uint64_t round = 0;
  uint64_t iteration = 0;
  int phase = 0;               // mds: 0 = A·x, 1 = Aᵀ·r
  double duration_s = 0;       // from the previous round's close to this one's
  double decode_s = 0;         // decoding and the update, inside duration_s
  uint32_t messages_used = 0;  // messages decoding used
  uint32_t workers_used = 0;   // distinct workers among them
  double loss = std::numeric_limits<double>::quiet_NaN();  // mds even rounds: 0.5|Ax−y|²/m
};

inline constexpr const char* kRoundCsvHeader =
    "round,iteration,phase,duration_s,decode_s,messages_used,workers_used,loss";

void WriteRoundCsv(const std::string& path, const std::vector<RoundRow>& rows);

// The evaluating worker's model every --eval-every iterations, evaluated after the run.
struct AccuracyRow {
  uint64_t iteration = 0;  // the model that iteration started from
  double elapsed_s = 0;    // since the worker joined (its clock for the whole run)
  double test_loss = 0;
  double test_accuracy = 0;
};

inline constexpr const char* kAccuracyCsvHeader = "iteration,elapsed_s,test_loss,test_accuracy";

void WriteAccuracyCsv(const std::string& path, const std::vector<AccuracyRow>& rows);

// One row per write window the server granted (--windows): the push it served, when the
// push was requested, the window's start and end (seconds since the server started) and how
// it ended: "landed" (the push's last part landed), "revoked" (deadline passed first; the
// push is granted again later), "replaced" (round-robin's warm-up window given a deadline:
// a new row follows) or "removed" (the worker was lost or left); coded jobs (one push per
// message): "closed" (the round closed first: the request is withdrawn) or "abandoned" (the
// worker asked for its next message first).
struct WindowRow {
  uint32_t worker = 0;
  uint64_t iteration = 0;
  double requested_s = 0;
  double start_s = 0;
  double end_s = 0;
  double bound_s = 0;  // deadline − start; inf for an open-ended (burst) window
  std::string end;
  // When the push's last part landed (on every window row of that push); NaN if it never did.
  double landed_s = std::numeric_limits<double>::quiet_NaN();
  uint32_t message = 0;  // coded jobs: the message of the round (iteration = the round)
};

inline constexpr const char* kWindowCsvHeader =
    "worker,iteration,requested_s,start_s,end_s,bound_s,end,landed_s,message";

void WriteWindowCsv(const std::string& path, const std::vector<WindowRow>& rows);
struct WriteRecord;
// Per-write records of a worker's gated pushes (ps/gated_push.h).
void WriteWriteCsv(const std::string& path, const std::vector<WriteRecord>& rows);

// Writes rows (with the header) to path, creating parent directories. Throws gw::Error.
void WriteIterationCsv(const std::string& path, const std::vector<IterationRow>& rows);

// A flat key=value summary written as a two-line CSV (header, values), keys in given order.
void WriteSummaryCsv(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& fields);

// The same, but appends a values row when path already holds this header (a resumed
// server's summary follows the one of the run before, if that run got to write one).
void AppendSummaryCsv(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace gw
