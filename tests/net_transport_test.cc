// The transport contract, one suite for every backend. Backends that cannot run on this host
// (RDMA without a device) skip with the reason; the soft-RoCE harness runs them for real.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "net/frame.h"
#include "net/handshake.h"
#include "net/rdma/connection.h"
#include "ps/imm.h"
#include "ps/roles.h"
#include "tests/net_test_util.h"

namespace gw {
namespace {

using testing::Is;
using testing::Loopback;
using testing::Options;
using testing::TakeNumberedMessages;
using testing::WaitFor;

const PeerId kServer{Role::kServer, 0};
PeerId Worker(uint32_t r) { return {Role::kWorker, r}; }

class TransportTest : public ::testing::TestWithParam<TransportKind> {
 protected:
  void SetUp() override {
    std::string why;
    server_ = testing::MakeDevice(GetParam(), Options(kServer), &why);
    if (!server_) GTEST_SKIP() << "backend unavailable on this host: " << why;
    server_->Listen(Loopback(GetParam(), 0));
  }

  std::unique_ptr<Device> Client(PeerId self, std::string token = "secret") {
    std::string why;
    auto d = testing::MakeDevice(GetParam(), Options(self, std::move(token)), &why);
    EXPECT_TRUE(d) << why;
    return d;
  }
  Address ServerAddr() const { return Loopback(GetParam(), server_->bound_port()); }
  // Sources of writes live in registered memory (RDMA needs their local key).
  static std::span<std::byte> Source(Device& d, size_t bytes) {
    return d.RegisterRegion(bytes, d.options().self).bytes();
  }
  bool tcp() const { return GetParam() == TransportKind::kTcp; }
  // After a refusal: worker 0 still connects and its write into `region` (its own) lands.
  void ExpectAWorkerStillWrites(Region& region) {
    auto friendly = Client(Worker(0));
    auto conn = friendly->Connect(ServerAddr(), kServer);
    const auto buf = Source(*friendly, 64);
    conn->Write(buf, region.Describe(), 0, 1, 1);
    EXPECT_EQ(
        WaitFor(
            server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, 1, &seen_),
        1u);
  }

  std::unique_ptr<Device> server_;
  std::vector<Completion> seen_;
};

TEST_P(TransportTest, BytesLandExactlyWhereWritten) {
  constexpr size_t kRegion = 1 << 20;
  Region& region = server_->RegisterRegion(kRegion, Worker(0));
  auto client = Client(Worker(0));
  auto conn = client->Connect(ServerAddr(), kServer);
  ASSERT_TRUE(conn->open());

  std::mt19937_64 rng(7);
  std::vector<std::byte> shadow(kRegion, std::byte{0});
  const auto src_mem = Source(*client, kRegion);
  const size_t sizes[] = {0, 1, 3, 4, 7, 64, 4095, 4096, 4097, 65536, 65537, 300000, kRegion};
  for (size_t i = 0; i < std::size(sizes); ++i) {
    const size_t len = sizes[i];
    const size_t offset = len == kRegion ? 0 : rng() % (kRegion - len);
    const auto src = src_mem.first(len);  // reused: each write is done before the next
    for (auto& b : src) b = static_cast<std::byte>(rng());
    if (len > 0) std::memcpy(shadow.data() + offset, src.data(), len);
    conn->Write(src, region.Describe(), offset, Imm::Encode(i, 3), i);
    // Wait for each landing so the shadow order equals the landing order (and test imm/offset).
    std::vector<Completion> got;
    ASSERT_EQ(
        WaitFor(
            server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, 1, &got),
        1u)
        << "write " << i << " of " << len << " bytes never landed";
    const Completion& c = got.back();
    EXPECT_EQ(c.peer, Worker(0));
    EXPECT_EQ(c.region, region.id());
    EXPECT_EQ(c.offset, offset);
    EXPECT_EQ(c.length, len);
    EXPECT_EQ(Imm::Decode(c.imm).iteration_tag, i);
    EXPECT_EQ(Imm::Decode(c.imm).part, 3u);
    // The sender hears that the write finished, with its wr_id; only then may src be reused
    // (the contract: landing at the peer does not order our send path's last read of src).
    std::vector<Completion> done;
    ASSERT_EQ(WaitFor(
                  client->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteDone) && c.ok; },
                  1, &done),
              1u);
    EXPECT_EQ(done.back().wr_id, i);
  }
  EXPECT_EQ(std::memcmp(region.bytes().data(), shadow.data(), kRegion), 0);
}

TEST_P(TransportTest, LargeWriteLandsIntact) {
  constexpr size_t kBytes = 64 << 20;
  Region& region = server_->RegisterRegion(kBytes, Worker(0));
  auto client = Client(Worker(0));
  auto conn = client->Connect(ServerAddr(), kServer);
  const auto mem = Source(*client, kBytes);
  const std::span<uint32_t> src(reinterpret_cast<uint32_t*>(mem.data()), kBytes / 4);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint32_t>(i * 2654435761u);
  conn->Write(mem, region.Describe(), 0, 42, 1);
  ASSERT_EQ(
      WaitFor(
          server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, 1, &seen_),
      1u);
  EXPECT_EQ(std::memcmp(region.bytes().data(), src.data(), kBytes), 0);
}

// Many more writes posted at once than a backend keeps in flight (RDMA: a window of notices,
// selectively signalled, the rest queued): each lands once, in order, and completes exactly
// once with its wr_id.
TEST_P(TransportTest, ABurstOfWritesLandsInOrderAndCompletesEachExactlyOnce) {
  constexpr size_t kWrites = 300, kBytes = 4096;
  Region& region = server_->RegisterRegion(kWrites * kBytes, Worker(0));
  auto client = Client(Worker(0));
  auto conn = client->Connect(ServerAddr(), kServer);
  ASSERT_TRUE(conn->open());
  const auto src = Source(*client, kWrites * kBytes);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::byte>(i * 131 + i / kBytes);
  for (size_t i = 0; i < kWrites; ++i) {
    conn->Write(src.subspan(i * kBytes, kBytes), region.Describe(), i * kBytes,
                static_cast<uint32_t>(i), 1000 + i);
  }
  const auto kSlowEnough = std::chrono::milliseconds(120000);  // soft-RoCE under emulation
  std::vector<Completion> landed;
  ASSERT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, kWrites,
                &landed, kSlowEnough),
            kWrites);
  size_t next = 0;
  for (const auto& c : landed) {
    if (!Is(c, CompletionKind::kWriteLanded)) continue;
    EXPECT_EQ(c.offset, next * kBytes) << "landing " << next << " out of order";
    EXPECT_EQ(c.imm, next);
    ++next;
  }
  std::vector<Completion> done;
  ASSERT_EQ(WaitFor(
                client->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteDone); }, kWrites,
                &done, kSlowEnough),
            kWrites);
  std::vector<int> times(kWrites, 0);
  for (const auto& c : done) {
    if (!Is(c, CompletionKind::kWriteDone)) continue;
    ASSERT_TRUE(c.ok) << c.error;
    ASSERT_GE(c.wr_id, 1000u);
    ASSERT_LT(c.wr_id, 1000u + kWrites);
    ++times[c.wr_id - 1000];
  }
  EXPECT_EQ(std::count(times.begin(), times.end(), 1), static_cast<long>(kWrites));
  // None reported twice, late.
  std::vector<Completion> extra;
  EXPECT_EQ(WaitFor(
                client->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteDone); }, 1, &extra,
                std::chrono::milliseconds(200)),
            0u);
  EXPECT_EQ(std::memcmp(region.bytes().data(), src.data(), src.size()), 0);
}

// Four threads post on one connection at once: two send control messages, two alternate small
// and 256 KiB writes. Small frames posted while nothing is queued may go out from the posting
// thread (TCP) and big ones from the I/O thread: each thread's frames still land in the order
// it posted them, every byte where it was written, every write done exactly once.
TEST_P(TransportTest, ThreadsPostingSmallAndLargeFramesAtOnceKeepEachThreadsOrder) {
  constexpr uint32_t kPerThread = 100;
  constexpr size_t kSmall = 64, kLarge = 256 << 10, kSlot = kLarge;  // 50 MiB of slots
  constexpr uint32_t kWriters = 2, kSenders = 2;
  Region& region = server_->RegisterRegion(kWriters * kPerThread * kSlot, Worker(0));
  auto client = Client(Worker(0));
  auto conn = client->Connect(ServerAddr(), kServer);
  ASSERT_TRUE(conn->open());
  const auto src = Source(*client, kWriters * kPerThread * kSlot);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::byte>(i * 131 + i / 4093);
  auto size_of = [&](uint32_t i) { return i % 2 == 0 ? kSmall : kLarge; };
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t i = 0; i < kPerThread; ++i) {
        const size_t at = (t * kPerThread + i) * kSlot;
        conn->Write(src.subspan(at, size_of(i)), region.Describe(), at, t << 16 | i, at);
      }
    });
  }
  for (uint32_t t = 0; t < kSenders; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t i = 0; i < kPerThread; ++i) {
        const std::vector<uint8_t> seq = {static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8)};
        conn->Send(static_cast<uint16_t>(100 + t), seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto kSlowEnough = std::chrono::milliseconds(120000);  // soft-RoCE under emulation
  std::vector<Completion> got;
  const size_t frames = (kWriters + kSenders) * kPerThread;
  ASSERT_EQ(WaitFor(
                server_->cq(),
                [](auto& c) {
                  return Is(c, CompletionKind::kWriteLanded) || Is(c, CompletionKind::kControl);
                },
                frames, &got, kSlowEnough),
            frames);
  std::vector<uint32_t> next_write(kWriters, 0), next_message(kSenders, 0);
  for (const auto& c : got) {
    if (Is(c, CompletionKind::kWriteLanded)) {
      const uint32_t t = c.imm >> 16, i = c.imm & 0xffff;
      ASSERT_LT(t, kWriters);
      EXPECT_EQ(i, next_write[t]++) << "writer " << t << "'s writes out of order";
      EXPECT_EQ(c.offset, (t * kPerThread + i) * kSlot);
      EXPECT_EQ(c.length, size_of(i));
    } else if (Is(c, CompletionKind::kControl)) {
      const uint32_t t = c.control_type - 100u;
      ASSERT_LT(t, kSenders);
      ASSERT_EQ(c.payload.size(), 2u);
      EXPECT_EQ(c.payload[0] | c.payload[1] << 8, static_cast<int>(next_message[t]++))
          << "sender " << t << "'s messages out of order";
    }
  }
  for (uint32_t t = 0; t < kWriters; ++t) {
    for (uint32_t i = 0; i < kPerThread; ++i) {
      const size_t at = (t * kPerThread + i) * kSlot;
      ASSERT_EQ(std::memcmp(region.bytes().data() + at, src.data() + at, size_of(i)), 0)
          << "writer " << t << " write " << i;
    }
  }
  std::vector<Completion> done;
  ASSERT_EQ(WaitFor(
                client->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteDone); },
                kWriters * kPerThread, &done, kSlowEnough),
            kWriters * kPerThread);
  std::map<uint64_t, int> times;
  for (const auto& c : done) {
    if (!Is(c, CompletionKind::kWriteDone)) continue;
    EXPECT_TRUE(c.ok) << c.error;
    ++times[c.wr_id];
  }
  EXPECT_EQ(times.size(), kWriters * kPerThread) << "a write was reported done twice or never";
}

TEST_P(TransportTest, ManyConcurrentPeers) {
  constexpr uint32_t kPeers = 12;
  constexpr size_t kBytes = 256 << 10;
  constexpr int kRounds = 5;
  std::vector<Region*> regions;
  for (uint32_t r = 0; r < kPeers; ++r)
    regions.push_back(&server_->RegisterRegion(kBytes, Worker(r)));
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Device>> clients(kPeers);
  std::vector<std::span<std::byte>> data(kPeers);
  for (uint32_t r = 0; r < kPeers; ++r) {
    clients[r] = Client(Worker(r));
    data[r] = Source(*clients[r], kBytes);
    for (size_t i = 0; i < kBytes; ++i) data[r][i] = static_cast<std::byte>(r * 31 + i);
  }
  for (uint32_t r = 0; r < kPeers; ++r) {
    threads.emplace_back([&, r] {
      auto conn = clients[r]->Connect(ServerAddr(), kServer);
      // Several rounds of quarter-region writes that together cover the region.
      for (int round = 0; round < kRounds; ++round) {
        for (size_t q = 0; q < 4; ++q) {
          conn->Write(data[r].subspan(q * kBytes / 4, kBytes / 4), regions[r]->Describe(),
                      q * kBytes / 4, round, q);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); },
                kPeers * kRounds * 4, &seen_),
            kPeers * kRounds * 4);
  for (uint32_t r = 0; r < kPeers; ++r) {
    EXPECT_EQ(std::memcmp(regions[r]->bytes().data(), data[r].data(), kBytes), 0) << "peer " << r;
  }
}

TEST_P(TransportTest, OutOfBoundsWriteClosesOnlyThatConnection) {
  Region& mine = server_->RegisterRegion(4096, Worker(0));
  Region& other = server_->RegisterRegion(4096, Worker(1));
  auto bad = Client(Worker(0));
  auto good = Client(Worker(1));
  auto bad_conn = bad->Connect(ServerAddr(), kServer);
  auto good_conn = good->Connect(ServerAddr(), kServer);
  const auto buf = Source(*bad, 8192);
  const auto good_buf = Source(*good, 4096);
  std::fill(good_buf.begin(), good_buf.end(), std::byte{0xab});
  RemoteRegion lie = mine.Describe();
  lie.length = 1 << 20;  // the receiver must check against its own bound, not the sender's
  bad_conn->Write(std::span(buf).subspan(0, 100), lie, 4050, 0, 1);
  std::vector<Completion> got;
  ASSERT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kPeerClosed); }, 1, &got),
            1u);
  EXPECT_EQ(got.back().peer, Worker(0));
  EXPECT_FALSE(got.back().ok);
  // TCP's receiver names the bound it checked; RDMA's NIC refuses the key's range.
  if (tcp()) {
    EXPECT_NE(got.back().error.find("outside region"), std::string::npos) << got.back().error;
  }
  // Nothing landed past the region, the other peer is undisturbed.
  good_conn->Write(good_buf, other.Describe(), 0, 5, 2);
  ASSERT_EQ(
      WaitFor(
          server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, 1, &got),
      1u);
  EXPECT_EQ(got.back().peer, Worker(1));
  EXPECT_EQ(std::to_integer<int>(other.bytes()[4095]), 0xab);
}

TEST_P(TransportTest, WriteIntoAnotherPeersRegionIsRefused) {
  Region& theirs = server_->RegisterRegion(4096, Worker(1));
  auto intruder = Client(Worker(0));
  auto conn = intruder->Connect(ServerAddr(), kServer);
  const auto buf = Source(*intruder, 64);
  std::fill(buf.begin(), buf.end(), std::byte{1});
  conn->Write(buf, theirs.Describe(), 0, 0, 1);
  std::vector<Completion> got;
  ASSERT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kPeerClosed); }, 1, &got),
            1u);
  EXPECT_FALSE(got.back().ok);
  // TCP checks the owner; over RDMA the NIC refuses the key (another protection domain).
  if (tcp()) {
    EXPECT_NE(got.back().error.find("belongs to worker 1"), std::string::npos) << got.back().error;
  }
  EXPECT_EQ(std::to_integer<int>(theirs.bytes()[0]), 0);
}

// A descriptor's handle is read only by the backend that made it: one that is not this
// backend's (here: TCP's empty handle on RDMA, a 12-byte one on TCP) fails that write alone,
// before anything is sent, and the connection goes on.
TEST_P(TransportTest, WriteToADescriptorOfAnotherBackendFailsAlone) {
  Region& region = server_->RegisterRegion(4096, Worker(0));
  auto client = Client(Worker(0));
  auto conn = client->Connect(ServerAddr(), kServer);
  const auto buf = Source(*client, 64);
  RemoteRegion foreign{.id = region.id(), .length = 4096};
  if (tcp()) foreign.SetHandle(std::array<uint8_t, 12>{1, 2, 3});
  conn->Write(buf, foreign, 0, 0, 1);
  std::vector<Completion> got;
  ASSERT_EQ(WaitFor(
                client->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteDone); }, 1, &got),
            1u);
  EXPECT_FALSE(got.back().ok);
  EXPECT_EQ(got.back().wr_id, 1u);
  EXPECT_NE(got.back().error.find("handle"), std::string::npos) << got.back().error;
  conn->Write(buf, region.Describe(), 0, 7, 2);
  ASSERT_EQ(
      WaitFor(
          server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, 1, &got),
      1u);
  EXPECT_EQ(got.back().imm, 7u);
  EXPECT_TRUE(conn->open());
}

TEST_P(TransportTest, WrongTokenOrJobIsRefusedAndOthersKeepWorking) {
  Region& region = server_->RegisterRegion(64, Worker(0));
  auto stranger = Client(Worker(5), "not-the-token");
  try {
    stranger->Connect(ServerAddr(), kServer);
    FAIL() << "a wrong token was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wrong token"), std::string::npos) << e.what();
  }
  auto o = Options(Worker(6));
  o.job_id = "another-job";
  std::string why;
  auto other_job = testing::MakeDevice(GetParam(), o, &why);
  EXPECT_THROW(other_job->Connect(ServerAddr(), kServer), Error);
  EXPECT_EQ(server_->Find(Worker(5)), nullptr);

  ExpectAWorkerStillWrites(region);
}

// net/ gives a role byte no meaning: a device accepts the roles it was given and no other,
// on either backend (the RDMA connect request is checked before a queue pair is made).
TEST_P(TransportTest, APeerClaimingARoleTheDeviceWasNotGivenIsRefused) {
  constexpr uint8_t kUnknownRole = 9;
  ASSERT_FALSE(PsRoles().Accepts(kUnknownRole));
  auto stranger = Client(PeerId{kUnknownRole, 0});
  EXPECT_THROW(stranger->Connect(ServerAddr(), kServer), Error);
  EXPECT_EQ(server_->Find(PeerId{kUnknownRole, 0}), nullptr);

  Region& region = server_->RegisterRegion(64, Worker(0));
  ExpectAWorkerStillWrites(region);
}

// A server admits its workers and nobody else, token or not: a peer claiming the server's
// own identity (the memory it registered for itself: its parameters), another server or a
// rank the job lacks is refused in the handshake (RDMA: before a queue pair exists), and the
// server's memory stays untouched.
TEST_P(TransportTest, AClaimOfTheServersOwnIdentityOrARankItLacksIsRefused) {
  auto o = Options(kServer);
  o.roles = PsRoles().AcceptingOnly(Role::kWorker, 2);
  std::string why;
  auto guarded = testing::MakeDevice(GetParam(), o, &why);
  ASSERT_TRUE(guarded) << why;
  guarded->Listen(Loopback(GetParam(), 0));
  const Address addr = Loopback(GetParam(), guarded->bound_port());
  Region& own = guarded->RegisterRegion(64, kServer);
  for (const PeerId claim :
       {kServer, PeerId{Role::kServer, 1}, Worker(2), PeerId{Role::kTool, 0}}) {
    auto impostor = Client(claim);
    try {
      impostor->Connect(addr, kServer);
      ADD_FAILURE() << PsRoles().Name(claim) << " was let in";
    } catch (const Error& e) {
      // Both say why: TCP in its handshake, RDMA in the connect request's reject.
      const std::string msg = e.what();
      EXPECT_TRUE(msg.find("this process itself") != std::string::npos ||
                  msg.find("may not connect here") != std::string::npos)
          << msg;
    }
    EXPECT_EQ(guarded->Find(claim), nullptr) << PsRoles().Name(claim);
  }
  EXPECT_TRUE(std::all_of(own.bytes().begin(), own.bytes().end(),
                          [](std::byte b) { return b == std::byte{0}; }));
  // Its workers still get in and write.
  Region& slot = guarded->RegisterRegion(64, Worker(1));
  auto worker = Client(Worker(1));
  auto conn = worker->Connect(addr, kServer);
  const auto buf = Source(*worker, 64);
  std::fill(buf.begin(), buf.end(), std::byte{5});
  conn->Write(buf, slot.Describe(), 0, 1, 1);
  std::vector<Completion> got;
  ASSERT_EQ(
      WaitFor(
          guarded->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, 1, &got),
      1u);
  EXPECT_EQ(std::to_integer<int>(slot.bytes()[63]), 5);
}

TEST_P(TransportTest, RefusalsFromOneSourceAreLoggedOnceNotPerAttempt) {
  // A worker with the wrong token retrying in a loop must not flood the server's log.
  constexpr int kAttempts = 20;
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < kAttempts; ++i) {
    auto stranger = Client(Worker(5), "not-the-token");
    EXPECT_THROW(stranger->Connect(ServerAddr(), kServer), Error);
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  size_t lines = 0;
  for (size_t at = log.find("refused connection"); at != std::string::npos;
       at = log.find("refused connection", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_EQ(server_->Find(Worker(5)), nullptr);
}

TEST_P(TransportTest, ControlMessagesBothWays) {
  auto client = Client(Worker(3));
  auto conn = client->Connect(ServerAddr(), kServer);
  std::vector<uint8_t> big(Connection::kMaxControlBytes);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  conn->Send(17, big);
  conn->Send(18, {});
  std::vector<Completion> got;
  ASSERT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kControl); }, 2, &got),
            2u);
  std::vector<Completion> controls;
  for (auto& c : got) {
    if (Is(c, CompletionKind::kControl)) controls.push_back(std::move(c));
  }
  EXPECT_EQ(controls[0].control_type, 17);
  EXPECT_EQ(controls[0].payload, big);
  EXPECT_EQ(controls[1].control_type, 18);
  EXPECT_TRUE(controls[1].payload.empty());
  // And back: the server answers on the accepted connection.
  auto back = server_->Find(Worker(3));
  ASSERT_NE(back, nullptr);
  const std::vector<uint8_t> hi = {'h', 'i'};
  back->Send(99, hi);
  got.clear();
  ASSERT_EQ(WaitFor(
                client->cq(), [](auto& c) { return Is(c, CompletionKind::kControl); }, 1, &got),
            1u);
  EXPECT_EQ(got.back().payload, hi);
  EXPECT_EQ(got.back().peer, kServer);
  EXPECT_THROW(conn->Send(1, std::vector<uint8_t>(Connection::kMaxControlBytes + 1)), Error);
}

// A peer that sends faster than the application takes its messages waits on its own side:
// the receiver holds at most ReceiveBudget::kMaxHeldBytes of them (TCP leaves the rest in the
// kernel and the sender's queue, RDMA in the sender's "receiver not ready" retries), and once
// the application takes them every message arrives, in order.
TEST_P(TransportTest, AFloodOfControlMessagesWaitsOnTheSenderNotInTheReceiver) {
  auto client = Client(Worker(3));
  auto conn = client->Connect(ServerAddr(), kServer);
  // 14 MiB: past the receiver's bound, within the sender's own bound on what it queues.
  constexpr size_t kMessages = 224;
  std::vector<uint8_t> big(Connection::kMaxControlBytes);
  for (size_t i = 0; i < kMessages; ++i) {
    big[0] = static_cast<uint8_t>(i);
    big[1] = static_cast<uint8_t>(i >> 8);
    conn->Send(17, big);
  }
  // Until the receiver stops taking more (its queue stays the same for 300 ms).
  size_t queued = 0;
  do {
    queued = server_->cq().size();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  } while (server_->cq().size() != queued);
  // Past the bound TCP stops reading at once; RDMA's receives posted before the pause still
  // fill (then stay unposted).
  const size_t in_flight = tcp() ? 0 : rdma::RdmaConnection::kRecvDepth;
  const size_t bound = ReceiveBudget::kMaxHeldBytes / Connection::kMaxControlBytes + 1 + in_flight;
  EXPECT_LE(queued, bound + 1) << "held, with the connect: the sender was not held back";
  // Taken and let go batch by batch (held ones would keep the connection paused).
  EXPECT_EQ(TakeNumberedMessages(server_->cq(), kMessages, big.size(), std::chrono::seconds(30)),
            kMessages)
      << "every message arrives, in order, once the application takes them";
  EXPECT_TRUE(conn->open()) << "the sender was held back, not dropped";
}

// A message sent ahead overtakes the writes queued before it where the backend declares it
// can (TCP: it waits only for the frame on the wire), and keeps its place where it cannot;
// every write lands either way.
TEST_P(TransportTest, SendAheadOvertakesQueuedWritesWhereTheBackendCan) {
  constexpr size_t kWrites = 16, kBytes = 4 << 20;
  Region& region = server_->RegisterRegion(kWrites * kBytes, Worker(0));
  auto client = Client(Worker(0));
  auto conn = client->Connect(ServerAddr(), kServer);
  const auto src = Source(*client, kWrites * kBytes);
  for (size_t i = 0; i < kWrites; ++i) {
    conn->Write(src.subspan(i * kBytes, kBytes), region.Describe(), i * kBytes,
                static_cast<uint32_t>(i), i);
  }
  conn->SendAhead(7, std::vector<uint8_t>{1});
  conn->Send(8, std::vector<uint8_t>{2});
  std::vector<Completion> got;
  const auto kSlowEnough = std::chrono::milliseconds(120000);  // soft-RoCE under emulation
  ASSERT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kControl); }, 2, &got,
                kSlowEnough),
            2u);
  size_t landed_before_ahead = 0, landed_before_last = 0;
  bool ahead_seen = false;
  for (const auto& c : got) {
    if (Is(c, CompletionKind::kWriteLanded)) {
      ++landed_before_last;
      if (!ahead_seen) ++landed_before_ahead;
    }
    if (Is(c, CompletionKind::kControl) && c.control_type == 7) ahead_seen = true;
  }
  EXPECT_EQ(landed_before_last, kWrites) << "the ordered message comes after every write";
  if (conn->sends_ahead()) {
    EXPECT_LE(landed_before_ahead, kWrites / 2) << "it waited for the writes queued before it";
  } else {
    EXPECT_EQ(landed_before_ahead, kWrites);
  }
  EXPECT_EQ(std::memcmp(region.bytes().data(), src.data(), src.size()), 0);
}

TEST_P(TransportTest, OrderlyCloseAndReconnect) {
  Region& region = server_->RegisterRegion(16, Worker(0));
  for (int round = 0; round < 3; ++round) {
    auto client = Client(Worker(0));
    auto conn = client->Connect(ServerAddr(), kServer);
    const auto buf = Source(*client, 16);
    std::fill(buf.begin(), buf.end(), std::byte(round + 1));
    conn->Write(buf, region.Describe(), 0, round, 1);
    conn->Close();
    std::vector<Completion> got;
    ASSERT_EQ(
        WaitFor(
            server_->cq(), [](auto& c) { return Is(c, CompletionKind::kPeerClosed); }, 1, &got),
        1u);
    EXPECT_TRUE(got.back().ok) << got.back().error;
    // The write posted before the close landed before it.
    bool landed = false;
    for (auto& c : got) landed |= Is(c, CompletionKind::kWriteLanded) && c.imm == uint32_t(round);
    EXPECT_TRUE(landed);
    EXPECT_EQ(std::to_integer<int>(region.bytes()[15]), round + 1);
  }
}

TEST_P(TransportTest, PeerThatDiesIsReported) {
  auto client = Client(Worker(0));
  client->Connect(ServerAddr(), kServer);
  client.reset();  // shutdown without waiting for the server
  std::vector<Completion> got;
  EXPECT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kPeerClosed); }, 1, &got),
            1u);
  EXPECT_EQ(server_->Find(Worker(0)), nullptr);
}

TEST_P(TransportTest, ConnectChecksWhoAnswers) {
  auto client = Client(Worker(0));
  try {
    client->Connect(ServerAddr(), PeerId{Role::kServer, 7});
    FAIL() << "connected to server 0 while expecting server 7";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not the expected server 7"), std::string::npos)
        << e.what();
  }
}

TEST_P(TransportTest, ConnectToNobodyFailsWithinTimeout) {
  auto o = Options(Worker(0));
  o.connect_timeout = std::chrono::milliseconds(500);
  std::string why;
  auto client = testing::MakeDevice(GetParam(), o, &why);
  const uint16_t port = server_->bound_port();
  server_.reset();  // nobody listens on that port now
  const auto t0 = std::chrono::steady_clock::now();
  try {
    client->Connect(Loopback(GetParam(), port), kServer);
    FAIL() << "connected to a closed port";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_P(TransportTest, PingPongManyRoundsManyPeers) {
  // The parameter-server pattern: every landing is answered by a write posted from the
  // application thread while the I/O thread is busy with the other peers.
  constexpr uint32_t kPeers = 4;
  constexpr int kRounds = 2000;
  constexpr size_t kBytes = 31400;
  std::vector<Region*> up;
  std::vector<std::unique_ptr<Device>> clients;
  std::vector<Region*> down;
  std::vector<std::shared_ptr<Connection>> conns;
  for (uint32_t r = 0; r < kPeers; ++r) {
    up.push_back(&server_->RegisterRegion(kBytes, Worker(r)));
    clients.push_back(Client(Worker(r)));
    down.push_back(&clients[r]->RegisterRegion(kBytes, kServer));
    conns.push_back(clients[r]->Connect(ServerAddr(), kServer));
  }
  const auto payload = Source(*server_, kBytes);
  std::vector<std::span<std::byte>> worker_payload;
  for (auto& c : clients) worker_payload.push_back(Source(*c, kBytes));
  std::atomic<bool> stop{false};
  std::thread server_loop([&] {
    std::vector<Completion> batch;
    while (!stop) {
      batch.clear();
      server_->cq().Wait(batch, std::chrono::milliseconds(20));
      for (auto& c : batch) {
        if (c.kind != CompletionKind::kWriteLanded) continue;
        auto back = server_->Find(c.peer);
        if (back) back->Write(payload, down[c.peer.rank]->Describe(), 0, c.imm, c.imm);
      }
    }
  });
  std::vector<std::thread> workers;
  std::vector<int> done(kPeers, 0);
  for (uint32_t r = 0; r < kPeers; ++r) {
    workers.emplace_back([&, r] {
      std::vector<Completion> seen;
      for (int i = 0; i < kRounds; ++i) {
        conns[r]->Write(worker_payload[r], up[r]->Describe(), 0, i, i);
        if (WaitFor(
                clients[r]->cq(),
                [&](auto& c) {
                  return Is(c, CompletionKind::kWriteLanded) && c.imm == uint32_t(i);
                },
                1, &seen, std::chrono::milliseconds(5000)) != 1) {
          return;
        }
        seen.clear();
        done[r] = i + 1;
      }
    });
  }
  for (auto& t : workers) t.join();
  stop = true;
  server_loop.join();
  for (uint32_t r = 0; r < kPeers; ++r) EXPECT_EQ(done[r], kRounds) << "peer " << r << " stalled";
}

// A waiting application thread runs its device's I/O itself (DeviceOptions::wait_runs_io, the
// default: the message wakes the thread that takes it), or with the option off leaves it to the
// I/O thread; a ping-pong of control messages between two waiting threads completes either way.
TEST_P(TransportTest, AWaitingThreadRunsTheIoItselfUnlessToldNot) {
  for (const bool runs_io : {true, false}) {
    SCOPED_TRACE(runs_io ? "wait_runs_io" : "hand-off");
    std::string why;
    DeviceOptions so = Options(kServer);
    so.wait_runs_io = runs_io;
    auto server = testing::MakeDevice(GetParam(), so, &why);
    ASSERT_TRUE(server) << why;
    server->Listen(Loopback(GetParam(), 0));
    DeviceOptions co = Options(Worker(1));
    co.wait_runs_io = runs_io;
    auto client = testing::MakeDevice(GetParam(), co, &why);
    ASSERT_TRUE(client) << why;
    auto conn = client->Connect(Loopback(GetParam(), server->bound_port()), kServer);
    constexpr int kRounds = 300;
    std::thread echo([&] {
      std::vector<Completion> batch;
      for (int answered = 0; answered < kRounds;) {
        batch.clear();
        if (server->cq().Wait(batch, std::chrono::seconds(10)) == 0) return;
        for (const Completion& c : batch) {
          if (c.kind != CompletionKind::kControl) continue;
          auto back = server->Find(c.peer);
          if (back) back->Send(2, c.payload);
          ++answered;
        }
      }
    });
    int rounds = 0;
    std::vector<Completion> seen;
    for (; rounds < kRounds; ++rounds) {
      const std::vector<uint8_t> ping = {static_cast<uint8_t>(rounds), 1, 2, 3};
      conn->Send(1, ping);
      seen.clear();
      if (WaitFor(
              client->cq(),
              [&](auto& c) { return Is(c, CompletionKind::kControl) && c.payload == ping; }, 1,
              &seen) != 1) {
        break;
      }
    }
    echo.join();
    EXPECT_EQ(rounds, kRounds);
    if (runs_io) {
      EXPECT_GT(server->cq().drives(), 0u);
      EXPECT_GT(client->cq().drives(), 0u);
    } else {
      EXPECT_EQ(server->cq().drives() + client->cq().drives(), 0u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, TransportTest,
                         ::testing::Values(TransportKind::kTcp, TransportKind::kRdma),
                         [](const auto& info) {
                           return info.param == TransportKind::kTcp ? "tcp" : "rdma";
                         });

// --- TCP-only: raw bytes on the socket, which only the TCP backend exposes. ---

class TcpRawTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = CreateDevice(TransportKind::kTcp, Options(kServer));
    server_->Listen(Loopback(TransportKind::kTcp, 0));
  }
  boost::asio::ip::tcp::socket RawConnect() {
    boost::asio::ip::tcp::socket s(io_);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), server_->bound_port()});
    return s;
  }
  // A real hello as `peer`, by hand, until the server reports the peer connected.
  void RawHandshake(boost::asio::ip::tcp::socket& s, PeerId peer) {
    Hello hello;
    hello.peer = peer;
    hello.job_id = "test-job";
    hello.token = "secret";
    const auto payload = EncodeHello(hello);
    FrameHeader h;
    h.type = FrameType::kHello;
    h.length = payload.size();
    const auto head = EncodeHeader(h);
    boost::asio::write(s, boost::asio::buffer(head));
    boost::asio::write(s, boost::asio::buffer(payload));
    ASSERT_EQ(WaitFor(
                  server_->cq(), [](auto& c) { return Is(c, CompletionKind::kPeerConnected); }, 1,
                  &seen_),
              1u);
  }
  boost::asio::io_context io_;
  std::unique_ptr<Device> server_;
  std::vector<Completion> seen_;
};

TEST_F(TcpRawTest, GarbageOnThePortIsDroppedAndServingGoesOn) {
  Region& region = server_->RegisterRegion(64, Worker(0));
  auto garbage = RawConnect();
  const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n and some more bytes...";
  boost::asio::write(garbage, boost::asio::buffer(junk));
  // The server closes it: our read sees end of stream (possibly after a reject frame).
  std::array<char, 256> sink;
  boost::system::error_code ec;
  while (!ec) garbage.read_some(boost::asio::buffer(sink), ec);
  EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
      << ec.message();

  auto client = CreateDevice(TransportKind::kTcp, Options(Worker(0)));
  auto conn = client->Connect(Loopback(TransportKind::kTcp, server_->bound_port()), kServer);
  std::vector<std::byte> buf(64, std::byte{1});
  conn->Write(buf, region.Describe(), 0, 0, 0);
  EXPECT_EQ(
      WaitFor(
          server_->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteLanded); }, 1, &seen_),
      1u);
  // buf must outlive the write (the contract), not just its landing.
  EXPECT_EQ(WaitFor(
                client->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteDone); }, 1, &seen_),
            1u);
}

TEST_F(TcpRawTest, SilentPeerIsDroppedAfterHandshakeTimeout) {
  auto silent = RawConnect();
  std::array<char, 16> sink;
  boost::system::error_code ec;
  const auto t0 = std::chrono::steady_clock::now();
  silent.read_some(boost::asio::buffer(sink), ec);  // blocks until the server drops us
  EXPECT_TRUE(ec) << "server kept a silent connection";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(TcpRawTest, MalformedFrameAfterHandshakeClosesThatPeer) {
  // A real handshake, then a frame with a bad magic: that connection closes with a reason.
  auto s = RawConnect();
  ASSERT_NO_FATAL_FAILURE(RawHandshake(s, Worker(2)));
  std::array<uint8_t, FrameHeader::kSize> bad{};
  bad[0] = 0xde;
  boost::asio::write(s, boost::asio::buffer(bad));
  std::vector<Completion> got;
  ASSERT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kPeerClosed); }, 1, &got),
            1u);
  EXPECT_NE(got.back().error.find("malformed frame"), std::string::npos) << got.back().error;
}

TEST_F(TcpRawTest, PeerThatStopsReadingIsAbortedNotBufferedWithoutBound) {
  // A real handshake, then this peer never reads: the server's control messages to it pile
  // up in its connection's queue until the bound aborts that connection, which says why.
  auto s = RawConnect();
  ASSERT_NO_FATAL_FAILURE(RawHandshake(s, Worker(2)));
  auto conn = server_->Find(Worker(2));
  ASSERT_NE(conn, nullptr);
  const std::vector<uint8_t> big(Connection::kMaxControlBytes, 7);
  // 64 MiB would be sent if nothing stopped it: far more than socket buffers plus the bound.
  int sent = 0;
  for (; sent < 1024 && conn->open(); ++sent) {
    conn->Send(42, big);
    if (sent % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<Completion> got;
  ASSERT_EQ(WaitFor(
                server_->cq(), [](auto& c) { return Is(c, CompletionKind::kPeerClosed); }, 1, &got),
            1u)
      << "still open after " << sent << " messages of 64 KiB to a peer that never reads";
  EXPECT_NE(got.back().error.find("not reading"), std::string::npos) << got.back().error;
  EXPECT_LT(sent, 1024);
}

// A frame of a raw peer: its header, then its payload.
std::vector<uint8_t> RawFrame(FrameType type, uint32_t imm, uint32_t region, uint64_t offset,
                              std::span<const uint8_t> payload) {
  std::vector<uint8_t> frame(FrameHeader::kSize + payload.size());
  const HeaderBytes head = EncodeHeader(
      {.type = type, .imm = imm, .region = region, .offset = offset, .length = payload.size()});
  std::copy(head.begin(), head.end(), frame.begin());
  std::copy(payload.begin(), payload.end(), frame.begin() + FrameHeader::kSize);
  return frame;
}

// The receiver parses frames from whatever each read of the socket holds: a frame cut anywhere
// (in its header, right after it, in its payload, a large write's first bytes) lands whole, and
// many frames that arrive in one read all land, in order.
TEST_F(TcpRawTest, FramesLandWholeHoweverTheReadsCutThem) {
  // Larger than the receive buffer: the rest of its payload is read straight into the region.
  constexpr size_t kLarge = 3 * Connection::kMaxControlBytes;
  constexpr size_t kSmallWrites = 4096 + kLarge + 64;  // after it: where the small writes go
  Region& region = server_->RegisterRegion(kSmallWrites + 4096, Worker(2));
  const uint32_t id = region.Describe().id;
  auto s = RawConnect();
  s.set_option(boost::asio::ip::tcp::no_delay(true));  // each piece leaves when written
  ASSERT_NO_FATAL_FAILURE(RawHandshake(s, Worker(2)));

  std::mt19937 rng(21);
  auto random_bytes = [&](size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  };
  std::vector<uint8_t> expected_region(region.bytes().size(), 0);
  struct Expected {
    CompletionKind kind;
    uint32_t type_or_offset;
    std::vector<uint8_t> payload;  // a control message's
  };
  std::vector<Expected> expected;
  auto control = [&](uint16_t type, size_t bytes) {
    auto payload = random_bytes(bytes);
    expected.push_back({CompletionKind::kControl, type, payload});
    return RawFrame(FrameType::kControl, type, 0, 0, payload);
  };
  auto write = [&](uint64_t offset, size_t bytes) {
    const auto payload = random_bytes(bytes);
    std::copy(payload.begin(), payload.end(), expected_region.begin() + offset);
    expected.push_back({CompletionKind::kWriteLanded, static_cast<uint32_t>(offset), {}});
    return RawFrame(FrameType::kWrite, 0, id, offset, payload);
  };
  // Sent in pieces cut at these offsets of the frame, a pause between pieces so that the
  // receiver reads each on its own.
  auto send_cut = [&](const std::vector<uint8_t>& frame, std::vector<size_t> cuts) {
    cuts.push_back(frame.size());
    size_t from = 0;
    for (size_t to : cuts) {
      boost::asio::write(s, boost::asio::buffer(frame.data() + from, to - from));
      from = to;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  send_cut(control(1, 100), {5});                      // in the header
  send_cut(control(2, 100), {FrameHeader::kSize});     // right after it
  send_cut(control(3, 100), {60});                     // in the payload
  send_cut(write(10, 3000), {31, 1000});               // both
  send_cut(write(4096, kLarge), {40, 70000, 150000});  // a large write, read straight in
  send_cut(control(4, 10000), {});                     // after a large frame
  send_cut(control(5, 0), {FrameHeader::kSize - 1});   // empty
  send_cut(write(0, 8), {FrameHeader::kSize + 4});
  // A whole frame and the start of the next one's header in one read.
  auto pair = control(6, 20);
  const auto second = control(7, 20);
  pair.insert(pair.end(), second.begin(), second.end());
  send_cut(pair, {FrameHeader::kSize + 20 + 10});
  // Many small frames at once.
  std::vector<uint8_t> burst;
  for (uint16_t i = 0; i < 150; ++i) {
    const auto c = control(100 + i, i % 50);
    const auto w = write(kSmallWrites + 8 * i, 8);
    burst.insert(burst.end(), c.begin(), c.end());
    burst.insert(burst.end(), w.begin(), w.end());
  }
  boost::asio::write(s, boost::asio::buffer(burst));

  std::vector<Completion> got;
  const auto landed_or_control = [](const Completion& c) {
    return Is(c, CompletionKind::kControl) || Is(c, CompletionKind::kWriteLanded);
  };
  ASSERT_EQ(WaitFor(server_->cq(), landed_or_control, expected.size(), &got), expected.size());
  std::erase_if(got, [&](const Completion& c) { return !landed_or_control(c); });
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    ASSERT_EQ(got[i].kind, expected[i].kind);
    if (got[i].kind == CompletionKind::kControl) {
      EXPECT_EQ(got[i].control_type, expected[i].type_or_offset);
      EXPECT_EQ(got[i].payload, expected[i].payload);
    } else {
      EXPECT_EQ(got[i].offset, expected[i].type_or_offset);
    }
  }
  EXPECT_TRUE(std::equal(expected_region.begin(), expected_region.end(),
                         reinterpret_cast<const uint8_t*>(region.bytes().data())));
}

TEST(TcpOptions, UnknownCongestionControlIsAClearError) {
  auto o = Options(kServer);
  o.congestion_control = "no-such-cc";
  try {
    CreateDevice(TransportKind::kTcp, o);
    FAIL() << "accepted an unknown congestion control";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("this kernel offers"), std::string::npos) << e.what();
  }
  o.congestion_control = "cubic";
  EXPECT_NO_THROW(CreateDevice(TransportKind::kTcp, o));
}

// The congestion control of this process's listening TCP socket on port ("" if none found).
std::string ListenerCongestionControl(uint16_t port) {
  for (int fd = 0; fd < 1024; ++fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    int listening = 0;
    socklen_t int_len = sizeof listening;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        addr.sin_family != AF_INET || ntohs(addr.sin_port) != port ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &int_len) != 0 || listening == 0) {
      continue;
    }
    char name[32] = {};
    socklen_t name_len = sizeof name;
    if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &name_len) != 0) return "";
    return std::string(name, strnlen(name, name_len));
  }
  return "";
}

// Accepted sockets take the listener's algorithm when their connection is established; one set
// on them only afterwards leaves what the system default started, BBR's pacing (see
// TcpDevice::ConfigureSocket). reno differs from the usual system defaults (cubic, bbr).
TEST(TcpOptions, TheListenerHasTheCongestionControlBeforeAnyConnection) {
  auto o = Options(kServer);
  o.congestion_control = "reno";
  auto server = CreateDevice(TransportKind::kTcp, o);
  server->Listen(Loopback(TransportKind::kTcp, 0));
  EXPECT_EQ(ListenerCongestionControl(server->bound_port()), "reno");
}

}  // namespace
}  // namespace gw
