// The --topology text of `gradwire sim` (net/sim/topology.h). The parser never throws:
// anything escaping it is a bug. A refusal names what is wrong; an accepted text prints back
// (ToString) to a text that parses to the same fabric, whose numbers are finite and in their
// bounds, and whose check against any job size never throws.
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "net/sim/topology.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::optional<gw::sim::Topology> Parse(const std::string& text, std::string* why) {
  try {
    return gw::sim::ParseTopology(text, why);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    FUZZ_CHECK(!"the topology parser threw");
  }
  __builtin_unreachable();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(gw::fuzz::Text(data, size));
  std::string why;
  const auto t = Parse(text, &why);
  if (!t) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  FUZZ_CHECK(std::isfinite(t->rate_bps) && t->rate_bps > 0);
  FUZZ_CHECK(std::isfinite(t->latency_s) && t->latency_s >= 0);
  FUZZ_CHECK(t->racks >= 1 && t->oversubscription >= 1);
  std::string again_why;
  const auto again = Parse(t->ToString(), &again_why);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->kind == t->kind && again->racks == t->racks && again->k == t->k &&
             again->leaves == t->leaves && again->spines == t->spines);
  FUZZ_CHECK(again->slow_workers == t->slow_workers);
  // ToString rounds to six digits: the same fabric within that.
  FUZZ_CHECK(std::abs(again->rate_bps - t->rate_bps) <= 1e-5 * t->rate_bps);
  FUZZ_CHECK(std::abs(again->latency_s - t->latency_s) <= 1e-5 * t->latency_s + 1e-12);
  for (uint32_t servers : {0u, 1u, 4u}) {
    for (uint32_t workers : {1u, 2u, 7u, 64u, 1024u}) (void)t->CheckJob(servers, workers);
  }
  return 0;
}
