// The cost of write-window gating itself, to tell it apart from the network: posting a write
// costs microseconds (tcp_write_bench, rdma_write_bench), so the gate must cost nanoseconds.
//
//   BM_GateMayPost          WindowGate::MayPost with the time given: the per-write check.
//                           Times alternate in and out of the window in an unpredictable
//                           order, so a branch would mispredict; the gate has none.
//   BM_GateMayPostClock     the same after reading steady_clock::now(), as the wiring will.
//   BM_SchedulerCycle/P/N   server side, once per push (not per write): Request + Poll (one
//                           grant) + Done of one worker, policy P, N workers; the fake clock
//                           advances to the next worker's turn or slot each cycle, so every
//                           Poll grants. Round-robin is past warm-up, topology has 4 racks;
//                           global-priority picks among the waiting (here: the one) at Poll.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sched/window_gate.h"
#include "sched/window_scheduler.h"
#include "sched/window_spec.h"

namespace gw::sched {
namespace {

using namespace std::chrono_literals;

constexpr size_t kTimes = 4096;  // power of two: the index wraps with a mask
static_assert((kTimes & (kTimes - 1)) == 0);

void BM_GateMayPost(benchmark::State& state) {
  const TimePoint start = TimePoint{} + 1h;
  WindowGate gate;
  gate.OnRequest(start);
  gate.OnGrant(start, start + 1ms);
  std::mt19937_64 rng(1);
  std::vector<TimePoint> times(kTimes);
  for (TimePoint& t : times) t = start + std::chrono::microseconds(rng() % 2000);  // half inside
  size_t i = 0, allowed = 0;
  for (auto _ : state) {
    const bool ok = gate.MayPost(times[i++ & (kTimes - 1)]);
    benchmark::DoNotOptimize(ok);
    allowed += ok;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allowed"] = static_cast<double>(allowed) / static_cast<double>(i);
}

void BM_GateMayPostClock(benchmark::State& state) {
  WindowGate gate;
  const TimePoint now = gw::GetClock().Now();
  gate.OnGrant(now, now + 1h);
  for (auto _ : state) benchmark::DoNotOptimize(gate.MayPost(gw::GetClock().Now()));
  state.SetItemsProcessed(state.iterations());
}

void BM_SchedulerCycle(benchmark::State& state, WindowKind kind) {
  const auto n = static_cast<uint32_t>(state.range(0));
  constexpr Duration kStep = 10us;  // gap, slot length, or just time between pushes
  WindowSpec spec;
  switch (kind) {
    case WindowKind::kBurst:
      spec = WindowSpec::Parse("burst");
      break;
    case WindowKind::kRoundRobin:
      spec = WindowSpec::Parse("round-robin");
      break;
    case WindowKind::kSlots:
      spec = WindowSpec::Parse("slots:period=" + std::to_string(n * 0.01) + ",slot=0.01");
      break;
    case WindowKind::kTopology:
      spec = WindowSpec::Parse("topology:racks=4");  // no T_iter: gap 0, turns pass at Done
      break;
    case WindowKind::kGlobalPriority:
      spec = WindowSpec::Parse("global-priority");  // the link is free at every Request
      break;
  }
  WindowScheduler sched(spec, n);
  if (kind == WindowKind::kRoundRobin) {
    // T_iter = 1.2·N·10 µs: gap = 10 µs, so the next rank's turn comes one step later.
    const Duration t_iter = std::chrono::microseconds(12 * n);
    for (uint32_t i = 0; i < spec.warmup; ++i) sched.ObserveIteration(0, t_iter, 0s);
  }
  // A whole number of slot periods from the epoch: worker 0's slot starts here.
  TimePoint now = TimePoint{} + kStep * n * 1000000;
  std::vector<WindowScheduler::Grant> grants;
  grants.reserve(n);
  uint32_t w = 0;
  int64_t granted = 0;
  for (auto _ : state) {
    sched.Request(w, now);
    grants.clear();
    sched.Poll(now, &grants);
    granted += static_cast<int64_t>(grants.size());
    sched.Done(w, now + 1us);
    now += kStep;
    w = w + 1 == n ? 0 : w + 1;
  }
  if (granted != state.iterations()) {
    state.SkipWithError("a Poll did not grant exactly one window: the cycle is not a turn");
  }
  state.SetItemsProcessed(state.iterations());
}

int Run(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RegisterBenchmark("BM_GateMayPost", BM_GateMayPost);
  benchmark::RegisterBenchmark("BM_GateMayPostClock", BM_GateMayPostClock);
  const std::pair<const char*, WindowKind> policies[] = {
      {"burst", WindowKind::kBurst},
      {"round-robin", WindowKind::kRoundRobin},
      {"slots", WindowKind::kSlots},
      {"topology", WindowKind::kTopology},
      {"global-priority", WindowKind::kGlobalPriority},
  };
  for (const auto& [name, kind] : policies) {
    benchmark::RegisterBenchmark(("BM_SchedulerCycle/" + std::string(name)).c_str(),
                                 BM_SchedulerCycle, kind)
        ->ArgName("N")
        ->Arg(8)
        ->Arg(32);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace gw::sched

int main(int argc, char** argv) { return gw::sched::Run(argc, argv); }
