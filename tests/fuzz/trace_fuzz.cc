// Trace files (ps/workload/zoo/trace.h ParseTrace), which users hand to `gradwire models
// --trace` and to jobs. The parser never throws (an exception would end the run as a crash):
// it returns either one line of error naming the file, or a trace whose every layer is within
// the documented bounds, with unique non-empty names.
#include <set>
#include <sstream>
#include <string>

#include "ps/workload/zoo/trace.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in{std::string(gw::fuzz::Text(data, size))};
  const gw::zoo::TraceResult r = gw::zoo::ParseTrace(in, "fuzz.csv");
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
  return 0;
}
