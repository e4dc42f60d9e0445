// Backprop (ps/worker/backprop.h): which layer's backward pass completes each layout part, and
// each layer's push and landing times from the write records, and the parts each layer's
// forward pass waits for.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "base/error.h"
#include "ps/worker/backprop.h"
#include "ps/worker/landed_parts.h"

namespace gw {
namespace {

std::vector<WorkloadLayer> Layers(const std::vector<size_t>& sizes) {
  std::vector<WorkloadLayer> layers;
  size_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    layers.push_back({"l" + std::to_string(i), at, sizes[i], {}, {}});
    at += sizes[i];
  }
  return layers;
}

// The layer holding float i, by walking the layers (the reference for the binary search).
uint32_t LayerOf(const std::vector<WorkloadLayer>& layers, size_t i) {
  for (uint32_t l = 0; l < layers.size(); ++l) {
    if (i < layers[l].begin + layers[l].size) return l;
  }
  ADD_FAILURE() << "float " << i << " is in no layer";
  return 0;
}

// A random model of 1-12 layers of 1-50 floats, cut into parts of 1-30 floats over 1-3 servers
// (parts straddle layers: the flat layout); nullopt when the servers outnumber the parts.
struct RandomModel {
  std::vector<size_t> sizes;
  std::vector<WorkloadLayer> layers;
  ModelLayout layout;
  uint32_t servers;
};
std::optional<RandomModel> MakeRandomModel(std::mt19937_64& rng) {
  std::vector<size_t> sizes(1 + rng() % 12);
  size_t total = 0;
  for (size_t& s : sizes) total += s = 1 + rng() % 50;
  const auto servers = static_cast<uint32_t>(1 + rng() % 3);
  const size_t part_floats = 1 + rng() % 30;
  if ((total + part_floats - 1) / part_floats < servers) return std::nullopt;
  return RandomModel{sizes, Layers(sizes), ModelLayout(total, part_floats, servers), servers};
}

TEST(BackpropTest, EachPartIsCompletedByTheLayerHoldingItsFirstFloat) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const auto model = MakeRandomModel(rng);
    if (!model) continue;
    const auto& [sizes, layers, layout, servers] = *model;
    const Backprop bp(layers, layout);
    EXPECT_EQ(bp.num_layers(), sizes.size());
    for (uint32_t s = 0; s < servers; ++s) {
      for (uint32_t p = 0; p < layout.parts(s).size(); ++p) {
        const Part& part = layout.parts(s)[p];
        const uint32_t layer = bp.PartLayer(s, p);
        EXPECT_EQ(layer, LayerOf(layers, part.begin)) << "trial " << trial;
        // Every float of the part is in that layer or a later one: backward (last layer
        // first) has produced all of it once that layer is done.
        EXPECT_GE(LayerOf(layers, part.begin + part.size - 1), layer);
      }
    }
  }
}

// A layer's forward pass waits for exactly the parts holding some of its floats (a part may
// hold several small layers, and a layer span several parts and servers).
TEST(BackpropTest, EachLayerWaitsForEveryPartHoldingSomeOfItAndNoOther) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const auto model = MakeRandomModel(rng);
    if (!model) continue;
    const auto& [sizes, layers, layout, servers] = *model;
    const Backprop bp(layers, layout);
    for (size_t l = 0; l < layers.size(); ++l) {
      std::vector<std::pair<uint32_t, uint32_t>> expected;
      for (uint32_t s = 0; s < servers; ++s) {
        for (uint32_t p = 0; p < layout.parts(s).size(); ++p) {
          const Part& part = layout.parts(s)[p];
          const bool overlaps = part.begin < layers[l].begin + layers[l].size &&
                                layers[l].begin < part.begin + part.size;
          if (overlaps) expected.emplace_back(s, p);
        }
      }
      EXPECT_EQ(bp.LayerParts(l), expected) << "trial " << trial << " layer " << l;
    }
  }
}

TEST(LandedPartsTest, APartCountsOnceAndOnlyIfTheServerHasIt) {
  const ModelLayout layout(24, 8, 2);  // server 0: part 0; server 1: parts 0 and 1
  ASSERT_EQ(layout.parts(0).size(), 1u);
  ASSERT_EQ(layout.parts(1).size(), 2u);
  LandedParts landed(layout);
  const TimePoint t{};
  EXPECT_FALSE(landed.Land(0, 1, t)) << "server 0 has one part";
  EXPECT_FALSE(landed.Land(2, 0, t)) << "there is no server 2";
  EXPECT_TRUE(landed.Land(1, 1, t));
  EXPECT_FALSE(landed.Land(1, 1, t)) << "a repeat";
  EXPECT_EQ(landed.count(1), 1u);
  EXPECT_FALSE(landed.AllOf(1));
  EXPECT_TRUE(landed.Land(1, 0, t));
  EXPECT_TRUE(landed.AllOf(1));
  EXPECT_FALSE(landed.All());
  EXPECT_TRUE(landed.Land(0, 0, t));
  EXPECT_TRUE(landed.All());
  landed.Clear();
  EXPECT_FALSE(landed.landed(1, 1));
  EXPECT_EQ(landed.count(1), 0u);
  EXPECT_TRUE(landed.Land(1, 1, t)) << "the next iteration's may land";
}

TEST(BackpropTest, LayersThatDoNotCoverTheModelInOrderAreRefused) {
  const ModelLayout layout(30, 8, 1);
  EXPECT_THROW(Backprop(Layers({10, 10}), layout), Error);  // 20 of 30 floats
  auto gap = Layers({10, 20});
  gap[1].begin = 11;
  EXPECT_THROW(Backprop(gap, layout), Error);
  EXPECT_THROW(Backprop(Layers({10, 0, 20}), layout), Error);
  EXPECT_NO_THROW(Backprop(Layers({10, 20}), layout));
}

TEST(BackpropTest, FinishGivesEachLayerItsFirstPostLastCompletionAndLastLanding) {
  // Layers of 8 and 16 floats, parts of 8: part 0 is layer 0's, parts 1 and 2 layer 1's.
  const ModelLayout layout(24, 8, 1);
  const Backprop bp(Layers({8, 16}), layout);
  ASSERT_EQ(bp.PartLayer(0, 0), 0u);
  ASSERT_EQ(bp.PartLayer(0, 1), 1u);
  ASSERT_EQ(bp.PartLayer(0, 2), 1u);
  const TimePoint start{};
  const TimePoint push_start = start + std::chrono::milliseconds(100);
  std::vector<WriteRecord> writes(3);
  // part, gate, queued, wire: posted at push_start + gate + queued.
  writes[0] = {0, 0, 1, 32, 0.0, 0.050, 0.010};  // layer 1: posted 0.150, done 0.160
  writes[1] = {0, 0, 2, 32, 0.0, 0.060, 0.010};  // layer 1: posted 0.160, done 0.170
  writes[2] = {0, 0, 0, 32, 0.0, 0.200, 0.020};  // layer 0: posted 0.300, done 0.320
  LandedParts landed(layout);
  ASSERT_TRUE(landed.Land(0, 0, start + std::chrono::milliseconds(400)));
  ASSERT_TRUE(landed.Land(0, 1, start + std::chrono::milliseconds(380)));
  ASSERT_TRUE(landed.Land(0, 2, start + std::chrono::milliseconds(390)));
  std::vector<LayerRecord> records(2);
  records[0].layer = 0;
  records[1].layer = 1;
  bp.Finish(writes, push_start, start, landed, &records);
  EXPECT_NEAR(records[1].push_start_s, 0.150, 1e-9);
  EXPECT_NEAR(records[1].push_end_s, 0.170, 1e-9);
  EXPECT_NEAR(records[0].push_start_s, 0.300, 1e-9);
  EXPECT_NEAR(records[0].push_end_s, 0.320, 1e-9);
  EXPECT_NEAR(records[0].params_s, 0.400, 1e-9);
  EXPECT_NEAR(records[1].params_s, 0.390, 1e-9);
}

}  // namespace
}  // namespace gw
