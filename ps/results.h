// Machine-readable results: one CSV row per worker per iteration, and a summary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gw {

struct IterationRow {
  uint32_t worker = 0;
  uint64_t iteration = 0;
  double compute_s = 0;  // gradient computation
  double write_s = 0;    // posting the gradient writes until they all finished sending
  double wait_s = 0;     // until the next parameters arrived (sync rule + network)
  uint64_t bytes = 0;    // gradient bytes written this iteration
  double loss = 0;       // minibatch loss
};

inline constexpr const char* kIterationCsvHeader =
    "worker,iteration,compute_s,write_s,wait_s,bytes,loss";

// Writes rows (with the header) to path, creating parent directories. Throws gw::Error.
void WriteIterationCsv(const std::string& path, const std::vector<IterationRow>& rows);

// A flat key=value summary written as a two-line CSV (header, values), keys in given order.
void WriteSummaryCsv(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace gw
