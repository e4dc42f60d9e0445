#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "base/error.h"
#include "ps/imm.h"
#include "ps/layout.h"

namespace gw {
namespace {

// Shards and parts tile [0, num_params) in order; parts are full except the model's last.
void ExpectValid(size_t num_params, size_t part_floats, uint32_t servers) {
  SCOPED_TRACE(std::to_string(num_params) + " params, parts of " + std::to_string(part_floats) +
               ", " + std::to_string(servers) + " servers");
  const ModelLayout layout(num_params, part_floats, servers);
  ASSERT_EQ(layout.num_params(), num_params);
  ASSERT_EQ(layout.num_servers(), servers);
  size_t next = 0, max_shard = 0, min_shard = SIZE_MAX;
  for (uint32_t s = 0; s < servers; ++s) {
    ASSERT_EQ(layout.shard_begin(s), next) << "server " << s;
    const auto& parts = layout.parts(s);
    ASSERT_GE(parts.size(), 1u) << "server " << s;
    ASSERT_LE(parts.size(), Imm::kMaxParts);
    for (const Part& part : parts) {
      ASSERT_EQ(part.begin, next);
      const bool last = part.begin + part.size == num_params;
      ASSERT_TRUE(last ? part.size >= 1 && part.size <= part_floats : part.size == part_floats)
          << "part at " << part.begin << " has " << part.size;
      next += part.size;
    }
    ASSERT_EQ(layout.shard_size(s), next - layout.shard_begin(s));
    max_shard = std::max(max_shard, layout.shard_size(s));
    min_shard = std::min(min_shard, layout.shard_size(s));
  }
  ASSERT_EQ(next, num_params);
  // Balanced: no contiguous split into whole parts can do better than one part of spread.
  ASSERT_LE(max_shard - min_shard, part_floats);
  ASSERT_LE(max_shard, (num_params + servers - 1) / servers + part_floats - 1);
}

TEST(ModelLayout, TilesTheModelForManyShapes) {
  for (size_t num_params : {1, 2, 7, 64, 100, 1000, 4097, 65537, 1000003}) {
    for (size_t part_floats : {1, 3, 16, 1024, 250000}) {
      for (uint32_t servers : {1u, 2u, 3u, 4u, 7u, 16u}) {
        const size_t num_parts = (num_params + part_floats - 1) / part_floats;
        if (num_parts < servers || num_parts > size_t{servers} * Imm::kMaxParts) continue;
        ASSERT_NO_FATAL_FAILURE(ExpectValid(num_params, part_floats, servers));
      }
    }
  }
}

TEST(ModelLayout, ShortLastPartGoesWithAnExtraPart) {
  // 9 parts (8 of 10, one of 5) over 2 servers: 40 + 45 beats 50 + 35.
  const ModelLayout layout(85, 10, 2);
  EXPECT_EQ(layout.shard_size(0), 40u);
  EXPECT_EQ(layout.shard_size(1), 45u);
  EXPECT_EQ(layout.parts(1).back().begin, 80u);
  EXPECT_EQ(layout.parts(1).back().size, 5u);
}

TEST(ModelLayout, ExactlyOnePartPerServer) {
  const ModelLayout layout(10, 4, 3);
  for (uint32_t s = 0; s < 3; ++s) ASSERT_EQ(layout.parts(s).size(), 1u);
  EXPECT_EQ(layout.shard_size(2), 2u);
}

TEST(ModelLayout, MaxPartsPerServerIsAllowed) {
  const ModelLayout layout(2 * Imm::kMaxParts, 1, 2);
  EXPECT_EQ(layout.parts(0).size(), Imm::kMaxParts);
  EXPECT_EQ(layout.parts(1).size(), Imm::kMaxParts);
}

TEST(ModelLayout, Errors) {
  EXPECT_THROW(ModelLayout(100, 10, 0), Error);
  EXPECT_THROW(ModelLayout(100, 0, 1), Error);
  EXPECT_THROW(ModelLayout(0, 10, 1), Error);
  EXPECT_THROW(ModelLayout(10, 4, 4), Error);  // 3 parts, 4 servers
  EXPECT_THROW(ModelLayout(2 * Imm::kMaxParts + 1, 1, 2), Error);
  try {
    ModelLayout(Imm::kMaxParts + 1, 1, 1);
    ADD_FAILURE() << "too many parts accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("--part-bytes"));
  }
}

// The layout of one segment before segments existed: parts of part_floats (the last short),
// part counts per server differing by at most one, the larger counts on the last servers.
std::vector<std::vector<Part>> CountedParts(size_t num_params, size_t part_floats,
                                            uint32_t servers) {
  const size_t num_parts = (num_params + part_floats - 1) / part_floats;
  const size_t base = num_parts / servers, extra = num_parts % servers;
  std::vector<std::vector<Part>> out(servers);
  size_t begin = 0;
  for (uint32_t s = 0; s < servers; ++s) {
    for (size_t i = 0; i < base + (s >= servers - extra ? 1 : 0); ++i) {
      const size_t size = std::min(part_floats, num_params - begin);
      out[s].push_back({begin, size});
      begin += size;
    }
  }
  return out;
}

void ExpectCounted(const ModelLayout& layout, size_t num_params, size_t part_floats,
                   uint32_t servers) {
  const auto expected = CountedParts(num_params, part_floats, servers);
  for (uint32_t s = 0; s < servers; ++s) {
    ASSERT_EQ(layout.parts(s).size(), expected[s].size()) << "server " << s;
    for (size_t i = 0; i < expected[s].size(); ++i) {
      ASSERT_EQ(layout.parts(s)[i].begin, expected[s][i].begin) << "server " << s << " part " << i;
      ASSERT_EQ(layout.parts(s)[i].size, expected[s][i].size) << "server " << s << " part " << i;
      ASSERT_EQ(layout.parts(s)[i].segment, 0u);
    }
  }
}

// One segment (every workload without layers) keeps the layout parts were always cut in:
// the same parts on the same servers, so nothing about a flat model changes.
TEST(ModelLayout, OneSegmentIsTheLayoutByPartCounts) {
  std::mt19937_64 rng(16);
  for (int trial = 0; trial < 3000; ++trial) {
    const uint32_t servers = 1 + static_cast<uint32_t>(rng() % 9);
    const size_t part_floats = 1 + rng() % (trial % 2 ? 7 : 200);
    const size_t num_parts = servers + rng() % (trial % 3 ? 40 : 3 * Imm::kMaxParts);
    if (num_parts > size_t{servers} * Imm::kMaxParts) continue;
    // Any size that makes num_parts parts: the last one full or short.
    const size_t num_params = (num_parts - 1) * part_floats + 1 + rng() % part_floats;
    SCOPED_TRACE(std::to_string(num_params) + " params, parts of " + std::to_string(part_floats) +
                 ", " + std::to_string(servers) + " servers");
    const size_t segments[] = {num_params};
    ASSERT_NO_FATAL_FAILURE(ExpectCounted(ModelLayout(segments, part_floats, servers), num_params,
                                          part_floats, servers));
    ASSERT_NO_FATAL_FAILURE(ExpectCounted(ModelLayout(num_params, part_floats, servers), num_params,
                                          part_floats, servers));
  }
}

// The least floats the busiest server can hold when `sizes` (parts in order) are split into
// `servers` contiguous non-empty runs: every split tried (small inputs only).
size_t FewestOnTheBusiest(const std::vector<size_t>& sizes, uint32_t servers) {
  const size_t n = sizes.size();
  std::vector<size_t> prefix(n + 1, 0);
  for (size_t j = 0; j < n; ++j) prefix[j + 1] = prefix[j] + sizes[j];
  // best[k][j]: the least maximum over splits of the first j parts into k runs.
  std::vector<std::vector<size_t>> best(servers + 1, std::vector<size_t>(n + 1, SIZE_MAX));
  best[0][0] = 0;
  for (uint32_t k = 1; k <= servers; ++k) {
    for (size_t j = k; j <= n; ++j) {
      for (size_t i = k - 1; i < j; ++i) {
        if (best[k - 1][i] == SIZE_MAX) continue;
        best[k][j] = std::min(best[k][j], std::max(best[k - 1][i], prefix[j] - prefix[i]));
      }
    }
  }
  return best[servers][n];
}

// Layers of random sizes (empty, tiny like a batch-norm, several parts long), random part
// sizes and server counts: the parts cover the model once, in order, each within one layer,
// full but the layer's last; shards are contiguous runs; the busiest server holds no more
// than the best split of these parts would give it.
TEST(ModelLayout, SegmentsAreCutWithinEachAndBalancedBySize) {
  std::mt19937_64 rng(1616);
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t part_floats = 1 + rng() % 50;
    std::vector<size_t> segments(1 + rng() % 12);
    for (size_t& size : segments) {
      const uint64_t kind = rng() % 4;
      size = kind == 0 ? 0 : kind == 1 ? 1 + rng() % 3 : rng() % (4 * part_floats);
    }
    size_t num_parts = 0, num_params = 0;
    for (size_t size : segments) {
      num_parts += (size + part_floats - 1) / part_floats;
      num_params += size;
    }
    if (num_parts == 0) continue;
    const uint32_t servers = 1 + static_cast<uint32_t>(rng() % std::min<size_t>(num_parts, 6));
    SCOPED_TRACE("trial " + std::to_string(trial));
    const ModelLayout layout(segments, part_floats, servers);
    ASSERT_EQ(layout.num_params(), num_params);
    // Where each segment ends, to tell which segment a float is in.
    std::vector<size_t> ends;
    size_t end = 0;
    for (size_t size : segments) ends.push_back(end += size);
    auto segment_of = [&](size_t at) {
      return std::upper_bound(ends.begin(), ends.end(), at) - ends.begin();
    };
    std::vector<size_t> sizes;
    size_t next = 0, busiest = 0;
    for (uint32_t s = 0; s < servers; ++s) {
      ASSERT_EQ(layout.shard_begin(s), next) << "server " << s;
      ASSERT_GE(layout.parts(s).size(), 1u) << "server " << s;
      for (const Part& part : layout.parts(s)) {
        ASSERT_EQ(part.begin, next);
        ASSERT_GE(part.size, 1u);
        ASSERT_LE(part.size, part_floats);
        const auto segment = segment_of(part.begin);
        ASSERT_EQ(segment_of(part.begin + part.size - 1), segment) << "straddles at " << part.begin;
        ASSERT_EQ(part.segment, static_cast<size_t>(segment)) << "part at " << part.begin;
        // Full unless it ends its segment.
        ASSERT_TRUE(part.size == part_floats || part.begin + part.size == ends[segment]);
        sizes.push_back(part.size);
        next += part.size;
      }
      ASSERT_EQ(layout.shard_size(s), next - layout.shard_begin(s));
      busiest = std::max(busiest, layout.shard_size(s));
    }
    ASSERT_EQ(next, num_params);
    ASSERT_EQ(sizes.size(), num_parts);
    ASSERT_EQ(busiest, FewestOnTheBusiest(sizes, servers));
    ASSERT_LE(busiest, (num_params + servers - 1) / servers + part_floats - 1);
  }
}

// A flat model is checked from its sizes alone: 2^40 parts over 2^28 servers would take
// dozens of terabytes to lay out.
TEST(ModelLayout, CheckingOneSegmentAllocatesNothing) {
  EXPECT_NO_THROW(ModelLayout::Check(size_t{1} << 40, 1, 1u << 28));
  EXPECT_THROW(ModelLayout::Check((size_t{1} << 40) + 1, 1, 1u << 28), Error);
}

TEST(ModelLayout, ATinyLayerIsOneSmallPart) {
  const size_t segments[] = {100, 64, 100};  // conv, batch-norm, conv
  const ModelLayout layout(segments, 40, 1);
  std::vector<size_t> sizes;
  for (const Part& p : layout.parts(0)) sizes.push_back(p.size);
  EXPECT_THAT(sizes, ::testing::ElementsAre(40, 40, 20, 40, 24, 40, 40, 20));
}

// Balancing by size can give one server more parts than the immediate numbers even though
// the count over all servers would fit: many small layers on one side, a large one on the other.
TEST(ModelLayout, TooManyPartsOnOneServerSaysRaisePartBytes) {
  std::vector<size_t> segments(4000, 1);
  segments.push_back(40000);  // 4000 parts of 10: 8000 parts fit 2 x kMaxParts
  try {
    ModelLayout::Check(segments, 10, 2);
    ADD_FAILURE() << "too many parts on server 0 accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("server 0"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("raise --part-bytes"));
  }
  // Larger parts, as the message says: the large layer takes 40 parts instead of 4000.
  EXPECT_NO_THROW(ModelLayout::Check(segments, 1000, 2));
}

}  // namespace
}  // namespace gw
