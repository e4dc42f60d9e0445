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
};

// Coded jobs: iteration is the round (mds: two rounds per iteration).
inline constexpr const char* kIterationCsvHeader =
    "worker,iteration,compute_s,write_s,wait_s,bytes,loss,delay_s,messages";

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

// Writes rows (with the header) to path, creating parent directories. Throws gw::Error.
void WriteIterationCsv(const std::string& path, const std::vector<IterationRow>& rows);

// A flat key=value summary written as a two-line CSV (header, values), keys in given order.
void WriteSummaryCsv(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace gw
