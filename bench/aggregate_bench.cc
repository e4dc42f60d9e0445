// Gradient aggregation (gw::SumSlots over N worker slots) beside a single-thread memcpy, and
// what SumSlots' check that every sum is finite costs (beside SumSlotsUnchecked, in turn).
//
// Aggregation bandwidth = input bytes read per second: N x slot bytes / time. memcpy
// bandwidth = bytes copied (each read once) per second, for a copy of one slot's size,
// measured in the same run just before. Both in GB/s = 1e9 bytes/s. Every buffer is written
// once before timing, so page faults do not count.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "ps/aggregate.h"

namespace gw {
namespace {

constexpr size_t kMinSlotBytes = 4 << 20;
constexpr size_t kMaxSlotBytes = 64 << 20;
constexpr int kMinSlots = 2;
constexpr int kMaxSlots = 8;
constexpr size_t kSummarySlotBytes = 64 << 20;
constexpr int kSummarySlots = 4;
constexpr int kCheckCostPairs = 101;  // odd: the median is one pair's

// Pre-touched slots and output sized for the largest case; smaller cases use prefixes.
class Buffers {
 public:
  Buffers() : out_(kMaxSlotBytes / sizeof(float), 0.0f) {
    for (int i = 0; i < kMaxSlots; ++i) {
      slots_.emplace_back(kMaxSlotBytes / sizeof(float), 0.5f * static_cast<float>(i + 1));
    }
  }

  void Memcpy(benchmark::State& state, size_t bytes) {
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
      std::memcpy(out_.data(), slots_[0].data(), bytes);
      benchmark::ClobberMemory();
    }
    memcpy_gbps_[bytes] = Report(state, bytes, start);
  }

  void Sum(benchmark::State& state, int slots, size_t bytes) {
    const size_t n = bytes / sizeof(float);
    std::vector<std::span<const float>> in;
    for (int i = 0; i < slots; ++i) in.emplace_back(slots_[i].data(), n);
    const std::span<float> out(out_.data(), n);
    const auto start = std::chrono::steady_clock::now();
    bool finite = true;
    for (auto _ : state) {
      finite = SumSlots(out, in) && finite;
      benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(finite);
    const double gbps = Report(state, slots * bytes, start);
    const auto memcpy = memcpy_gbps_.find(bytes);
    if (memcpy == memcpy_gbps_.end()) return;  // its memcpy run was filtered out
    state.counters["vs_memcpy"] = gbps / memcpy->second;
    if (slots == kSummarySlots && bytes == kSummarySlotBytes) summary_ = {gbps, memcpy->second};
  }

  // {aggregation GB/s, memcpy GB/s} of the summary case, if both ran.
  std::optional<std::pair<double, double>> summary() const { return summary_; }
  // What SumSlots' finite check costs: the summary case summed with and without it, each
  // iteration timing one of each, in alternating order (so drift in memory bandwidth and
  // whatever the first of a pair pays hit both alike); check_cost is the median over the
  // iterations of (time with) / (time without) - 1. The sums of times were too noisy at
  // make bench's 0.3 s: 2-9 % from one run to the next for a 3-4 % cost.
  void CheckCost(benchmark::State& state) {
    const size_t n = kSummarySlotBytes / sizeof(float);
    std::vector<std::span<const float>> in;
    for (int i = 0; i < kSummarySlots; ++i) in.emplace_back(slots_[i].data(), n);
    const std::span<float> out(out_.data(), n);
    std::vector<double> ratios;
    bool finite = true;
    for (auto _ : state) {
      const auto timed = [&](bool check) {
        const auto t0 = std::chrono::steady_clock::now();
        if (check) {
          finite = SumSlots(out, in) && finite;
        } else {
          SumSlotsUnchecked(out, in);
        }
        benchmark::ClobberMemory();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      };
      const bool checked_first = ratios.size() % 2 == 0;
      const double first = timed(checked_first);
      const double second = timed(!checked_first);
      ratios.push_back(checked_first ? first / second : second / first);
    }
    benchmark::DoNotOptimize(finite);
    std::sort(ratios.begin(), ratios.end());
    check_cost_ = ratios[ratios.size() / 2] - 1.0;
    state.counters["check_cost"] = *check_cost_;
  }
  std::optional<double> check_cost() const { return check_cost_; }

 private:
  // Sets the row's bandwidth from `read` bytes per iteration and returns it in GB/s.
  static double Report(benchmark::State& state, size_t read,
                       std::chrono::steady_clock::time_point start) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const auto total = static_cast<int64_t>(state.iterations() * read);
    state.SetBytesProcessed(total);
    const double gbps = static_cast<double>(total) / elapsed.count() / 1e9;
    state.counters["GB/s"] = gbps;
    return gbps;
  }

  std::vector<std::vector<float>> slots_;
  std::vector<float> out_;
  std::map<size_t, double> memcpy_gbps_;
  std::optional<std::pair<double, double>> summary_;
  std::optional<double> check_cost_;
};

int Run(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf(
      "bandwidth = input bytes read per second (GB/s = 1e9 B/s): memcpy reads one slot, "
      "SumSlots reads N slots\n");
  std::fflush(stdout);

  Buffers buffers;
  // Registered first: each aggregation row compares against the memcpy of its slot size.
  benchmark::RegisterBenchmark(
      "BM_Memcpy",
      [&](benchmark::State& state) { buffers.Memcpy(state, static_cast<size_t>(state.range(0))); })
      ->RangeMultiplier(4)
      ->Range(kMinSlotBytes, kMaxSlotBytes)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_SumSlots",
                               [&](benchmark::State& state) {
                                 buffers.Sum(state, static_cast<int>(state.range(0)),
                                             static_cast<size_t>(state.range(1)));
                               })
      ->ArgNames({"slots", "bytes"})
      ->RangeMultiplier(4)
      ->Ranges({{kMinSlots, kMaxSlots}, {kMinSlotBytes, kMaxSlotBytes}})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  // A fixed count of pairs (~2 s), whatever --benchmark_min_time says: the median needs them.
  benchmark::RegisterBenchmark("BM_FiniteCheckCost",
                               [&](benchmark::State& state) { buffers.CheckCost(state); })
      ->Iterations(kCheckCostPairs)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  if (const auto s = buffers.summary()) {
    std::printf("aggregation (%d slots x %zu MiB): %.1f GB/s = %.2f x memcpy (%.1f GB/s)\n",
                kSummarySlots, kSummarySlotBytes >> 20, s->first, s->first / s->second, s->second);
  } else {
    std::printf("aggregation (%d slots x %zu MiB): not run\n", kSummarySlots,
                kSummarySlotBytes >> 20);
  }
  if (const auto cost = buffers.check_cost()) {
    std::printf("finite check (%d slots x %zu MiB): %.1f %% of aggregation (target < 5 %%)\n",
                kSummarySlots, kSummarySlotBytes >> 20, 100.0 * *cost);
  }
  return 0;
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) { return gw::Run(argc, argv); }
