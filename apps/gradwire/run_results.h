// The results a job leaves in its directory, made from what its servers and workers wrote
// (run_results.cc).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ps/job.h"

namespace gw::cli {

// Sums of a worker's times over some of its rows.
struct RowTimes {
  uint64_t rows = 0;
  double compute = 0, write = 0, wait = 0, delay = 0, gate = 0;
};

// A worker's rows: how many, the last loss, and its times over iteration (or round) 0, which
// includes waiting for every worker to join (52 ms against 15.6 ms rounds in one run), and
// over the rest, which the table's means cover (or iteration 0's, if it is all there is).
struct WorkerTotals {
  uint64_t iterations = 0;
  double last_loss = 0;
  RowTimes first, later;
  const RowTimes& measured() const { return later.rows ? later : first; }
};

// command.txt: marker (out_dir.h: "gradwire run" or "gradwire sim"), then the arguments.
void WriteCommandLine(const std::string& out, const char* marker,
                      const std::vector<std::string>& args);
// results/runs/<local time>.
std::string DefaultOut();
// Concatenates worker-*.csv into iterations.csv and sums per-worker times.
std::map<uint32_t, WorkerTotals> MergeWorkerCsvs(const std::string& out, uint32_t workers);
// Concatenates the layered workers' layers-*.csv into layers.csv (one header), if any.
void MergeLayerCsvs(const std::string& out, uint32_t workers);
// Merges the servers' rounds-<s>.csv and windows-<s>.csv into rounds.csv and windows.csv (one
// header, a leading server column, rank order; a torn last row is left out), where any exist.
void MergeServerCsvs(const std::string& out, uint32_t servers);
// The three above, the workers' rows last: the job's totals per worker.
std::map<uint32_t, WorkerTotals> MergeJobCsvs(const std::string& out, uint32_t servers,
                                              uint32_t workers);
// The per-worker table on stdout, and where the results are.
void PrintTable(const std::map<uint32_t, WorkerTotals>& totals, const std::string& out);
// A run that did not end as it should: summary.csv says partial=1 (wall_s: the run's time).
void MarkPartial(const std::string& out, const JobConfig& cfg,
                 const std::map<uint32_t, WorkerTotals>& totals, double wall_s);

}  // namespace gw::cli
