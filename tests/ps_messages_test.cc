// Control messages' encoding (ps/messages.h): the region descriptors inside a join and a
// welcome, and the reserved fields of window requests and grants, are checked on receipt,
// not only the message's byte count.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ps/messages.h"

namespace gw {
namespace {

// The descriptor is as long for every backend, so a backend's handle never changes a message.
static_assert(sizeof(JoinMsg) == sizeof(uint64_t) + RemoteRegion::kEncodedBytes);
static_assert(sizeof(WelcomeMsg) == RemoteRegion::kEncodedBytes + 3 * sizeof(uint64_t));
// The request's layout: four 8-byte fields, four 4-byte ones (priority, part_index last), then
// ready_in_ns, so a request of a layout before it (40 or 48 bytes) is refused by its size.
static_assert(offsetof(WindowRequestMsg, batch) == 4 * sizeof(uint64_t));
static_assert(offsetof(WindowRequestMsg, priority) == 4 * sizeof(uint64_t) + 2 * sizeof(uint32_t));
static_assert(offsetof(WindowRequestMsg, ready_in_ns) ==
              4 * sizeof(uint64_t) + 4 * sizeof(uint32_t));
static_assert(sizeof(WindowRequestMsg) == 5 * sizeof(uint64_t) + 4 * sizeof(uint32_t));
static_assert(sizeof(WindowPostedMsg) == sizeof(uint64_t) + 2 * sizeof(uint32_t));

TEST(Messages, JoinAndWelcomeCarryTheDescriptorsHandleThrough) {
  JoinMsg join{.fingerprint = 0x1234, .params = {.id = 2, .length = 4096}};
  join.params.SetHandle(std::array<uint8_t, 3>{7, 8, 9});
  const auto back = Decode<JoinMsg>(Encode(join));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->fingerprint, 0x1234u);
  EXPECT_EQ(back->params.id, 2u);
  EXPECT_EQ(back->params.length, 4096u);
  const std::vector<uint8_t> handle(back->params.handle_bytes().begin(),
                                    back->params.handle_bytes().end());
  EXPECT_EQ(handle, (std::vector<uint8_t>{7, 8, 9}));

  const WelcomeMsg welcome{.slot = {.id = 5, .length = 64}, .shard_size = 16};
  const auto welcome_back = Decode<WelcomeMsg>(Encode(welcome));
  ASSERT_TRUE(welcome_back);
  EXPECT_EQ(welcome_back->slot.id, 5u);
  EXPECT_TRUE(welcome_back->slot.handle_bytes().empty());
}

// A handle longer than the bound, or stray bytes in the reserved or unused handle bytes, and the
// message is malformed: the receiver refuses it as it refuses one of the wrong size.
TEST(Messages, DecodeRefusesAMalformedRegionDescriptor) {
  const JoinMsg good{.fingerprint = 1, .params = {.id = 1, .length = 64}};
  ASSERT_TRUE(Decode<JoinMsg>(Encode(good)));
  JoinMsg too_long = good;
  too_long.params.handle_size = RemoteRegion::kMaxHandleBytes + 1;
  EXPECT_FALSE(Decode<JoinMsg>(Encode(too_long)));
  JoinMsg reserved = good;
  reserved.params.reserved[0] = 1;
  EXPECT_FALSE(Decode<JoinMsg>(Encode(reserved)));
  WelcomeMsg tail{.slot = {.id = 1, .length = 64}};
  tail.slot.handle.back() = 1;
  EXPECT_FALSE(Decode<WelcomeMsg>(Encode(tail)));
}

TEST(Messages, WindowRequestCarriesEveryFieldThrough) {
  const WindowRequestMsg req{.iteration = 7,
                             .last_iteration_ns = 2000000,
                             .last_blocked_ns = 50000,
                             .last_compute_ns = 1500000,
                             .batch = 79,
                             .last_batch = 64,
                             .priority = 160,
                             .ready_in_ns = 12345678};
  const auto back = Decode<WindowRequestMsg>(Encode(req));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->iteration, 7u);
  EXPECT_EQ(back->last_iteration_ns, 2000000);
  EXPECT_EQ(back->last_blocked_ns, 50000);
  EXPECT_EQ(back->last_compute_ns, 1500000);
  EXPECT_EQ(back->batch, 79u);
  EXPECT_EQ(back->last_batch, 64u);
  EXPECT_EQ(back->priority, 160u);
  EXPECT_EQ(back->ready_in_ns, 12345678);

  const auto posted = Decode<WindowPostedMsg>(Encode(WindowPostedMsg{7, 2, 4500}));
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->held_us, 4500u);
}

// A request as long as one from before priority existed (its bytes would otherwise be read
// with the new layout): refused like a wrong size. Per-partition windows' part index travels.
TEST(Messages, DecodeRefusesTheOldRequestLengthAndCarriesThePartIndex) {
  WindowRequestMsg req{.iteration = 3, .priority = 2, .part_index = 5};
  const auto back = Decode<WindowRequestMsg>(Encode(req));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->part_index, 5u);
  std::vector<uint8_t> old = Encode(req);
  old.resize(4 * sizeof(uint64_t) + 2 * sizeof(uint32_t));
  EXPECT_FALSE(Decode<WindowRequestMsg>(old));
  old.resize(4 * sizeof(uint64_t) + 4 * sizeof(uint32_t));  // before ready_in_ns
  EXPECT_FALSE(Decode<WindowRequestMsg>(old));

  WindowGrantMsg grant{.iteration = 3, .window_ns = 1000, .part_index = 0x80000000u};
  const auto grant_back = Decode<WindowGrantMsg>(Encode(grant));
  ASSERT_TRUE(grant_back);
  EXPECT_EQ(grant_back->part_index, 0x80000000u);
}

}  // namespace
}  // namespace gw
