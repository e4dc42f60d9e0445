#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

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

}  // namespace
}  // namespace gw
