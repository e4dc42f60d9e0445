// TensorParts (ps/worker/tensor_parts.h): which parts a tensor's forward pass waits for, and a
// part made ready exactly once, when the last tensor holding some of it is, in any order.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "base/error.h"
#include "ps/worker/tensor_parts.h"

namespace gw {
namespace {

using Parts = std::vector<std::pair<uint32_t, uint32_t>>;

TEST(TensorPartsTest, APartIsReadyOnceEveryTensorHoldingItIs) {
  // 129 floats in parts of 10 on one server: tensors 0..95, 96..111, 112..127, 128.
  const ModelLayout layout(129, 10, 1);
  const std::vector<TensorRange> tensors = {{0, 96}, {96, 16}, {112, 16}, {128, 1}};
  TensorParts tp(tensors, layout);
  ASSERT_EQ(layout.parts(0).size(), 13u);
  EXPECT_EQ(tp.Parts(1), (Parts{{0, 9}, {0, 10}, {0, 11}}));
  EXPECT_EQ(tp.PartTensor(0, 9), 0u) << "the first tensor in it: its push priority";
  Parts ready;
  EXPECT_TRUE(tp.Ready(3, &ready));
  EXPECT_TRUE(ready.empty()) << "part 12 also holds tensor 2";
  EXPECT_TRUE(tp.Ready(2, &ready));
  EXPECT_EQ(ready, (Parts{{0, 12}}));
  EXPECT_FALSE(tp.Ready(2, &ready)) << "twice in one iteration";
  EXPECT_FALSE(tp.Ready(4, &ready)) << "out of range";
  ready.clear();
  tp.RestReady(&ready);
  EXPECT_EQ(ready.size(), 12u) << "the others, once each";
  tp.Reset();
  ready.clear();
  EXPECT_TRUE(tp.Ready(0, &ready));
  EXPECT_EQ(ready.size(), 9u) << "parts 0..8; part 9 waits for tensor 1";
}

// Property: in any order of tensors, over two servers, every part is reported exactly once,
// after all its holders.
TEST(TensorPartsTest, AnyOrderReportsEachPartOnceAfterItsLastHolder) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<TensorRange> tensors;
    size_t at = 0;
    const int n = 2 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const size_t size = 1 + rng() % 40;
      tensors.push_back({at, size});
      at += size;
    }
    // At least one part per server (ModelLayout refuses fewer).
    const ModelLayout layout(at, 1 + rng() % std::min<size_t>(16, at / 2), 2);
    TensorParts tp(tensors, layout);
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> done(tensors.size(), false);
    Parts all;
    for (size_t t : order) {
      Parts ready;
      ASSERT_TRUE(tp.Ready(t, &ready));
      done[t] = true;
      for (const auto& [s, p] : ready) {
        const auto& part = layout.parts(s)[p];
        for (size_t h = 0; h < tensors.size(); ++h) {
          const bool holds = tensors[h].begin < part.begin + part.size &&
                             part.begin < tensors[h].begin + tensors[h].size;
          EXPECT_TRUE(!holds || done[h]) << "part " << p << " before tensor " << h;
        }
      }
      all.insert(all.end(), ready.begin(), ready.end());
    }
    size_t parts = 0;
    for (uint32_t s = 0; s < layout.num_servers(); ++s) parts += layout.parts(s).size();
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
    EXPECT_EQ(all.size(), parts);
  }
}

TEST(TensorPartsTest, TensorsThatDoNotCoverTheModelAreRefused) {
  const ModelLayout layout(10, 4, 1);
  using Tensors = std::vector<TensorRange>;
  EXPECT_THROW(TensorParts(Tensors{{0, 5}, {6, 4}}, layout), Error) << "a gap";
  EXPECT_THROW(TensorParts(Tensors{{0, 5}}, layout), Error) << "short of the model";
  EXPECT_THROW(TensorParts(Tensors{{0, 5}, {5, 0}, {5, 5}}, layout), Error) << "empty";
}

}  // namespace
}  // namespace gw
