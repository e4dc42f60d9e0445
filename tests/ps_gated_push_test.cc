// GatedPush (ps/gated_push.h) on a connection that only records what is posted: the order
// writes go out in, their wr_ids, and what the window gate and a push order hold back.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "ps/gated_push.h"
#include "ps/imm.h"
#include "ps/messages.h"
#include "ps/roles.h"
#include "sched/push_order_spec.h"

namespace gw {
namespace {

struct Posted {
  uint64_t offset;
  uint32_t imm;
  uint64_t wr_id;
  size_t bytes;
};

class RecordingConnection final : public Connection {
 public:
  PeerId peer() const override { return {Role::kServer, 0}; }
  void Write(std::span<const std::byte> src, const RemoteRegion&, uint64_t offset, uint32_t imm,
             uint64_t wr_id) override {
    posted.push_back({offset, imm, wr_id, src.size()});
  }
  void Send(uint16_t, std::span<const uint8_t>) override {}
  bool open() const override { return true; }
  void Close() override {}
  void Abort(const std::string&) override {}

  std::vector<Posted> posted;
};

constexpr size_t kPart = 64;

class GatedPushTest : public ::testing::Test {
 protected:
  GatedPushTest() : conn_(std::make_shared<RecordingConnection>()), grad_(kPart * 4) {}

  // Writes i = 0..3 of kPart bytes each, part i, priority `priorities[i]`.
  void AddParts(GatedPush& push, const std::vector<uint32_t>& priorities) {
    push.Bind(conn_, RemoteRegion{});
    push.Begin(7);
    const auto bytes = std::span<const std::byte>(grad_);
    for (uint32_t i = 0; i < priorities.size(); ++i) {
      push.Add(bytes.subspan(i * kPart, kPart), i * kPart, Imm::Encode(7, i), priorities[i]);
    }
  }
  std::vector<uint32_t> PostedParts() const {
    std::vector<uint32_t> parts;
    for (const Posted& p : conn_->posted) parts.push_back(Imm::Decode(p.imm).part);
    return parts;
  }
  struct Ask {
    uint64_t id;
    uint32_t priority;
    uint32_t part_index;
    sched::Duration ready_in{};  // asked ahead
    bool operator==(const Ask&) const = default;
  };
  // A window's first-write notice, and how many writes had been posted when it was sent.
  struct Notice {
    uint64_t id;
    uint32_t part_index;
    size_t posted_before;
    sched::Duration held{};  // how long an ahead grant waited for Start
    bool operator==(const Notice&) const = default;
  };
  // Gated pushes record their window requests in asks_ and their notices in notices_.
  Gating Asking(bool per_part, uint64_t window_bytes = 0) {
    return Gating{[this](uint64_t id, uint32_t priority, uint32_t part, sched::Duration ready_in) {
                    asks_.push_back({id, priority, part, ready_in});
                  },
                  per_part, window_bytes,
                  [this](uint64_t id, uint32_t part, sched::Duration held) {
                    notices_.push_back({id, part, conn_->posted.size(), held});
                  }};
  }
  static constexpr uint32_t kNone = WindowRequestMsg::kNoneReady;
  // Completes the oldest posted write not yet completed.
  void CompleteNext(GatedPush& push) { push.OnWriteDone(conn_->posted[done_++].wr_id, now_); }

  std::shared_ptr<RecordingConnection> conn_;
  std::vector<std::byte> grad_;
  sched::TimePoint now_{};
  size_t done_ = 0;
  std::vector<Ask> asks_;
  std::vector<Notice> notices_;
};

sched::PushOrderSpec Order(const std::string& text) {
  const auto parsed = sched::ParsePushOrder(text);
  EXPECT_TRUE(parsed.spec) << parsed.error;
  return *parsed.spec;
}

TEST_F(GatedPushTest, AnUnorderedPushPostsEveryWriteAtStartInAddOrder) {
  GatedPush push(0, Gating{});
  AddParts(push, {3, 2, 1, 0});
  push.Start(now_);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{0, 1, 2, 3}));
  for (size_t i = 0; i < conn_->posted.size(); ++i) EXPECT_EQ(conn_->posted[i].wr_id, i);
  EXPECT_THROW(push.Ready(0, now_), Error);
  for (int i = 0; i < 4; ++i) CompleteNext(push);
  EXPECT_TRUE(push.finished());
  ASSERT_EQ(push.records().size(), 4u);
  EXPECT_EQ(push.records()[3].part, 3u);
}

TEST_F(GatedPushTest, AnOrderedPushPostsNothingUntilBackpropMakesItReady) {
  GatedPush push(0, Gating{}, Order("fifo"));
  AddParts(push, {0, 1, 2, 3});
  push.Start(now_);
  EXPECT_TRUE(conn_->posted.empty());
  // Backprop: the last layer first. fifo posts in ready order, at once.
  push.Ready(3, now_);
  push.Ready(2, now_);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{3, 2}));
  push.Ready(0, now_);
  push.Ready(1, now_);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{3, 2, 0, 1}));
  // wr_ids follow posting order, so completions (in order on one connection) match.
  for (size_t i = 0; i < conn_->posted.size(); ++i) EXPECT_EQ(conn_->posted[i].wr_id, i);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(push.finished());
    CompleteNext(push);
  }
  EXPECT_TRUE(push.finished());
  EXPECT_EQ(push.bytes(), 4 * kPart);
  std::vector<uint32_t> recorded;
  for (const WriteRecord& r : push.records()) recorded.push_back(r.part);
  EXPECT_EQ(recorded, (std::vector<uint32_t>{3, 2, 0, 1}));
}

TEST_F(GatedPushTest, PriorityLetsAMoreUrgentPartOvertakeAtTheNextBoundary) {
  GatedPush push(0, Gating{}, Order("priority"));
  AddParts(push, {0, 1, 2, 3});
  push.Start(now_);
  push.Ready(3, now_);
  push.Ready(2, now_);
  push.Ready(1, now_);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{3}));  // one in flight
  push.Ready(0, now_);
  CompleteNext(push);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{3, 0}));  // the most urgent went next
  CompleteNext(push);
  CompleteNext(push);
  CompleteNext(push);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{3, 0, 1, 2}));
  EXPECT_TRUE(push.finished());
  EXPECT_EQ(push.bytes(), 4 * kPart);  // the same bytes as fifo, in another order
}

TEST_F(GatedPushTest, AGatedOrderedPushPostsReadyWritesOnlyInsideAWindow) {
  GatedPush push(0, Asking(/*per_part=*/false), Order("fifo"));
  AddParts(push, {0, 1, 2, 3});
  push.Start(now_);
  EXPECT_EQ(asks_, (std::vector<Ask>{{7, 0, 0}})) << "one request for the whole push, at Start";
  push.Ready(3, now_);
  push.Ready(2, now_);
  push.Ready(1, now_);
  EXPECT_TRUE(conn_->posted.empty());  // no window yet
  push.OnGrant(7, now_, 1'000'000'000);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{3, 2}));  // GatedPush::kMaxPosted
  CompleteNext(push);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{3, 2, 1}));
  EXPECT_EQ(asks_.size(), 1u);
}

// Per partition (global-priority), windows of one partition: one request per ready partition,
// naming it and its priority, one write per grant, each window's end reported by the next
// request (kNoneReady when nothing is left); a more urgent partition made ready while a
// request waits asks again with its priority; a grant for a partition already posted is
// ignored.
TEST_F(GatedPushTest, PerPartitionGrantsLetOneWriteGoEachAndTheMostUrgentReadyIsAskedFor) {
  GatedPush push(0, Asking(/*per_part=*/true), Order("priority:inflight=4"));
  AddParts(push, {0, 1, 2, 3});
  push.Start(now_);
  EXPECT_TRUE(asks_.empty()) << "nothing ready yet";
  push.Ready(3, now_);
  EXPECT_EQ(asks_, (std::vector<Ask>{{7, 3, 0}}));
  push.Ready(2, now_);  // more urgent: asked again for the same partition
  push.Ready(1, now_);
  EXPECT_EQ(asks_, (std::vector<Ask>{{7, 3, 0}, {7, 2, 0}, {7, 1, 0}}));
  push.OnGrant(7, now_, 1'000'000'000, /*part_index=*/1);  // not the partition asked for
  EXPECT_TRUE(conn_->posted.empty());
  push.OnGrant(7, now_, 1'000'000'000, 0);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{1})) << "one write per grant, the most urgent";
  EXPECT_EQ(asks_.back(), (Ask{7, 2, 1})) << "the next partition asked for at once";
  push.OnGrant(7, now_, 1'000'000'000, 0);  // a re-grant of partition 0: already posted
  EXPECT_EQ(conn_->posted.size(), 1u);
  push.Ready(0, now_);  // while partition 1's request waits: asked again, more urgent
  EXPECT_EQ(asks_.back(), (Ask{7, 0, 1}));
  push.OnGrant(7, now_, 1'000'000'000, 1);
  CompleteNext(push);
  push.OnGrant(7, now_, 1'000'000'000, 2);
  CompleteNext(push);
  push.OnGrant(7, now_, 1'000'000'000, 3);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{1, 0, 2, 3}));
  EXPECT_EQ(asks_.back(), (Ask{7, kNone, 4})) << "the last window's end, nothing ready";
  const size_t asked = asks_.size();
  CompleteNext(push);
  CompleteNext(push);
  EXPECT_TRUE(push.finished());
  EXPECT_EQ(asks_.size(), asked) << "nothing left to ask for";
}

TEST_F(GatedPushTest, PerPartitionUnorderedPushesAskForTheirWritesInOrder) {
  GatedPush push(0, Asking(/*per_part=*/true));
  AddParts(push, {0, 0, 0});
  push.Start(now_);
  EXPECT_EQ(asks_, (std::vector<Ask>{{7, 0, 0}}));
  push.OnGrant(7, now_, 1'000'000'000, 0);
  push.OnGrant(7, now_, 1'000'000'000, 1);
  CompleteNext(push);
  push.OnGrant(7, now_, 1'000'000'000, 2);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(asks_, (std::vector<Ask>{{7, 0, 0}, {7, 0, 1}, {7, 0, 2}, {7, kNone, 3}}));
  EXPECT_EQ(notices_, (std::vector<Notice>{{7, 0, 0}, {7, 1, 1}, {7, 2, 2}}))
      << "each window's first write announced just ahead of it";
}

// The server learns when a window's writes start (pipelined turns): a notice goes just ahead of
// the first write of every window taken, a re-grant after a revocation included; a grant the
// push cannot use (another push's, or one with nothing left to post) is counted, not applied.
TEST_F(GatedPushTest, EachWindowsFirstWriteIsAnnouncedAheadOfItAndStaleGrantsAreCounted) {
  GatedPush push(0, Asking(/*per_part=*/false));
  AddParts(push, {0, 0, 0, 0});
  push.Start(now_);
  push.OnGrant(8, now_, 1'000'000'000);  // another push's
  EXPECT_EQ(push.stale_grants(), 1u);
  EXPECT_TRUE(conn_->posted.empty());
  EXPECT_TRUE(notices_.empty());
  push.OnGrant(7, now_, 1'000'000'000);
  EXPECT_EQ(conn_->posted.size(), 2u);  // GatedPush::kMaxPosted
  EXPECT_EQ(notices_, (std::vector<Notice>{{7, 0, 0}}));
  CompleteNext(push);  // the third write goes in the same window: no notice
  EXPECT_EQ(notices_.size(), 1u);
  push.OnGrant(7, now_, 1'000'000'000);  // revoked and granted again: a new window
  CompleteNext(push);
  EXPECT_EQ(notices_, (std::vector<Notice>{{7, 0, 0}, {7, 0, 3}}));
  CompleteNext(push);
  CompleteNext(push);
  ASSERT_TRUE(push.finished());
  push.OnGrant(7, now_, 1'000'000'000);  // nothing left to post
  EXPECT_EQ(push.stale_grants(), 2u);
  EXPECT_EQ(notices_.size(), 2u);
}

// A window of window_bytes carries ready partitions, most urgent first, until that many bytes
// went out, or until nothing is ready: small tensors share one window.
TEST_F(GatedPushTest, PerPartitionWindowsCarryReadyPartitionsUpToTheirBytes) {
  GatedPush push(0, Asking(/*per_part=*/true, 3 * kPart), Order("priority:inflight=4"));
  AddParts(push, {0, 1, 2, 3});
  push.Start(now_);
  push.Ready(3, now_);
  push.Ready(2, now_);
  push.OnGrant(7, now_, 1'000'000'000, 0);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(asks_.back(), (Ask{7, kNone, 2})) << "nothing else ready: the window ends at 2";
  push.Ready(1, now_);
  push.Ready(0, now_);
  EXPECT_EQ(asks_.back(), (Ask{7, 0, 2}));
  CompleteNext(push);
  CompleteNext(push);
  push.OnGrant(7, now_, 1'000'000'000, 2);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{2, 3, 0, 1}));
  EXPECT_EQ(asks_.back(), (Ask{7, kNone, 4}));
}

// A window that ran out before its writes could go (the server's deadline passed on the way)
// is reopened by a re-grant of the window in use (the server revoked it and granted it again);
// a grant of another partition does not.
TEST_F(GatedPushTest, ARegrantOfTheWindowInUseReopensIt) {
  GatedPush push(0, Asking(/*per_part=*/true, 4 * kPart), Order("fifo"));
  AddParts(push, {0, 1, 2, 3});
  push.Start(now_);
  for (size_t i = 0; i < 4; ++i) push.Ready(i, now_);
  push.OnGrant(7, now_, /*window_ns=*/0, 0);
  EXPECT_TRUE(conn_->posted.empty()) << "the window ran out on its way";
  push.OnGrant(7, now_, 1000, 1);  // not the window in use
  EXPECT_TRUE(conn_->posted.empty());
  push.OnGrant(7, now_, 1000, 0);
  EXPECT_EQ(PostedParts(), (std::vector<uint32_t>{0, 1, 2, 3})) << "all at once: 4 parts' bytes";
  EXPECT_EQ(asks_.back(), (Ask{7, kNone, 4}));
}

// Asked ahead: the request goes before Start with the ready time and not again at Start; a
// grant that comes first is held (nothing posted before Start); at Start the writes go at once
// and the notice says how long the grant waited.
TEST_F(GatedPushTest, AGrantAskedAheadIsHeldUntilStartThenUsedAtOnce) {
  using namespace std::chrono_literals;
  GatedPush push(0, Asking(/*per_part=*/false));
  AddParts(push, {0, 0, 0, 0});
  EXPECT_FALSE(push.asked_ahead());
  push.AskAhead(30ms);
  EXPECT_TRUE(push.asked_ahead());
  EXPECT_EQ(asks_, (std::vector<Ask>{{7, 0, 0, 30ms}}));
  push.OnGrant(7, now_ + 25ms, 20'000'000);  // a 20 ms window from 25 ms
  EXPECT_TRUE(conn_->posted.empty()) << "the gradient is not computed yet";
  EXPECT_TRUE(notices_.empty());
  push.Start(now_ + 31ms);
  EXPECT_FALSE(push.asked_ahead()) << "started";
  EXPECT_EQ(asks_.size(), 1u) << "asked once";
  EXPECT_EQ(conn_->posted.size(), 2u);  // GatedPush::kMaxPosted
  EXPECT_EQ(notices_, (std::vector<Notice>{{7, 0, 0, 6ms}}));
  EXPECT_EQ(push.gate_waited(), 0ms) << "computing is not waiting for a window";
  EXPECT_EQ(push.missed_grants(), 0u);
  EXPECT_THROW(push.AskAhead(1ms), Error) << "started";
}

// A held grant whose window ran out before the gradient was ready is counted and not used:
// the push waits for the server's next grant (its notice then says nothing was held), and a
// grant for a cancelled push is stale.
TEST_F(GatedPushTest, AHeldGrantWhoseWindowRanOutBeforeStartIsCountedNotUsed) {
  using namespace std::chrono_literals;
  GatedPush push(0, Asking(/*per_part=*/false));
  AddParts(push, {0, 0, 0, 0});
  push.AskAhead(10ms);
  push.OnGrant(7, now_ + 10ms, 5'000'000);  // open 10..15 ms
  push.Start(now_ + 40ms);                  // missed it
  EXPECT_EQ(push.missed_grants(), 1u);
  EXPECT_TRUE(conn_->posted.empty());
  EXPECT_TRUE(notices_.empty());
  push.OnGrant(7, now_ + 52ms, 5'000'000);  // granted again at its next turn
  EXPECT_EQ(conn_->posted.size(), 2u);
  EXPECT_EQ(notices_, (std::vector<Notice>{{7, 0, 0, 0ms}}));
  EXPECT_EQ(push.gate_waited(), 12ms) << "from Start to the new grant";
  EXPECT_EQ(push.stale_grants(), 0u);

  // Asked ahead, then cancelled before Start: a grant that arrives after is stale.
  GatedPush coded(0, Asking(/*per_part=*/false), 100);
  coded.Bind(conn_, RemoteRegion{});
  coded.Begin(9, 1);
  coded.Add(std::span<const std::byte>(grad_).subspan(0, kPart), 0, Imm::Encode(1, 0));
  coded.AskAhead(10ms);
  coded.Cancel(now_ + 1ms);
  coded.OnGrant(9, now_ + 2ms, 5'000'000);
  EXPECT_EQ(coded.stale_grants(), 1u);
  EXPECT_EQ(conn_->posted.size(), 2u) << "nothing of the cancelled push";
}

TEST_F(GatedPushTest, ReadyRefusesAnUnknownOrRepeatedWriteAndOrderedPushesAreNotCancelled) {
  GatedPush push(0, Gating{}, Order("fifo"));
  AddParts(push, {0, 1});
  push.Start(now_);
  push.Ready(1, now_);
  EXPECT_THROW(push.Ready(1, now_), Error);
  EXPECT_THROW(push.Ready(2, now_), Error);
  EXPECT_THROW(push.Cancel(now_), Error);
}

}  // namespace
}  // namespace gw
