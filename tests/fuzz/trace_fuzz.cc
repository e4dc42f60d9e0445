// Trace files (ps/workload/zoo/trace.h ParseTrace), which users hand to `gradwire models
// --trace` and to jobs, and tensor layouts (the same, times optional) that Python workers write.
// The parser never throws (an exception would end the run as a crash): it returns either one line
// of error naming the file, or a trace whose every layer is within the documented bounds, with
// unique non-empty names.
#include <set>
#include <sstream>
#include <string>

#include "ps/workload/zoo/trace.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// One parse's result is an error line or a trace within the bounds; returns its parameters.
uint64_t CheckResult(const gw::zoo::TraceResult& r) {
  FUZZ_CHECK(r.trace.has_value() == r.error.empty());
  if (!r.trace) {
    FUZZ_CHECK(r.error.rfind("fuzz.csv:", 0) == 0);
    FUZZ_CHECK(r.error.find('\n') == std::string::npos);
    return 0;
  }
  const auto& layers = r.trace->layers;
  FUZZ_CHECK(!layers.empty() && layers.size() <= gw::zoo::kMaxTraceLayers);
  std::set<std::string> names;
  uint64_t params = 0;
  for (const gw::zoo::TraceLayer& l : layers) {
    FUZZ_CHECK(!l.name.empty() && l.name.size() <= gw::zoo::kMaxTraceLineBytes);
    FUZZ_CHECK(names.insert(l.name).second);
    FUZZ_CHECK(l.params >= 1 && l.params <= gw::zoo::kMaxTraceLayerParams);
    FUZZ_CHECK(l.forward_ms >= 0 && l.forward_ms <= gw::zoo::kMaxTraceLayerMs);
    FUZZ_CHECK(l.backward_ms >= 0 && l.backward_ms <= gw::zoo::kMaxTraceLayerMs);
    params += l.params;
  }
  FUZZ_CHECK(r.trace->ToModel().params() == params);
  return params;
}

}  // namespace

// Each input as a trace and as a tensor layout (times optional): a trace is a layout too.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(gw::fuzz::Text(data, size));
  std::istringstream as_trace{text}, as_layout{text};
  const gw::zoo::TraceResult trace = gw::zoo::ParseTrace(as_trace, "fuzz.csv");
  const gw::zoo::TraceResult layout =
      gw::zoo::ParseTrace(as_layout, "fuzz.csv", gw::zoo::TraceTimes::kOptional);
  const uint64_t params = CheckResult(trace);
  const uint64_t layout_params = CheckResult(layout);
  if (trace.trace) {
    FUZZ_CHECK(layout.trace.has_value() && layout_params == params);
  }
  return 0;
}
