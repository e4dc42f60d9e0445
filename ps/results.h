// Machine-readable results: one CSV row per worker per iteration, and a summary. Each CSV's
// columns are one table (ps/csv_columns.h) that gives both its header and its rows.
#pragma once

#include <array>
#include <cstdint>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ps/csv_columns.h"

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
inline constexpr auto kIterationCsvColumns = std::to_array<CsvColumn<IterationRow>>({
    MemberColumn<&IterationRow::worker>("worker"),
    MemberColumn<&IterationRow::iteration>("iteration"),
    MemberColumn<&IterationRow::compute_s>("compute_s"),
    MemberColumn<&IterationRow::write_s>("write_s"),
    MemberColumn<&IterationRow::wait_s>("wait_s"),
    MemberColumn<&IterationRow::bytes>("bytes"),
    MemberColumn<&IterationRow::loss>("loss"),
    MemberColumn<&IterationRow::delay_s>("delay_s"),
    MemberColumn<&IterationRow::messages>("messages"),
    MemberColumn<&IterationRow::gate_s>("gate_s"),
    MemberColumn<&IterationRow::batch>("batch"),
});
inline constexpr const char* kIterationCsvHeader = kCsvHeader<kIterationCsvColumns>.data();

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

inline constexpr auto kRoundCsvColumns = std::to_array<CsvColumn<RoundRow>>({
    MemberColumn<&RoundRow::round>("round"),
    MemberColumn<&RoundRow::iteration>("iteration"),
    MemberColumn<&RoundRow::phase>("phase"),
    MemberColumn<&RoundRow::duration_s>("duration_s"),
    MemberColumn<&RoundRow::decode_s>("decode_s"),
    MemberColumn<&RoundRow::messages_used>("messages_used"),
    MemberColumn<&RoundRow::workers_used>("workers_used"),
    MemberColumn<&RoundRow::loss>("loss"),
});
inline constexpr const char* kRoundCsvHeader = kCsvHeader<kRoundCsvColumns>.data();

// Closes a results file, throwing gw::Error that names it and the errno text if any write
// or the close failed (every results file ends here).
void CloseOrThrow(std::ofstream& out, const std::string& path);

// Opens path for writing (creating its parent directories), with every double cell at the
// digits all results CSVs use. Throws gw::Error naming the file.
std::ofstream OpenResultsFile(const std::string& path);

// Hands what out buffered to the kernel: from then on it survives the process, even a
// SIGKILL. Throws gw::Error naming the file and the errno text if the write failed.
void FlushOrThrow(std::ofstream& out, const std::string& path);

// A results CSV written as its rows happen: Open writes the header, and every Append reaches
// the kernel before it returns, so a run that fails or is killed later keeps each row
// appended before (rows written only at a clean exit were all lost with the process).
// Unopened (no --out), appends go nowhere.
template <typename Row, const auto& kColumns>
class CsvStream {
 public:
  void Open(const std::string& path) {
    path_ = path;
    out_ = OpenResultsFile(path);
    out_ << kCsvHeader<kColumns>.data() << '\n';
    FlushOrThrow(out_, path_);
  }
  bool is_open() const { return out_.is_open(); }
  // One flush for all of rows.
  void Append(std::span<const Row> rows) {
    if (!out_.is_open() || rows.empty()) return;
    for (const Row& row : rows) WriteCsvRow(out_, kColumns, row);
    FlushOrThrow(out_, path_);
  }
  void Append(const Row& row) { Append(std::span<const Row>(&row, 1)); }
  void Close() {
    if (out_.is_open()) CloseOrThrow(out_, path_);
  }

 private:
  std::string path_;
  std::ofstream out_;
};

// Writes rows (with the header) to path at once, creating parent directories. Throws
// gw::Error naming the file.
template <typename Row, const auto& kColumns>
void WriteCsv(const std::string& path, const std::vector<Row>& rows) {
  CsvStream<Row, kColumns> out;
  out.Open(path);
  out.Append(rows);
  out.Close();
}

// The evaluating worker's model every --eval-every iterations, evaluated after the run.
struct AccuracyRow {
  uint64_t iteration = 0;  // the model that iteration started from
  double elapsed_s = 0;    // since the worker joined (its clock for the whole run)
  double test_loss = 0;
  double test_accuracy = 0;
};

inline constexpr auto kAccuracyCsvColumns = std::to_array<CsvColumn<AccuracyRow>>({
    MemberColumn<&AccuracyRow::iteration>("iteration"),
    MemberColumn<&AccuracyRow::elapsed_s>("elapsed_s"),
    MemberColumn<&AccuracyRow::test_loss>("test_loss"),
    MemberColumn<&AccuracyRow::test_accuracy>("test_accuracy"),
});
inline constexpr const char* kAccuracyCsvHeader = kCsvHeader<kAccuracyCsvColumns>.data();

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
  // When the writer's notice of its first post in the window arrived (WindowPostedMsg); NaN if
  // none did (it never posted, or the window ended first).
  double posted_s = std::numeric_limits<double>::quiet_NaN();
  double end_s = 0;
  double bound_s = 0;  // deadline − start; inf for an open-ended (burst) window
  std::string end;
  // When the push's last part landed (on every window row of that push); NaN if it never did.
  double landed_s = std::numeric_limits<double>::quiet_NaN();
  uint32_t message = 0;  // coded jobs: the message of the round (iteration = the round)
  // Per-partition windows (global-priority): the push's partition it was for, in posting order.
  uint32_t part = 0;
  // 1: granted by a ring's long-trip rule while another window of the ring was open (a
  // transfer after the latest grant, before that writer posted: sched/window_scheduler.h).
  uint32_t ahead = 0;
  // Asked ahead (WindowSpec::ask_ahead): how long the grant waited at the writer for its push
  // to be ready, as its notice said (at most posted_s − start_s); 0 otherwise.
  double held_s = 0;
};

inline constexpr auto kWindowCsvColumns = std::to_array<CsvColumn<WindowRow>>({
    MemberColumn<&WindowRow::worker>("worker"),
    MemberColumn<&WindowRow::iteration>("iteration"),
    MemberColumn<&WindowRow::requested_s>("requested_s"),
    MemberColumn<&WindowRow::start_s>("start_s"),
    MemberColumn<&WindowRow::end_s>("end_s"),
    MemberColumn<&WindowRow::bound_s>("bound_s"),
    MemberColumn<&WindowRow::end>("end"),
    MemberColumn<&WindowRow::landed_s>("landed_s"),
    MemberColumn<&WindowRow::message>("message"),
    MemberColumn<&WindowRow::part>("part"),
    MemberColumn<&WindowRow::posted_s>("posted_s"),
    MemberColumn<&WindowRow::ahead>("ahead"),
    MemberColumn<&WindowRow::held_s>("held_s"),
});
inline constexpr const char* kWindowCsvHeader = kCsvHeader<kWindowCsvColumns>.data();

// One gradient write of a worker's gated push (ps/gated_push.h records them).
struct WriteRecord {
  uint64_t iteration = 0;
  uint32_t server = 0;
  uint32_t part = 0;
  uint64_t bytes = 0;
  double gate_s = 0;    // of ready → posted: the window was closed
  double queued_s = 0;  // of ready → posted: behind the push's own outstanding writes
  double wire_s = 0;    // posted → done
};

inline constexpr auto kWriteCsvColumns = std::to_array<CsvColumn<WriteRecord>>({
    MemberColumn<&WriteRecord::iteration>("iteration"),
    MemberColumn<&WriteRecord::server>("server"),
    MemberColumn<&WriteRecord::part>("part"),
    MemberColumn<&WriteRecord::bytes>("bytes"),
    MemberColumn<&WriteRecord::gate_s>("gate_s"),
    MemberColumn<&WriteRecord::queued_s>("queued_s"),
    MemberColumn<&WriteRecord::wire_s>("wire_s"),
});
inline constexpr const char* kWriteCsvHeader = kCsvHeader<kWriteCsvColumns>.data();

// One layer of one iteration on one worker (layered workloads; for a workload that runs its own
// passes, a Python model's tensor, whose forward_end_s is its forward_start_s: the framework
// does not say when a module's forward pass ended, and whose push columns are those of the parts
// it ranks first, 0 for a tensor that begins no part), seconds since that worker began the
// iteration (its forward pass started at 0).
struct LayerRecord {
  uint32_t worker = 0;
  uint64_t iteration = 0;
  uint32_t layer = 0;  // index in forward order
  double start_s = 0;  // the iteration began (seconds since the worker's training did)
  uint64_t bytes = 0;  // of its gradient
  // The rest are seconds since start_s.
  double forward_start_s = 0;  // its forward pass began (its parameters had landed)
  double forward_end_s = 0;
  double backward_end_s = 0;  // its gradient exists (its backward pass ended)
  double push_start_s = 0;    // the first write of its gradient was posted
  double push_end_s = 0;      // the last write of its gradient completed
  double params_s = 0;        // its parameters for the next iteration had all landed
};

inline constexpr auto kLayerCsvColumns = std::to_array<CsvColumn<LayerRecord>>({
    MemberColumn<&LayerRecord::worker>("worker"),
    MemberColumn<&LayerRecord::iteration>("iteration"),
    MemberColumn<&LayerRecord::layer>("layer"),
    MemberColumn<&LayerRecord::start_s>("start_s"),
    MemberColumn<&LayerRecord::bytes>("bytes"),
    MemberColumn<&LayerRecord::forward_start_s>("forward_start_s"),
    MemberColumn<&LayerRecord::forward_end_s>("forward_end_s"),
    MemberColumn<&LayerRecord::backward_end_s>("backward_end_s"),
    MemberColumn<&LayerRecord::push_start_s>("push_start_s"),
    MemberColumn<&LayerRecord::push_end_s>("push_end_s"),
    MemberColumn<&LayerRecord::params_s>("params_s"),
});
inline constexpr const char* kLayerCsvHeader = kCsvHeader<kLayerCsvColumns>.data();
// layers-W.csv holds a worker's; experiments/plot_timeline.sh draws one iteration of them.

// A flat key=value summary written as a two-line CSV (header, values), keys in given order.
void WriteSummaryCsv(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& fields);

// The same, but appends a values row when path already holds this header (a resumed
// server's summary follows the one of the run before, if that run got to write one).
void AppendSummaryCsv(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace gw
