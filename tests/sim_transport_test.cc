// The transport contract on the simulated backend (net/sim): bytes land where written, in
// order, each write completes once, peers are checked in the handshake, a misbehaving peer
// loses only its own connection; and the simulated network's timing is the platform's.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <simgrid/s4u/Actor.hpp>
#include <vector>

#include "net/receive_budget.h"
#include "ps/imm.h"
#include "ps/roles.h"
#include "tests/net_test_util.h"
#include "tests/sim_harness.h"

namespace gw {
namespace {

using testing::Is;
using testing::Options;
using testing::SimAddress;
using testing::SimDeviceOn;
using testing::SimHost;
using testing::SimNow;
using testing::Simulate;
using testing::TakeNumberedMessages;
using testing::WaitFor;

const PeerId kServer{Role::kServer, 0};
PeerId Worker(uint32_t r) { return {Role::kWorker, r}; }

bool Landed(const Completion& c) { return Is(c, CompletionKind::kWriteLanded); }
bool DoneOk(const Completion& c) { return Is(c, CompletionKind::kWriteDone) && c.ok; }
bool Closed(const Completion& c) { return Is(c, CompletionKind::kPeerClosed); }

// A server device listening on h0 and a way to make workers' devices on other hosts.
struct Pair {
  std::unique_ptr<Device> server = SimDeviceOn(SimHost(0), Options(kServer));
  Pair() { server->Listen(SimAddress(SimHost(0), 0)); }
  Address addr() const { return SimAddress(SimHost(0), server->bound_port()); }
  std::unique_ptr<Device> Client(PeerId self, int host, std::string token = "secret") {
    return SimDeviceOn(SimHost(host), Options(self, std::move(token)));
  }
  static std::span<std::byte> Source(Device& d, size_t bytes) {
    return d.RegisterRegion(bytes, d.options().self).bytes();
  }
};

TEST(SimTransport, BytesLandExactlyWhereWrittenAndEachWriteCompletesOnce) {
  Simulate([] {
    Pair p;
    constexpr size_t kRegion = 1 << 20;
    Region& region = p.server->RegisterRegion(kRegion, Worker(0));
    auto client = p.Client(Worker(0), 1);
    auto conn = client->Connect(p.addr(), kServer);
    ASSERT_TRUE(conn->open());
    std::mt19937_64 rng(7);
    std::vector<std::byte> shadow(kRegion, std::byte{0});
    const auto src_mem = Pair::Source(*client, kRegion);
    const size_t sizes[] = {0, 1, 7, 4096, 65537, 300000, kRegion};
    for (size_t i = 0; i < std::size(sizes); ++i) {
      const size_t len = sizes[i];
      const size_t offset = len == kRegion ? 0 : rng() % (kRegion - len);
      const auto src = src_mem.first(len);
      for (auto& b : src) b = static_cast<std::byte>(rng());
      if (len > 0) std::memcpy(shadow.data() + offset, src.data(), len);
      conn->Write(src, region.Describe(), offset, Imm::Encode(i, 3), i);
      std::vector<Completion> got;
      ASSERT_EQ(WaitFor(p.server->cq(), Landed, 1, &got), 1u) << "write " << i;
      EXPECT_EQ(got.back().peer, Worker(0));
      EXPECT_EQ(got.back().region, region.id());
      EXPECT_EQ(got.back().offset, offset);
      EXPECT_EQ(got.back().length, len);
      EXPECT_EQ(Imm::Decode(got.back().imm).iteration_tag, i);
      std::vector<Completion> done;
      ASSERT_EQ(WaitFor(client->cq(), DoneOk, 1, &done), 1u);
      EXPECT_EQ(done.back().wr_id, i);
    }
    EXPECT_EQ(std::memcmp(region.bytes().data(), shadow.data(), kRegion), 0);
  });
}

TEST(SimTransport, ABurstOfWritesLandsInOrderAndControlMessagesKeepTheirPlace) {
  Simulate([] {
    Pair p;
    constexpr size_t kWrites = 50, kBytes = 4096;
    Region& region = p.server->RegisterRegion(kWrites * kBytes, Worker(0));
    auto client = p.Client(Worker(0), 1);
    auto conn = client->Connect(p.addr(), kServer);
    const auto src = Pair::Source(*client, kWrites * kBytes);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::byte>(i * 131 + i / kBytes);
    const uint8_t msg[] = {1, 2, 3};
    for (size_t i = 0; i < kWrites; ++i) {
      conn->Write(src.subspan(i * kBytes, kBytes), region.Describe(), i * kBytes, 0, i);
      if (i == kWrites / 2) conn->Send(77, msg);
    }
    std::vector<Completion> seen;
    ASSERT_EQ(WaitFor(p.server->cq(), Landed, kWrites, &seen), kWrites);
    std::vector<uint64_t> order;
    size_t control_at = 0;
    for (const auto& c : seen) {
      if (Landed(c)) order.push_back(c.offset / kBytes);
      if (Is(c, CompletionKind::kControl)) {
        control_at = order.size();
        EXPECT_EQ(c.control_type, 77);
        EXPECT_EQ(c.payload, std::vector<uint8_t>(std::begin(msg), std::end(msg)));
      }
    }
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
    EXPECT_EQ(control_at, kWrites / 2 + 1) << "the message lands after the writes before it";
    EXPECT_EQ(std::memcmp(region.bytes().data(), src.data(), src.size()), 0);
    std::vector<Completion> seen_by_client;
    ASSERT_EQ(WaitFor(client->cq(), DoneOk, kWrites, &seen_by_client), kWrites);
    std::vector<uint64_t> done;
    for (const auto& c : seen_by_client) {
      if (DoneOk(c)) done.push_back(c.wr_id);
    }
    for (size_t i = 0; i < kWrites; ++i) EXPECT_EQ(done[i], i);
  });
}

TEST(SimTransport, SendAheadOvertakesQueuedWrites) {
  Simulate([] {
    Pair p;
    constexpr size_t kBytes = 1 << 20;
    Region& region = p.server->RegisterRegion(4 * kBytes, Worker(0));
    auto client = p.Client(Worker(0), 1);
    auto conn = client->Connect(p.addr(), kServer);
    ASSERT_TRUE(conn->sends_ahead());
    const auto src = Pair::Source(*client, kBytes);
    for (size_t i = 0; i < 4; ++i) conn->Write(src, region.Describe(), i * kBytes, 0, i);
    conn->SendAhead(9, std::vector<uint8_t>{42});
    std::vector<Completion> seen;
    ASSERT_EQ(WaitFor(p.server->cq(), Landed, 4, &seen), 4u);
    size_t landed_before = 0;
    for (const auto& c : seen) {
      if (Is(c, CompletionKind::kControl)) break;
      landed_before += Landed(c);
    }
    EXPECT_LE(landed_before, 1u) << "only the write on the wire goes before the message";
    // Sent ahead while queued writes travel as one transfer: the message goes after the write
    // whose bytes are on the wire, the others after it, each landing and completing once.
    std::vector<Completion> done;
    ASSERT_EQ(WaitFor(client->cq(), DoneOk, 4, &done), 4u);
    const double before = SimNow();
    for (size_t i = 0; i < 4; ++i) conn->Write(src, region.Describe(), i * kBytes, 0, 10 + i);
    seen.clear();
    ASSERT_EQ(WaitFor(p.server->cq(), Landed, 1, &seen), 1u);
    const double one = SimNow() - before;
    simgrid::s4u::this_actor::sleep_for(one / 2);  // the second write is on the wire
    conn->SendAhead(9, std::vector<uint8_t>{43});
    seen.clear();
    ASSERT_EQ(WaitFor(p.server->cq(), Landed, 3, &seen), 3u);
    std::vector<uint64_t> order;  // offsets in MiB, and 99 for the message
    for (const auto& c : seen) {
      if (Landed(c)) order.push_back(c.offset / kBytes);
      if (Is(c, CompletionKind::kControl)) order.push_back(99);
    }
    EXPECT_EQ(order, (std::vector<uint64_t>{1, 99, 2, 3}));
    done.clear();
    ASSERT_EQ(WaitFor(client->cq(), DoneOk, 4, &done), 4u);
    std::vector<uint64_t> ids;
    for (const auto& c : done) {
      if (DoneOk(c)) ids.push_back(c.wr_id);
    }
    EXPECT_EQ(ids, (std::vector<uint64_t>{10, 11, 12, 13}));
  });
}

// Writes queued back to back go as one transfer (net/sim/connection.h), yet each lands once
// its own bytes are through, as on a TCP stream, even when the link's share changes in the
// middle of a write: worker 0 queues four 8 MiB writes while worker 1 sends 10 MiB. With T the
// wire time of 8 MiB alone and L the latency, both go at half pace until worker 0's first write
// is through (L + 2T), then worker 1's last 2 MiB take T/2 beside 2 MiB of the second write,
// whose last 6 MiB go alone (L + 3.25T); the others follow at T each.
TEST(SimTransport, QueuedWritesLandEachWhenItsBytesAreThroughAsTheLinksShareChanges) {
  Simulate([] {
    constexpr size_t kBytes = 8 << 20;
    constexpr size_t kOtherBytes = 10 << 20;
    constexpr int kQueued = 4;
    Pair p;
    Region& queued = p.server->RegisterRegion(kQueued * kBytes, Worker(0));
    Region& other = p.server->RegisterRegion(kOtherBytes, Worker(1));
    auto a = p.Client(Worker(0), 1);
    auto b = p.Client(Worker(1), 2);
    auto conn_a = a->Connect(p.addr(), kServer);
    auto conn_b = b->Connect(p.addr(), kServer);
    const auto src_a = Pair::Source(*a, kBytes);
    const auto src_b = Pair::Source(*b, kOtherBytes);
    // Alone first: an empty write takes the latency, 8 MiB the latency and T.
    auto time_alone = [&](size_t bytes) {
      const double start = SimNow();
      conn_b->Write(src_b.first(bytes), other.Describe(), 0, 0, 0);
      std::vector<Completion> seen;
      EXPECT_EQ(WaitFor(p.server->cq(), Landed, 1, &seen), 1u);
      return SimNow() - start;
    };
    const double latency = time_alone(0);
    const double wire = time_alone(kBytes) - latency;
    const double start = SimNow();
    for (int i = 0; i < kQueued; ++i) {
      conn_a->Write(src_a, queued.Describe(), i * kBytes, 0, i);
    }
    conn_b->Write(src_b, other.Describe(), 0, 0, 1);
    std::vector<double> landed_a;
    std::vector<Completion> batch;
    while (landed_a.size() < kQueued && SimNow() - start < 20 * wire) {
      batch.clear();
      p.server->cq().Wait(batch, std::chrono::seconds(1));
      for (const auto& c : batch) {
        if (Landed(c) && c.peer == Worker(0)) landed_a.push_back(SimNow() - start);
      }
    }
    ASSERT_EQ(landed_a.size(), size_t{kQueued});
    const double expected[kQueued] = {2, 3.25, 4.25, 5.25};
    for (int i = 0; i < kQueued; ++i) {
      EXPECT_NEAR((landed_a[i] - latency) / wire, expected[i], 0.005) << "write " << i;
    }
  });
}

// A peer that sends faster than the application takes its messages waits on its own side,
// as over TCP (net/receive_budget.h): the receiver holds at most ReceiveBudget::kMaxHeldBytes
// of them, and once the application takes them every message arrives, in order.
TEST(SimTransport, AFloodOfControlMessagesWaitsOnTheSenderNotInTheReceiver) {
  Simulate([] {
    Pair p;
    auto client = p.Client(Worker(3), 1);
    auto conn = client->Connect(p.addr(), kServer);
    constexpr size_t kMessages = 224;  // 14 MiB, past the receiver's bound
    std::vector<uint8_t> big(Connection::kMaxControlBytes);
    for (size_t i = 0; i < kMessages; ++i) {
      big[0] = static_cast<uint8_t>(i);
      big[1] = static_cast<uint8_t>(i >> 8);
      conn->Send(17, big);
    }
    simgrid::s4u::this_actor::sleep_for(5);  // 14 MiB take ~0.12 s on the 1 Gbit/s link
    const size_t held = p.server->cq().size();
    const size_t bound = ReceiveBudget::kMaxHeldBytes / Connection::kMaxControlBytes + 1;
    EXPECT_LE(held, bound + 1) << "held, with the connect: the sender was not held back";
    EXPECT_GT(held, bound / 2) << "the receiver took messages up to its bound";
    // Taken and let go batch by batch: the sender's wire resumes.
    EXPECT_EQ(TakeNumberedMessages(p.server->cq(), kMessages, big.size(), std::chrono::seconds(30)),
              kMessages)
        << "every message arrives, in order, once the application takes them";
    EXPECT_TRUE(conn->open()) << "the sender was held back, not dropped";
  });
}

TEST(SimTransport, APeerWritingWhereItMayNotLosesOnlyItsOwnConnection) {
  Simulate([] {
    Pair p;
    Region& mine = p.server->RegisterRegion(4096, Worker(0));
    Region& others = p.server->RegisterRegion(4096, Worker(1));
    auto bad = p.Client(Worker(1), 1);
    auto good = p.Client(Worker(0), 2);
    auto bad_conn = bad->Connect(p.addr(), kServer);
    auto good_conn = good->Connect(p.addr(), kServer);
    const auto src = Pair::Source(*bad, 8192);
    // Into worker 0's region: refused at the receiver, the connection ends, naming why.
    bad_conn->Write(src.first(64), mine.Describe(), 0, 0, 1);
    std::vector<Completion> seen;
    ASSERT_EQ(WaitFor(p.server->cq(), Closed, 1, &seen), 1u);
    EXPECT_EQ(seen.back().peer, Worker(1));
    EXPECT_NE(seen.back().error.find("belongs to worker 0"), std::string::npos)
        << seen.back().error;
    EXPECT_FALSE(bad_conn->open());
    std::vector<Completion> bad_seen;
    ASSERT_EQ(
        WaitFor(
            bad->cq(), [](auto& c) { return Is(c, CompletionKind::kWriteDone); }, 1, &bad_seen),
        1u);
    EXPECT_FALSE(bad_seen.back().ok);
    // A descriptor that claims more than the region has: the receiver's bound check holds.
    auto bad2 = p.Client(Worker(1), 3);
    auto conn2 = bad2->Connect(p.addr(), kServer);
    RemoteRegion lie = others.Describe();
    lie.length = 8192;
    conn2->Write(Pair::Source(*bad2, 8192), lie, 0, 0, 2);
    seen.clear();
    ASSERT_EQ(WaitFor(p.server->cq(), Closed, 1, &seen), 1u);
    EXPECT_NE(seen.back().error.find("exceeds region"), std::string::npos) << seen.back().error;
    // Worker 0 is untouched.
    const auto gsrc = Pair::Source(*good, 64);
    good_conn->Write(gsrc, mine.Describe(), 0, 0, 3);
    seen.clear();
    EXPECT_EQ(WaitFor(p.server->cq(), Landed, 1, &seen), 1u);
    EXPECT_TRUE(good_conn->open());
    EXPECT_EQ(seen.back().peer, Worker(0));
  });
}

TEST(SimTransport, TheHandshakeRefusesAWrongTokenAForeignIdentityAndADuplicateRank) {
  Simulate([] {
    Pair p;
    auto wrong = p.Client(Worker(0), 1, "not-the-secret");
    EXPECT_THROW(
        {
          try {
            wrong->Connect(p.addr(), kServer);
          } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
            throw;
          }
        },
        Error);
    auto impostor = p.Client(kServer, 1);  // claims the server's own identity
    EXPECT_THROW(impostor->Connect(p.addr(), kServer), Error);
    auto first = p.Client(Worker(2), 2);
    auto conn = first->Connect(p.addr(), kServer);
    ASSERT_TRUE(conn->open());
    auto twin = p.Client(Worker(2), 3);
    EXPECT_THROW(twin->Connect(p.addr(), kServer), Error);
    EXPECT_TRUE(conn->open()) << "a duplicate rank must not evict the live peer";
    // Connecting to the right address but expecting someone else.
    auto picky = p.Client(Worker(3), 3);
    EXPECT_THROW(picky->Connect(p.addr(), PeerId{Role::kServer, 1}), Error);
  });
}

TEST(SimTransport, ConnectingToNobodyFailsAtTheTimeoutInSimulatedTime) {
  Simulate([] {
    auto lonely = SimDeviceOn(SimHost(1), Options(Worker(0)));
    const auto real_start = std::chrono::steady_clock::now();
    const double start = SimNow();
    EXPECT_THROW(lonely->Connect(SimAddress(SimHost(0), 9000), kServer), Error);
    const double waited = SimNow() - start;
    const double timeout =
        std::chrono::duration<double>(Options(Worker(0)).connect_timeout).count();
    EXPECT_GE(waited, timeout * 0.95);
    EXPECT_LE(waited, timeout * 1.05);
    EXPECT_LT(std::chrono::steady_clock::now() - real_start, std::chrono::seconds(2))
        << "a simulated wait takes no real time";
    EXPECT_THROW(lonely->Connect(SimAddress("no-such-host", 9000), kServer), Error);
  });
}

// One 32 MiB write over a 1 Gbit/s link takes its wire time (SimGrid's TCP model: ~97 % of
// the link's rate and a latency factor); eight at once into one host share that host's link
// and finish together at eight times it, as the emulated star shows.
TEST(SimTransport, TransfersTakeThePlatformsTimeAndShareALinkFairly) {
  Simulate(
      [] {
        constexpr size_t kBytes = 32 << 20;
        constexpr int kWorkers = 8;
        Pair p;
        std::vector<Region*> regions;
        for (int w = 0; w < kWorkers; ++w)
          regions.push_back(&p.server->RegisterRegion(kBytes, Worker(w)));
        std::vector<std::unique_ptr<Device>> clients;
        std::vector<std::shared_ptr<Connection>> conns;
        for (int w = 0; w < kWorkers; ++w) {
          clients.push_back(p.Client(Worker(w), 1 + w));
          conns.push_back(clients.back()->Connect(p.addr(), kServer));
        }
        const double wire = kBytes * 8.0 / 1e9;
        double start = SimNow();
        std::vector<std::span<std::byte>> src;
        for (auto& c : clients) src.push_back(Pair::Source(*c, kBytes));
        conns[0]->Write(src[0], regions[0]->Describe(), 0, 0, 0);
        std::vector<Completion> seen;
        ASSERT_EQ(WaitFor(p.server->cq(), Landed, 1, &seen), 1u);
        const double one = SimNow() - start;
        EXPECT_GT(one, wire);
        EXPECT_LT(one, wire * 1.1);
        start = SimNow();
        for (int w = 0; w < kWorkers; ++w) conns[w]->Write(src[w], regions[w]->Describe(), 0, 0, 1);
        std::vector<double> finish;
        std::vector<Completion> batch;
        while (finish.size() < kWorkers && SimNow() - start < 100 * kWorkers * one) {
          batch.clear();
          p.server->cq().Wait(batch, std::chrono::seconds(1));
          for (const auto& c : batch) {
            if (Landed(c)) finish.push_back(SimNow() - start);
          }
        }
        ASSERT_EQ(finish.size(), size_t{kWorkers});
        EXPECT_GT(finish.front(), 0.95 * kWorkers * one) << "the first one shared the link too";
        EXPECT_LT(finish.back(), 1.05 * kWorkers * one);
      },
      /*hosts=*/9);
}

TEST(SimTransport, AnOrderlyCloseIsReportedToBothEndsAndAShutDownDeviceIsReported) {
  Simulate([] {
    Pair p;
    auto a = p.Client(Worker(0), 1);
    auto conn = a->Connect(p.addr(), kServer);
    conn->Close();
    std::vector<Completion> seen;
    ASSERT_EQ(WaitFor(p.server->cq(), Closed, 1, &seen), 1u);
    EXPECT_TRUE(seen.back().ok) << seen.back().error;
    seen.clear();
    ASSERT_EQ(WaitFor(a->cq(), Closed, 1, &seen), 1u);
    EXPECT_FALSE(conn->open());
    // Reconnecting after the close works; a device that shuts down is seen closed.
    auto b = p.Client(Worker(0), 2);
    auto conn2 = b->Connect(p.addr(), kServer);
    ASSERT_TRUE(conn2->open());
    b->Shutdown();
    seen.clear();
    ASSERT_EQ(WaitFor(p.server->cq(), Closed, 1, &seen), 1u);
    EXPECT_EQ(seen.back().peer, Worker(0));
  });
}

}  // namespace
}  // namespace gw
