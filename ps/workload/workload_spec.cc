// WorkloadSpec's text: what --workload says, and what a job's description prints back.
#include <array>

#include "ps/workload/workload.h"

namespace gw {
namespace {

// The kinds whose text names something after the colon, and the field that holds it.
struct NamedKind {
  std::string_view kind;
  std::string WorkloadSpec::*name;
};
constexpr std::array<NamedKind, 2> kNamedKinds = {
    {{"model", &WorkloadSpec::model}, {"trace", &WorkloadSpec::trace_file}}};

}  // namespace

std::string WorkloadSpec::Text() const {
  for (const NamedKind& k : kNamedKinds) {
    if (kind == k.kind) return kind + ":" + this->*k.name;
  }
  return kind;
}

void WorkloadSpec::SetText(std::string_view text) {
  const size_t colon = text.find(':');
  for (const NamedKind& k : kNamedKinds) {
    if (colon != std::string_view::npos && text.substr(0, colon) == k.kind) {
      kind = k.kind;
      this->*k.name = text.substr(colon + 1);
      return;
    }
  }
  kind = text;
}

}  // namespace gw
