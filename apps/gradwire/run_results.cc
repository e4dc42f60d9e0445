// The results a job leaves in its directory, made from what its servers and workers wrote:
// command.txt, iterations.csv, layers.csv, the table, and summary.csv's partial mark. Shared
// by `gradwire run` (processes) and `gradwire sim` (actors), whose servers and workers write
// the same files.
#include "apps/gradwire/run_results.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/gradwire/out_dir.h"
#include "base/error.h"
#include "ps/results.h"

namespace gw::cli {

namespace {

// The cells of one CSV line.
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> cells;
  std::istringstream is(line);
  std::string cell;
  while (std::getline(is, cell, ',')) cells.push_back(cell);
  return cells;
}

// The columns MergeWorkerCsvs sums, found by name in each file's own header (a column added
// or moved cannot shift what is read); -1 where a file lacks one.
struct TotalsColumns {
  int iteration = -1, compute = -1, write = -1, wait = -1, loss = -1, delay = -1, gate = -1;
  size_t cells = 0;

  explicit TotalsColumns(const std::vector<std::string>& header) : cells(header.size()) {
    auto find = [&](std::string_view name) {
      const auto it = std::find(header.begin(), header.end(), name);
      return it == header.end() ? -1 : static_cast<int>(it - header.begin());
    };
    iteration = find("iteration");
    compute = find("compute_s");
    write = find("write_s");
    wait = find("wait_s");
    loss = find("loss");
    delay = find("delay_s");
    gate = find("gate_s");
  }
  static double Cell(const std::vector<std::string>& row, int column) {
    return column < 0 ? 0.0 : std::strtod(row[static_cast<size_t>(column)].c_str(), nullptr);
  }
};

// The results files the run left, by name (per-rank files as one pattern each).
std::string ResultsFiles(const std::string& out) {
  std::string list;
  auto add = [&](const std::string& name) { list += (list.empty() ? "" : ", ") + name; };
  for (const char* name : {"iterations.csv", "summary.csv", "rounds.csv", "windows.csv",
                           "accuracy.csv", "layers.csv"}) {
    if (std::filesystem::exists(out + "/" + name)) add(name);
  }
  for (const char* prefix : {"server-", "rounds-", "windows-", "worker-", "writes-", "layers-"}) {
    if (std::filesystem::exists(out + "/" + prefix + "0.csv")) add(std::string(prefix) + "*.csv");
  }
  return list.empty() ? "none" : list;
}

}  // namespace

// command.txt (run_results.h).
void WriteCommandLine(const std::string& out, const char* marker,
                      const std::vector<std::string>& args) {
  const std::string path = out + "/command.txt";
  std::ofstream cmd(path);
  cmd << marker;
  for (const auto& a : args) cmd << " " << a;
  cmd << "\n";
  CloseOrThrow(cmd, path);
}

std::string DefaultOut() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return std::string("results/runs/") + buf;
}

// Concatenates worker-*.csv into iterations.csv and sums per-worker times.
std::map<uint32_t, WorkerTotals> MergeWorkerCsvs(const std::string& out, uint32_t workers) {
  std::map<uint32_t, WorkerTotals> totals;
  const std::string path = out + "/iterations.csv";
  std::ofstream merged(path);
  merged << kIterationCsvHeader << "\n";
  for (uint32_t w = 0; w < workers; ++w) {
    std::ifstream f(out + "/worker-" + std::to_string(w) + ".csv");
    std::string line;
    if (!std::getline(f, line)) continue;  // that worker wrote nothing (it failed)
    const TotalsColumns columns(SplitCsv(line));
    while (std::getline(f, line)) {
      merged << line << "\n";
      const std::vector<std::string> cells = SplitCsv(line);
      if (cells.size() != columns.cells) continue;
      auto& t = totals[w];
      ++t.iterations;
      t.last_loss = TotalsColumns::Cell(cells, columns.loss);
      RowTimes& times = TotalsColumns::Cell(cells, columns.iteration) == 0 ? t.first : t.later;
      ++times.rows;
      times.compute += TotalsColumns::Cell(cells, columns.compute);
      times.write += TotalsColumns::Cell(cells, columns.write);
      times.wait += TotalsColumns::Cell(cells, columns.wait);
      times.delay += TotalsColumns::Cell(cells, columns.delay);
      times.gate += TotalsColumns::Cell(cells, columns.gate);
    }
  }
  CloseOrThrow(merged, path);
  return totals;
}

// Concatenates the layered workers' layers-*.csv into layers.csv (one header), if any.
void MergeLayerCsvs(const std::string& out, uint32_t workers) {
  const std::string path = out + "/layers.csv";
  std::ofstream merged;
  for (uint32_t w = 0; w < workers; ++w) {
    std::ifstream f(out + "/layers-" + std::to_string(w) + ".csv");
    std::string line;
    if (!std::getline(f, line)) continue;  // not layered, or that worker failed
    if (!merged.is_open()) {
      merged.open(path);
      merged << kLayerCsvHeader << "\n";
    }
    while (std::getline(f, line)) merged << line << "\n";
  }
  if (merged.is_open()) CloseOrThrow(merged, path);
}

// rounds.csv and windows.csv from the servers' own files, each row led by its server's rank.
void MergeServerCsvs(const std::string& out, uint32_t servers) {
  for (const std::string name : {"rounds", "windows"}) {
    const std::string path = out + "/" + name + ".csv";
    std::ofstream merged;
    size_t cells = 0;
    for (uint32_t s = 0; s < servers; ++s) {
      std::ifstream f(out + "/" + name + "-" + std::to_string(s) + ".csv");
      std::string line;
      if (!std::getline(f, line)) continue;  // not in this job, or that server failed at once
      if (!merged.is_open()) {
        merged.open(path);
        merged << "server," << line << "\n";
        cells = SplitCsv(line).size();
      }
      while (std::getline(f, line)) {
        // A server killed mid-write may leave its last row torn: rows are whole or left out.
        if (SplitCsv(line).size() != cells || !f.good()) continue;
        merged << s << ',' << line << "\n";
      }
    }
    if (merged.is_open()) CloseOrThrow(merged, path);
  }
}

std::map<uint32_t, WorkerTotals> MergeJobCsvs(const std::string& out, uint32_t servers,
                                              uint32_t workers) {
  MergeLayerCsvs(out, workers);
  MergeServerCsvs(out, servers);
  return MergeWorkerCsvs(out, workers);
}

void PrintTable(const std::map<uint32_t, WorkerTotals>& totals, const std::string& out) {
  const bool coded = std::filesystem::exists(out + "/rounds.csv");
  std::printf("\n%-8s %10s %12s %12s %12s %12s %12s %12s\n", "worker",
              coded ? "rounds" : "iterations", "compute ms", "delay ms", "write ms", "(gate ms)",
              "wait ms", "last loss");
  for (const auto& [w, t] : totals) {
    const RowTimes& m = t.measured();
    const double n = m.rows ? static_cast<double>(m.rows) : 1.0;
    std::printf("%-8u %10llu %12.3f %12.3f %12.3f %12.3f %12.3f %12.4f\n", w,
                static_cast<unsigned long long>(t.iterations), 1e3 * m.compute / n,
                1e3 * m.delay / n, 1e3 * m.write / n, 1e3 * m.gate / n, 1e3 * m.wait / n,
                t.last_loss);
  }
  if (!totals.empty()) {
    std::printf("(means per %s, leaving out %s 0: it includes waiting for every worker to join)\n",
                coded ? "round" : "iteration", coded ? "round" : "iteration");
  }
  std::ifstream f(out + "/summary.csv");
  std::string header, values;
  if (std::getline(f, header) && std::getline(f, values)) {
    std::istringstream hs(header), vs(values);
    std::string k, v;
    std::printf("\n");
    while (std::getline(hs, k, ',') && std::getline(vs, v, ',')) {
      std::printf("%-20s %s\n", k.c_str(), v.c_str());
    }
  }
  std::printf("\nresults: %s/ (%s)\n", out.c_str(), ResultsFiles(out).c_str());
}

// A run that did not end as it should: summary.csv says partial=1. It is the evaluating
// worker's if that worker got to write one, else one made here: the job, how many iterations
// every worker completed (iterations_done) and the run's wall time; no evaluation.
void MarkPartial(const std::string& out, const JobConfig& cfg,
                 const std::map<uint32_t, WorkerTotals>& totals, double wall_s) {
  const std::string path = out + "/summary.csv";
  std::vector<std::string> header, values;
  {
    std::ifstream f(path);
    std::string h, v;
    if (std::getline(f, h) && std::getline(f, v)) {
      header = SplitCsv(h);
      values = SplitCsv(v);
    }
  }
  const auto partial = std::find(header.begin(), header.end(), "partial");
  std::vector<std::pair<std::string, std::string>> fields;
  if (partial != header.end() && values.size() == header.size()) {
    values[static_cast<size_t>(partial - header.begin())] = "1";
    for (size_t i = 0; i < header.size(); ++i) fields.emplace_back(header[i], values[i]);
  } else {
    uint64_t done = totals.size() == cfg.num_workers ? UINT64_MAX : 0;
    for (const auto& [w, t] : totals) done = std::min(done, t.iterations);
    fields = JobSummaryFields(cfg);
    fields.insert(fields.end(), {{"partial", "1"},
                                 {"iterations_done", std::to_string(done)},
                                 {"startup_s", ""},
                                 {"train_s", ""},
                                 {"wall_s", std::to_string(wall_s)},
                                 {"iterations_per_s", ""},
                                 {"train_loss_last20", ""},
                                 {"test_loss", ""},
                                 {"test_accuracy", ""}});
  }
  WriteSummaryCsv(path, fields);
}

}  // namespace gw::cli
