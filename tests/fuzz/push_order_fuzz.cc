// The --push-order text (sched/push_order_spec.h). The parser never throws: anything escaping
// it is a bug. A refusal is one non-empty line naming the flag; an accepted text prints back
// (ToString) to a text that parses to the same spec, and the order it names, driving a push
// queue over a few tensors, hands out every byte exactly once and never stalls.
#include <cstdio>
#include <deque>
#include <exception>
#include <string>

#include "sched/push_order_registry.h"
#include "sched/push_queue.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using gw::sched::Partition;
using gw::sched::PushOrderParse;

PushOrderParse Parse(std::string_view text) {
  try {
    return gw::sched::ParsePushOrder(text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    FUZZ_CHECK(!"the push-order parser threw");
  }
  __builtin_unreachable();
}

// Three tensors ready in backprop order, sliced in pages; completions oldest first.
void Drive(const gw::sched::PushOrderSpec& spec) {
  gw::sched::PushQueue q(gw::sched::MakePushOrder(spec), gw::sched::kMinPartitionBytes);
  const gw::sched::Tensor tensors[] = {{0, 2, 10000}, {1, 1, 3 * 4096}, {2, 0, 5000}};
  uint64_t ready = 0, posted = 0;
  std::deque<Partition> in_flight;
  for (const auto& t : tensors) {
    q.Ready(t);
    ready += t.bytes;
    while (const std::optional<Partition> p = q.Next()) {
      posted += p->bytes;
      in_flight.push_back(*p);
    }
  }
  while (!in_flight.empty()) {
    q.Done(in_flight.front());
    in_flight.pop_front();
    while (const std::optional<Partition> p = q.Next()) {
      posted += p->bytes;
      in_flight.push_back(*p);
    }
  }
  FUZZ_CHECK(q.idle());  // nothing left pending once nothing is in flight: no stall
  FUZZ_CHECK(posted == ready);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = gw::fuzz::Text(data, size);
  const PushOrderParse p = Parse(text);
  if (!p.spec) {
    FUZZ_CHECK(p.error.rfind("--push-order \"", 0) == 0);
    FUZZ_CHECK(p.error.find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(p.error.empty());
  const PushOrderParse again = Parse(p.spec->ToString());
  FUZZ_CHECK(again.spec && *again.spec == *p.spec);
  Drive(*p.spec);
  return 0;
}
