// WorkloadSpec's text: what --workload says, and what a job's description prints back.
#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/fnv.h"
#include "ps/workload/workload.h"
#include "ps/workload/zoo/trace.h"

namespace gw {
namespace {

// The kinds whose text names something after the colon, and the field that holds it.
struct NamedKind {
  std::string_view kind;
  std::string WorkloadSpec::*name;
};
constexpr std::array<NamedKind, 3> kNamedKinds = {{{"model", &WorkloadSpec::model},
                                                   {"trace", &WorkloadSpec::trace_file},
                                                   {"tensors", &WorkloadSpec::tensors}}};

}  // namespace

std::string WorkloadSpec::Text() const {
  const auto named = std::find_if(kNamedKinds.begin(), kNamedKinds.end(),
                                  [&](const NamedKind& k) { return kind == k.kind; });
  return named == kNamedKinds.end() ? kind : kind + ":" + this->*named->name;
}

void WorkloadSpec::SetText(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string_view prefix = colon == std::string_view::npos ? "" : text.substr(0, colon);
  const auto named = std::find_if(kNamedKinds.begin(), kNamedKinds.end(),
                                  [&](const NamedKind& k) { return prefix == k.kind; });
  kind = named == kNamedKinds.end() ? text : named->kind;
  if (named != kNamedKinds.end()) this->*named->name = text.substr(colon + 1);
}

std::string WorkloadSpec::LayoutFile() const {
  if (kind == "trace") return trace_file;
  if (kind == "tensors") return tensors + ".csv";
  return "";
}

void WorkloadSpec::ReadLayoutDigest() {
  layout_digest = 0;
  const std::string file = LayoutFile();
  if (file.empty()) return;
  // Only a regular file no larger than a trace can be: opening a FIFO blocks, a device never
  // ends (ReadTraceFile refuses both, naming them; and too many layers).
  static constexpr uint64_t kMaxBytes = zoo::kMaxTraceLayers * (zoo::kMaxTraceLineBytes + 2);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec) ||
      std::filesystem::file_size(file, ec) > kMaxBytes || ec) {
    return;
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream content;
  // Unreadable (or empty): MakeWorkload refuses it, naming the file.
  if (!in || !(content << in.rdbuf())) return;
  layout_digest = Fnv1a64(content.view());
}

}  // namespace gw
