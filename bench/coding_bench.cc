// The arithmetic coded computation adds, to set against the straggler time it saves.
//
//   BM_MdsEncode       MdsCode(n, k = 3n/4).Encode of an m×d float matrix (m = 8192): paid
//                      once per data set, before training, not per round.
//   BM_MdsDecode       MdsCode::Decode of k results Ã_i·x of m/k floats each, every round.
//                      "parity": survivors are the last k coded blocks (min(n−k, k) parity
//                      blocks), so it solves the k×k system; "systematic": survivors 0..k−1,
//                      the copy-only fast path.
//   BM_GcDecode        GradientCode Decode (fractional or cyclic repetition) of the n−s
//                      messages of L floats from workers s..n−1, every round. Fractional
//                      repetition reads only one message per group, n/(s+1) of them.
//   BM_Sum             Reference, same n−s vectors: the plain float sum an uncoded server does
//                      (into a preallocated buffer). Decode rows report vs_sum = decode time /
//                      sum time.
//
// Bytes processed = input floats read per call × 4 (the matrix for Encode, the k results or
// n−s messages for decoding), so the GB/s columns of decoding and summing compare directly.
// Codes are built outside the timed loops (an MDS code's constructor checks every survivor
// set's conditioning, up to ~1 s).
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <tuple>
#include <vector>

#include "coding/gradient_code.h"
#include "coding/mds.h"

namespace gw {
namespace {

using coding::GradientCode;
using coding::MdsCode;

constexpr int64_t kEncodeRows = 8192;
constexpr uint64_t kSeed = 1;

// k for an MDS code on n workers: rate 3/4, (8, 6) and (16, 12).
int MdsK(int n) { return 3 * n / 4; }

// Codes and inputs, built on first use and kept for every later row with the same key.
class Fixtures {
 public:
  const MdsCode& Mds(int n) {
    auto& code = mds_[n];
    if (!code) code = std::make_unique<MdsCode>(n, MdsK(n), kSeed);
    return *code;
  }
  const GradientCode& Gc(bool cyclic, int n, int s) {
    auto& code = gc_[{cyclic, n, s}];
    if (!code) {
      code = std::make_unique<GradientCode>(cyclic ? GradientCode::CyclicRepetition(n, s, kSeed)
                                                   : GradientCode::FractionalRepetition(n, s));
    }
    return *code;
  }
  const Eigen::MatrixXf& Matrix(int64_t rows, int64_t cols) {
    auto& m = matrices_[{rows, cols}];
    if (m.size() == 0) m = Eigen::MatrixXf::Random(rows, cols);
    return m;
  }
  // `count` vectors of `len` floats (every message or result in a row has the same length).
  const std::vector<Eigen::VectorXf>& Vectors(int count, int64_t len) {
    auto& v = vectors_[{count, len}];
    while (static_cast<int>(v.size()) < count) v.push_back(Eigen::VectorXf::Random(len));
    return v;
  }

  // Seconds per BM_Sum call by (n, s, L), for the decode rows' vs_sum.
  std::map<std::tuple<int, int, int64_t>, double>& sum_seconds() { return sum_seconds_; }
  // Seconds per decode call by (cyclic, n, s, L), for the summary.
  std::map<std::tuple<bool, int, int, int64_t>, double>& gc_seconds() { return gc_seconds_; }

 private:
  std::map<int, std::unique_ptr<MdsCode>> mds_;
  std::map<std::tuple<bool, int, int>, std::unique_ptr<GradientCode>> gc_;
  std::map<std::pair<int64_t, int64_t>, Eigen::MatrixXf> matrices_;
  std::map<std::pair<int, int64_t>, std::vector<Eigen::VectorXf>> vectors_;
  std::map<std::tuple<int, int, int64_t>, double> sum_seconds_;
  std::map<std::tuple<bool, int, int, int64_t>, double> gc_seconds_;
};

// Runs `body` in the timed loop; sets bytes processed from `bytes` per call and returns the
// wall-clock seconds per call.
template <typename Body>
double Time(benchmark::State& state, int64_t bytes, Body body) {
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) body();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  state.SetBytesProcessed(state.iterations() * bytes);
  return elapsed.count() / static_cast<double>(state.iterations());
}

void MdsEncode(benchmark::State& state, Fixtures& f) {
  const int n = static_cast<int>(state.range(0));
  const int64_t d = state.range(1);
  const MdsCode& code = f.Mds(n);
  const Eigen::MatrixXf& a = f.Matrix(kEncodeRows, d);
  Time(state, kEncodeRows * d * static_cast<int64_t>(sizeof(float)), [&] {
    std::vector<Eigen::MatrixXf> coded = code.Encode(a);
    benchmark::DoNotOptimize(coded.back().data());
  });
  state.counters["k"] = code.k();
}

void MdsDecode(benchmark::State& state, Fixtures& f, bool systematic) {
  const int n = static_cast<int>(state.range(0));
  const int64_t m = state.range(1);
  const MdsCode& code = f.Mds(n);
  const int k = code.k();
  const int64_t len = code.BlockRows(m);
  std::vector<int> survivors(k);
  std::iota(survivors.begin(), survivors.end(), systematic ? 0 : n - k);
  const std::vector<Eigen::VectorXf>& v = f.Vectors(k, len);
  const std::vector<Eigen::MatrixXf> results(v.begin(), v.begin() + k);
  Time(state, k * len * static_cast<int64_t>(sizeof(float)), [&] {
    Eigen::MatrixXf ax = code.Decode(survivors, results, m);
    benchmark::DoNotOptimize(ax.data());
  });
  state.counters["k"] = k;
  state.counters["parity"] = systematic ? 0 : std::min(n - k, k);
}

std::vector<int> LastWorkers(int n, int s) {
  std::vector<int> survivors(n - s);
  std::iota(survivors.begin(), survivors.end(), s);
  return survivors;
}

void Sum(benchmark::State& state, Fixtures& f) {
  const int n = static_cast<int>(state.range(0)), s = static_cast<int>(state.range(1));
  const int64_t len = state.range(2);
  const std::vector<Eigen::VectorXf>& v = f.Vectors(n - s, len);
  Eigen::VectorXf out(len);
  const double seconds = Time(state, (n - s) * len * static_cast<int64_t>(sizeof(float)), [&] {
    out = v[0];
    for (int i = 1; i < n - s; ++i) out += v[i];
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  });
  f.sum_seconds()[{n, s, len}] = seconds;
}

void GcDecode(benchmark::State& state, Fixtures& f, bool cyclic) {
  const int n = static_cast<int>(state.range(0)), s = static_cast<int>(state.range(1));
  const int64_t len = state.range(2);
  const GradientCode& code = f.Gc(cyclic, n, s);
  const std::vector<int> survivors = LastWorkers(n, s);
  const std::vector<Eigen::VectorXf>& v = f.Vectors(n - s, len);
  const std::vector<Eigen::VectorXf> messages(v.begin(), v.begin() + (n - s));
  const double seconds = Time(state, (n - s) * len * static_cast<int64_t>(sizeof(float)), [&] {
    Eigen::VectorXf sum = code.Decode(survivors, messages);
    benchmark::DoNotOptimize(sum.data());
  });
  f.gc_seconds()[{cyclic, n, s, len}] = seconds;
  const auto it = f.sum_seconds().find({n, s, len});
  if (it != f.sum_seconds().end()) state.counters["vs_sum"] = seconds / it->second;
}

int Run(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf(
      "bytes/s = input floats read x 4 per second; vs_sum = decode time / plain sum of the "
      "same n-s vectors\n");
  std::fflush(stdout);

  Fixtures f;
  benchmark::RegisterBenchmark("BM_MdsEncode", [&](benchmark::State& s) { MdsEncode(s, f); })
      ->ArgNames({"n", "d"})
      ->ArgsProduct({{8, 16}, {256, 1024}})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (const bool systematic : {false, true}) {
    benchmark::RegisterBenchmark(
        systematic ? "BM_MdsDecode/systematic" : "BM_MdsDecode/parity",
        [&, systematic](benchmark::State& s) { MdsDecode(s, f, systematic); })
        ->ArgNames({"n", "m"})
        ->ArgsProduct({{8, 16}, {8192, 1 << 20}})
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  // (n, s) in {8, 12} × {1, 3}: (s+1) | n in all four, so fractional repetition fits too.
  const std::vector<std::vector<int64_t>> gc_args = {{8, 12}, {1, 3}, {10'000, 1'000'000}};
  // Registered first: each decode row divides by the sum of its (n, s, L).
  benchmark::RegisterBenchmark("BM_Sum", [&](benchmark::State& s) { Sum(s, f); })
      ->ArgNames({"n", "s", "L"})
      ->ArgsProduct(gc_args)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
  for (const bool cyclic : {false, true}) {
    benchmark::RegisterBenchmark(cyclic ? "BM_GcDecode/cyclic" : "BM_GcDecode/fractional",
                                 [&, cyclic](benchmark::State& s) { GcDecode(s, f, cyclic); })
        ->ArgNames({"n", "s", "L"})
        ->ArgsProduct(gc_args)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  // Summary: decode / sum per (n, s, L), for the rows that ran with their reference.
  for (const auto& [key, seconds] : f.gc_seconds()) {
    const auto [cyclic, n, s, len] = key;
    const auto it = f.sum_seconds().find({n, s, len});
    if (it == f.sum_seconds().end()) continue;
    std::printf(
        "gradient-code decode (%s, n=%d s=%d L=%lld): %.1f us = %.2f x plain sum (%.1f us)\n",
        cyclic ? "cyclic" : "fractional", n, s, static_cast<long long>(len), seconds * 1e6,
        seconds / it->second, it->second * 1e6);
  }
  return 0;
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) { return gw::Run(argc, argv); }
