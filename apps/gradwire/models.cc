// `gradwire models`: the model zoo (ps/workload/zoo/) with the sizes a parameter server moves
// for each model, one row per model; the same row for a user's trace file (--trace); or the
// per-layer table of one model (--layers).
#include <algorithm>
#include <cstdio>
#include <string>

#include "apps/gradwire/commands.h"
#include "apps/gradwire/flags.h"
#include "ps/workload/zoo/trace.h"
#include "ps/workload/zoo/zoo.h"

namespace gw::cli {
namespace {

// Gradients and parameters travel as fp32.
constexpr double kBytesPerParam = 4;
constexpr double kMiB = 1024.0 * 1024.0;

// 25557032 -> "25,557,032": exact counts that can still be read at a glance.
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

void PrintModelHeader() {
  std::printf("%-14s %6s %7s %13s %9s %13s  %s\n", "model", "layers", "tensors", "params",
              "MiB_fp32", "GFLOPs/sample", "largest tensor");
}

// One model's row; GFLOPs are "-" for a trace (it measured times instead).
void PrintModelRow(const zoo::ModelSpec& m, bool has_flops) {
  const auto by_params = [](const zoo::TensorSpec& a, const zoo::TensorSpec& b) {
    return a.params < b.params;
  };
  const zoo::TensorSpec* largest = nullptr;
  for (const zoo::LayerSpec& l : m.layers) {
    const auto it = std::max_element(l.tensors.begin(), l.tensors.end(), by_params);
    if (it != l.tensors.end() && (largest == nullptr || by_params(*largest, *it))) largest = &*it;
  }
  char gflops[32] = "-";
  if (has_flops) std::snprintf(gflops, sizeof gflops, "%.2f", m.forward_flops() / 1e9);
  std::printf("%-14s %6zu %7zu %13s %9.1f %13s  %s (%s)\n", m.name.c_str(), m.layers.size(),
              m.num_tensors(), Grouped(m.params()).c_str(),
              static_cast<double>(m.params()) * kBytesPerParam / kMiB, gflops,
              largest->name.c_str(), Grouped(largest->params).c_str());
}

void PrintLayers(const zoo::ModelSpec& m) {
  std::printf("%-40s %13s %14s\n", "layer", "params", "forward_MFLOPs");
  for (const zoo::LayerSpec& l : m.layers) {
    std::printf("%-40s %13s %14.3f\n", l.name.c_str(), Grouped(l.params()).c_str(),
                l.forward_flops / 1e6);
  }
}

}  // namespace

int ModelsCommand(const std::vector<std::string>& args) {
  po::options_description d("Models");
  d.add_options()("trace", po::value<std::string>(),
                  "a trace CSV (layer,params,forward_ms,backward_ms): its row instead of the zoo")(
      "layers", po::value<std::string>(), "the per-layer table of one model of the zoo");
  const auto vm = Parse("models", "[--trace FILE | --layers MODEL]", d, args);
  if (!vm) return 0;
  if (vm->count("trace") && vm->count("layers")) {
    throw UsageError("--trace and --layers are exclusive");
  }
  if (vm->count("layers")) {
    const std::string name = (*vm)["layers"].as<std::string>();
    const zoo::ModelSpec* model = zoo::FindModel(name);
    if (model == nullptr) throw UsageError("--layers: " + zoo::UnknownModelMessage(name));
    PrintLayers(*model);
    return 0;
  }
  if (vm->count("trace")) {
    const zoo::TraceResult read = zoo::ReadTraceFile((*vm)["trace"].as<std::string>());
    if (!read.trace) throw UsageError(read.error);
    PrintModelHeader();
    PrintModelRow(read.trace->ToModel(), false);
    double forward_ms = 0;
    double backward_ms = 0;
    for (const zoo::TraceLayer& l : read.trace->layers) {
      forward_ms += l.forward_ms;
      backward_ms += l.backward_ms;
    }
    std::printf("measured: forward %.3f ms, backward %.3f ms per iteration\n", forward_ms,
                backward_ms);
    return 0;
  }
  PrintModelHeader();
  for (const std::string_view name : zoo::ModelNames()) PrintModelRow(*zoo::FindModel(name), true);
  return 0;
}

}  // namespace gw::cli
