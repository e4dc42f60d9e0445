#include "ps/layout.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "base/error.h"
#include "ps/imm.h"

namespace gw {
namespace {

size_t PartsOf(size_t floats, size_t part_floats) {
  return (floats + part_floats - 1) / part_floats;
}

// What can be refused from the sizes alone, before any part is cut: a job of absurd sizes is
// refused in constant memory.
void CheckCounts(std::span<const size_t> segments, size_t part_floats, uint32_t num_servers) {
  if (num_servers == 0) throw Error("model layout: need at least one server");
  if (part_floats == 0) throw Error("model layout: parts must hold at least one float");
  const size_t num_params = std::accumulate(segments.begin(), segments.end(), size_t{0});
  const size_t num_parts =
      std::accumulate(segments.begin(), segments.end(), size_t{0},
                      [&](size_t n, size_t size) { return n + PartsOf(size, part_floats); });
  if (num_parts < num_servers) {
    throw Error("model layout: " + std::to_string(num_params) + " parameters make " +
                std::to_string(num_parts) + " parts of " + std::to_string(part_floats) +
                " floats, fewer than the " + std::to_string(num_servers) +
                " servers; lower --part-bytes or use fewer servers");
  }
  if (num_parts > uint64_t{num_servers} * Imm::kMaxParts) {
    throw Error("model layout: " + std::to_string(num_parts) + " parts over " +
                std::to_string(num_servers) + " servers exceed " + std::to_string(Imm::kMaxParts) +
                " parts per server; raise --part-bytes or add servers");
  }
}

// Each segment in parts of part_floats floats, the segment's last part holding the rest.
std::vector<Part> Cut(std::span<const size_t> segments, size_t part_floats) {
  std::vector<Part> parts;
  size_t begin = 0;
  for (size_t segment = 0; segment < segments.size(); ++segment) {
    for (const size_t end = begin + segments[segment]; begin < end;) {
      const size_t floats = std::min(part_floats, end - begin);
      parts.push_back({begin, floats, segment});
      begin += floats;
    }
  }
  return parts;
}

// The first part of each server's run (and n at the end) for parts whose running sizes are
// `prefix` (prefix[j]: floats of parts 0..j-1), over num_servers <= n servers:
//  1. the busiest server holds the least any contiguous split allows (C, by bisection: runs
//     of at most C floats taken greedily cover the parts in num_servers runs or fewer);
//  2. from the first server on, each takes the most parts that stay within an equal share of
//     what is left, unless the remaining servers could then not cover the rest in runs of at
//     most C: it takes the fewest more that let them.
// With equal parts (one segment: every part full but the last) step 2 gives every server the
// rounded-down share of parts and the last servers one more part each, as counting parts did.
std::vector<size_t> Split(const std::vector<size_t>& prefix, uint32_t num_servers) {
  const size_t n = prefix.size() - 1;
  const size_t total = prefix[n];
  // The furthest end of a run starting at part i holding at most `cap` floats.
  auto run_end = [&](size_t i, size_t cap) {
    return static_cast<size_t>(std::upper_bound(prefix.begin() + static_cast<ptrdiff_t>(i),
                                                prefix.end(), prefix[i] + cap) -
                               prefix.begin()) -
           1;
  };
  auto runs_needed = [&](size_t cap) {
    size_t runs = 0;
    for (size_t i = 0; i < n; i = run_end(i, cap)) ++runs;
    return runs;
  };
  size_t largest_part = 0;
  for (size_t j = 0; j < n; ++j) largest_part = std::max(largest_part, prefix[j + 1] - prefix[j]);
  size_t lo = largest_part, hi = total;  // runs_needed(hi) == 1 <= num_servers
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (runs_needed(mid) <= num_servers)
      hi = mid;
    else
      lo = mid + 1;
  }
  const size_t cap = lo;
  // needed[j]: runs of at most cap floats that cover parts j..n-1, at least; never grows with j.
  std::vector<size_t> needed(n + 1, 0);
  for (size_t j = n; j-- > 0;) needed[j] = 1 + needed[run_end(j, cap)];

  std::vector<size_t> first(num_servers + 1, n);
  first[0] = 0;
  for (uint32_t s = 0; s + 1 < num_servers; ++s) {
    const size_t i = first[s];
    const size_t left = num_servers - s;  // servers still to fill, s included
    // The most parts within an equal share: (prefix[j] - prefix[i]) * left <= total - prefix[i].
    const size_t share = (total - prefix[i]) / left;
    size_t end = run_end(i, share);
    // The fewest parts after which left - 1 servers can still cover the rest...
    const size_t fewest = static_cast<size_t>(
        std::partition_point(needed.begin() + static_cast<ptrdiff_t>(i + 1), needed.end(),
                             [&](size_t runs) { return runs > left - 1; }) -
        needed.begin());
    // ... and the most: within cap, leaving a part for each of them.
    const size_t most = std::min(run_end(i, cap), n - (left - 1));
    first[s + 1] = std::clamp(end, fewest, most);
  }
  return first;
}

}  // namespace

void ModelLayout::Check(size_t num_params, size_t part_floats, uint32_t num_servers) {
  const size_t segments[] = {num_params};
  Check(segments, part_floats, num_servers);
}

void ModelLayout::Check(std::span<const size_t> segments, size_t part_floats,
                        uint32_t num_servers) {
  CheckCounts(segments, part_floats, num_servers);
  // One segment's parts are equal but the last, so part counts per server differ by at most
  // one and the counts alone decide: nothing is allocated, however large the model (a job is
  // validated before it starts, whatever its flags). With several segments, whether a server
  // gets too many parts depends on the split: the layout is the check (a few dozen bytes per
  // part, and CheckCounts bounds the parts by the servers).
  if (segments.size() > 1) ModelLayout(segments, part_floats, num_servers);
}

ModelLayout::ModelLayout(size_t num_params, size_t part_floats, uint32_t num_servers)
    : ModelLayout(std::span<const size_t>(&num_params, 1), part_floats, num_servers) {}

ModelLayout::ModelLayout(std::span<const size_t> segments, size_t part_floats, uint32_t num_servers)
    : num_segments_(segments.size()) {
  CheckCounts(segments, part_floats, num_servers);
  const std::vector<Part> cut = Cut(segments, part_floats);
  std::vector<size_t> prefix(cut.size() + 1, 0);
  for (size_t j = 0; j < cut.size(); ++j) prefix[j + 1] = prefix[j] + cut[j].size;
  num_params_ = prefix.back();
  const std::vector<size_t> first = Split(prefix, num_servers);
  shard_begin_.resize(num_servers);
  shard_size_.resize(num_servers);
  parts_.resize(num_servers);
  for (uint32_t s = 0; s < num_servers; ++s) {
    const size_t count = first[s + 1] - first[s];
    if (count > Imm::kMaxParts) {
      throw Error("model layout: server " + std::to_string(s) + " would hold " +
                  std::to_string(count) + " parts (its share of the floats), more than the " +
                  std::to_string(Imm::kMaxParts) +
                  " an immediate can number; raise --part-bytes or add servers");
    }
    parts_[s].assign(cut.begin() + static_cast<ptrdiff_t>(first[s]),
                     cut.begin() + static_cast<ptrdiff_t>(first[s + 1]));
    shard_begin_[s] = prefix[first[s]];
    shard_size_[s] = prefix[first[s + 1]] - prefix[first[s]];
  }
}

}  // namespace gw
