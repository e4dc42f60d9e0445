// The wire formats' parsers (the frame and handshake of both backends, RDMA write notices):
// everything read from the network is bounded and checked.
#include <gtest/gtest.h>

#include <array>

#include "base/error.h"
#include "net/address.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/rdma/wire.h"
#include "ps/roles.h"

namespace gw {
namespace {

TEST(Wire, HeaderRoundTrip) {
  FrameHeader h;
  h.type = FrameType::kWrite;
  h.imm = 0xdeadbeef;
  h.region = 7;
  h.offset = 1ull << 40;
  h.length = 12345;
  std::string why;
  const auto bytes = EncodeHeader(h);
  const auto back = ParseHeader(bytes, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->imm, h.imm);
  EXPECT_EQ(back->region, 7u);
  EXPECT_EQ(back->offset, h.offset);
  EXPECT_EQ(back->length, 12345u);
}

TEST(Wire, HeaderRejectsBadMagicTypeAndOversizedControl) {
  std::string why;
  FrameHeader h;
  auto bytes = EncodeHeader(h);
  bytes[0] ^= 1;
  EXPECT_FALSE(ParseHeader(bytes, &why));
  EXPECT_NE(why.find("magic"), std::string::npos);
  bytes = EncodeHeader(h);
  bytes[2] = 0;
  EXPECT_FALSE(ParseHeader(bytes, &why));
  bytes[2] = 200;
  EXPECT_FALSE(ParseHeader(bytes, &why));
  h.type = FrameType::kControl;
  h.length = 64 * 1024 + 1;
  EXPECT_FALSE(ParseHeader(EncodeHeader(h), &why));
  h.type = FrameType::kBye;
  h.length = 1;
  EXPECT_FALSE(ParseHeader(EncodeHeader(h), &why));
  EXPECT_FALSE(ParseHeader(std::span<const uint8_t>(bytes.data(), 31), &why));
}

// A control frame's imm is its 16-bit type: 0x10001 used to be taken for type 1 (a join).
TEST(Wire, HeaderRejectsAControlTypeBeyond16Bits) {
  FrameHeader h;
  h.type = FrameType::kControl;
  h.imm = 0xffff;
  std::string why;
  EXPECT_TRUE(ParseHeader(EncodeHeader(h), &why)) << why;
  h.imm = 0x10001;
  EXPECT_FALSE(ParseHeader(EncodeHeader(h), &why));
  EXPECT_NE(why.find("16 bits"), std::string::npos) << why;
}

TEST(Wire, HelloRoundTripAndRejects) {
  Hello h;
  h.peer = {Role::kWorker, 12};
  h.job_id = "job";
  h.token = "tok";
  std::string why;
  auto bytes = EncodeHello(h);
  auto back = ParseHello(bytes, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->peer, h.peer);
  EXPECT_EQ(back->job_id, "job");
  EXPECT_EQ(back->token, "tok");
  // Truncations at every length fail cleanly.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(ParseHello(std::span<const uint8_t>(bytes.data(), n), &why)) << n;
  }
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(ParseHello(trailing, &why));
  auto bad_version = bytes;
  bad_version[0] = 2;
  EXPECT_FALSE(ParseHello(bad_version, &why));
  EXPECT_NE(why.find("version"), std::string::npos);
}

// Found by hello_fuzz: byte 3 was ignored, so two different hellos parsed the same.
TEST(Wire, HelloRefusesANonZeroReservedByte) {
  Hello h;
  h.peer = {Role::kServer, 1};
  auto bytes = EncodeHello(h);
  ASSERT_EQ(bytes[3], 0);
  bytes[3] = 1;
  std::string why;
  EXPECT_FALSE(ParseHello(bytes, &why));
  EXPECT_NE(why.find("reserved"), std::string::npos) << why;
}

// The identity of the process checking a hello (a server).
constexpr PeerId kSelf{Role::kServer, 0};

TEST(Wire, CheckHelloRefusesOtherJobsAndTokens) {
  Hello h;
  h.peer = {Role::kWorker, 3};
  h.job_id = "job";
  h.token = "secret";
  const PeerRoles& roles = PsRoles();
  EXPECT_EQ(CheckHello(h, roles, kSelf, "job", "secret"), "");
  EXPECT_NE(CheckHello(h, roles, kSelf, "other", "secret").find("wrong job id"), std::string::npos);
  EXPECT_NE(CheckHello(h, roles, kSelf, "other", "secret").find("worker 3"), std::string::npos);
  EXPECT_NE(CheckHello(h, roles, kSelf, "job", "secreT").find("wrong token"), std::string::npos);
  EXPECT_NE(CheckHello(h, roles, kSelf, "job", "secret2").find("wrong token"), std::string::npos);
  EXPECT_NE(CheckHello(h, roles, kSelf, "job", "").find("wrong token"), std::string::npos);
}

// net/ gives a role byte no meaning: the parse takes any, the check refuses what the device
// was not told to accept, whatever the job and token.
TEST(Wire, CheckHelloRefusesARoleTheDeviceDoesNotAccept) {
  Hello h;
  h.peer = {Role::kWorker, 3};
  h.job_id = "job";
  h.token = "secret";
  auto bytes = EncodeHello(h);
  bytes[2] = 9;
  std::string why;
  const auto parsed = ParseHello(bytes, &why);
  ASSERT_TRUE(parsed) << why;
  EXPECT_EQ(parsed->peer.role, 9);
  EXPECT_EQ(CheckHello(*parsed, PsRoles(), kSelf, "job", "secret"), "unknown role 9 (rank 3)");
  const PeerRoles only_servers{{Role::kServer, "server"}};
  EXPECT_EQ(CheckHello(h, only_servers, kSelf, "job", "secret"), "unknown role 2 (rank 3)");
  EXPECT_EQ(CheckHello(h, PeerRoles{}, kSelf, "job", "secret"), "unknown role 2 (rank 3)");
}

// A server lets in its workers and nobody else, token or not: a claim of its own identity
// (whose memory it registered for itself), of another server, or of a rank the job lacks.
TEST(Wire, CheckHelloRefusesTheCheckersOwnIdentityAndRanksItDoesNotAccept) {
  const PeerRoles workers_only = PsRoles().AcceptingOnly(Role::kWorker, 8);
  Hello h;
  h.job_id = "job";
  h.token = "secret";
  h.peer = {Role::kWorker, 7};
  EXPECT_EQ(CheckHello(h, workers_only, kSelf, "job", "secret"), "");
  h.peer = kSelf;
  EXPECT_EQ(CheckHello(h, workers_only, kSelf, "job", "secret"),
            "a peer claims to be server 0, this process itself");
  // Even where the table accepts servers.
  EXPECT_NE(CheckHello(h, PsRoles(), kSelf, "job", "secret"), "");
  h.peer = {Role::kServer, 1};
  EXPECT_EQ(CheckHello(h, workers_only, kSelf, "job", "secret"),
            "server 1 may not connect here (this process accepts worker 0..7)");
  h.peer = {Role::kWorker, 8};
  EXPECT_EQ(CheckHello(h, workers_only, kSelf, "job", "secret"),
            "worker 8 may not connect here (this process accepts worker 0..7)");
  h.peer = {Role::kTool, 0};
  EXPECT_NE(CheckHello(h, workers_only, kSelf, "job", "secret").find("may not connect"),
            std::string::npos);
  // The same answer for the claim alone (what RDMA checks before making a queue pair).
  EXPECT_EQ(CheckAdmission({Role::kWorker, 8}, workers_only, kSelf),
            "worker 8 may not connect here (this process accepts worker 0..7)");
  EXPECT_EQ(CheckAdmission({Role::kWorker, 0}, workers_only, kSelf), "");
}

TEST(Wire, PeerRolesAcceptingOnlyBoundsOneRoleAndKeepsTheOthersNames) {
  const PeerRoles all = PsRoles();
  EXPECT_EQ(all.DescribeAccepted(), "server, worker, tool");
  EXPECT_TRUE(all.Accepts(PeerId{Role::kWorker, 0xffffffff}));
  const PeerRoles two = all.AcceptingOnly(Role::kWorker, 2);
  EXPECT_EQ(two.DescribeAccepted(), "worker 0..1");
  EXPECT_TRUE(two.Accepts(PeerId{Role::kWorker, 1}));
  EXPECT_FALSE(two.Accepts(PeerId{Role::kWorker, 2}));
  EXPECT_FALSE(two.Accepts(PeerId{Role::kServer, 0}));
  EXPECT_FALSE(two.Accepts(Role::kServer));
  EXPECT_TRUE(two.Accepts(Role::kWorker));
  EXPECT_EQ(two.Name({Role::kServer, 3}), "server 3");
  const PeerRoles none = all.AcceptingOnly(Role::kWorker, 0);
  EXPECT_FALSE(none.Accepts(Role::kWorker));
  EXPECT_EQ(none.DescribeAccepted(), "nobody");
  EXPECT_THROW(all.AcceptingOnly(9, 1), Error);
}

TEST(Wire, PeerRolesNameAcceptedRolesAndRefuseBadTables) {
  const PeerRoles roles{{7, "probe"}, {200, "relay"}};
  EXPECT_TRUE(roles.Accepts(7));
  EXPECT_TRUE(roles.Accepts(200));
  EXPECT_FALSE(roles.Accepts(0));
  EXPECT_FALSE(roles.Accepts(8));
  EXPECT_EQ(roles.Name({200, 4}), "relay 4");
  EXPECT_EQ(roles.Name({9, 4}), "role 9 rank 4");
  EXPECT_THROW(PeerRoles({{0, "zero"}}), Error);
  EXPECT_THROW(PeerRoles({{1, "a"}, {1, "b"}}), Error);
  EXPECT_THROW(PeerRoles({{1, "a"},
                          {2, "b"},
                          {3, "c"},
                          {4, "d"},
                          {5, "e"},
                          {6, "f"},
                          {7, "g"},
                          {8, "h"},
                          {9, "i"}}),
               Error);
}

// A notice naming several writes parses back to the same writes, in order.
TEST(Wire, WriteNoticeRoundTripsEveryWriteInOrder) {
  rdma::WriteNotice n;
  for (uint32_t i = 0; i < rdma::WriteNotice::kMaxWrites; ++i) {
    FrameHeader& h = n.writes[n.count++];
    h.type = FrameType::kWrite;
    h.imm = 1000 + i;
    h.region = i % 3;
    h.offset = uint64_t{i} << 16;
    h.length = 65536 - i;
  }
  std::array<uint8_t, rdma::WriteNotice::kMaxBytes> buf{};
  const size_t bytes = rdma::EncodeNotice(n, buf);
  ASSERT_EQ(bytes, rdma::WriteNotice::kMaxBytes);
  for (size_t count : {size_t{1}, size_t{2}, rdma::WriteNotice::kMaxWrites}) {
    rdma::WriteNotice back;
    std::string why;
    ASSERT_TRUE(rdma::ParseNotice(std::span(buf.data(), count * FrameHeader::kSize), &back, &why))
        << why;
    ASSERT_EQ(back.count, count);
    for (size_t i = 0; i < count; ++i) {
      EXPECT_EQ(back.writes[i].imm, 1000 + i);
      EXPECT_EQ(back.writes[i].region, i % 3);
      EXPECT_EQ(back.writes[i].offset, uint64_t{i} << 16);
      EXPECT_EQ(back.writes[i].length, 65536 - i);
    }
  }
}

// A torn, empty, oversized or mixed notice is refused with a reason, never half-applied.
TEST(Wire, WriteNoticeRefusesTornEmptyOversizedAndMixedNotices) {
  rdma::WriteNotice n;
  n.count = 2;
  n.writes[0].type = n.writes[1].type = FrameType::kWrite;
  std::array<uint8_t, rdma::WriteNotice::kMaxBytes + FrameHeader::kSize> buf{};
  rdma::EncodeNotice(n, buf);
  rdma::WriteNotice back;
  std::string why;
  EXPECT_FALSE(rdma::ParseNotice(std::span(buf.data(), 0), &back, &why));
  EXPECT_NE(why.find("0 bytes"), std::string::npos) << why;
  EXPECT_FALSE(rdma::ParseNotice(std::span(buf.data(), 48), &back, &why));
  EXPECT_NE(why.find("48 bytes"), std::string::npos) << why;
  EXPECT_FALSE(rdma::ParseNotice(buf, &back, &why));  // one header more than a notice holds
  why.clear();
  // The second header is a control frame: the whole notice is refused.
  FrameHeader control;
  control.type = FrameType::kControl;
  const auto head = EncodeHeader(control);
  std::copy(head.begin(), head.end(), buf.begin() + FrameHeader::kSize);
  EXPECT_FALSE(rdma::ParseNotice(std::span(buf.data(), 64), &back, &why));
  EXPECT_NE(why.find("type 5"), std::string::npos) << why;
  // A bad magic in the second header is the header parser's refusal.
  rdma::EncodeNotice(n, buf);
  buf[FrameHeader::kSize] ^= 1;
  EXPECT_FALSE(rdma::ParseNotice(std::span(buf.data(), 64), &back, &why));
  EXPECT_NE(why.find("magic"), std::string::npos) << why;
}

// RDMA's handle in a region descriptor: address and rkey back as they went in; a handle of
// another size (another backend's, or none) is refused with a reason.
TEST(Wire, RdmaRegionHandleRoundTripsAndRefusesOtherSizes) {
  RemoteRegion r{.id = 3, .length = 8192};
  r.SetHandle(rdma::EncodeRegionHandle({.addr = 0x7f0012345000, .rkey = 0xabcd1234}));
  EXPECT_TRUE(r.WellFormed());
  std::string why;
  const auto back = rdma::ParseRegionHandle(r.handle_bytes(), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->addr, 0x7f0012345000u);
  EXPECT_EQ(back->rkey, 0xabcd1234u);
  EXPECT_FALSE(rdma::ParseRegionHandle({}, &why));
  EXPECT_NE(why.find("0 bytes"), std::string::npos) << why;
  RemoteRegion longer;
  longer.SetHandle(std::array<uint8_t, 13>{});
  EXPECT_FALSE(rdma::ParseRegionHandle(longer.handle_bytes(), &why));
  EXPECT_NE(why.find("13 bytes"), std::string::npos) << why;
}

// A refused RDMA connect request says why in the reject's private data: the text round trips
// (cut to kMaxRejectText), survives the CM's zero padding, reaches the log as printable ASCII
// only, and a reject that is not gradwire's (no listener, another program) has no reason.
TEST(Wire, RdmaRejectReasonRoundTripsCutAndSanitised) {
  const std::vector<uint8_t> bytes = rdma::EncodeRejectReason("worker 9 may not connect here");
  EXPECT_EQ(rdma::ParseRejectReason(bytes),
            std::optional<std::string>("worker 9 may not connect here"));
  std::vector<uint8_t> padded = bytes;
  padded.resize(148, 0);  // an InfiniBand CM reject's whole private data field
  EXPECT_EQ(rdma::ParseRejectReason(padded),
            std::optional<std::string>("worker 9 may not connect here"));
  const std::string longer(300, 'x');
  EXPECT_EQ(rdma::ParseRejectReason(rdma::EncodeRejectReason(longer)),
            std::optional<std::string>(std::string(rdma::kMaxRejectText, 'x')));
  std::vector<uint8_t> odd = rdma::EncodeRejectReason("a\nb\x1b[2Jc");
  odd.push_back(0xff);
  ++odd[3];  // the 0xff is part of the text now
  EXPECT_EQ(rdma::ParseRejectReason(odd), std::optional<std::string>("a?b?[2Jc?"));
  EXPECT_FALSE(rdma::ParseRejectReason({}));
  EXPECT_FALSE(rdma::ParseRejectReason(std::vector<uint8_t>(148, 0))) << "zeros: not ours";
  std::vector<uint8_t> bad = bytes;
  bad[0] ^= 1;
  EXPECT_FALSE(rdma::ParseRejectReason(bad)) << "another magic";
  bad = bytes;
  bad[3] = static_cast<uint8_t>(bytes.size());  // longer than what is there
  EXPECT_FALSE(rdma::ParseRejectReason(bad));
  bad = bytes;
  bad[3] = rdma::kMaxRejectText + 1;
  bad.resize(200, 'y');
  EXPECT_FALSE(rdma::ParseRejectReason(bad)) << "longer than any reason we send";
}

// The descriptor is the same 56 bytes for every backend; one read from a peer is well formed
// only with its handle within the bound and its reserved bytes and unused handle bytes zero.
TEST(Wire, RemoteRegionHandleIsBoundedAndEveryByteHasOneMeaning) {
  RemoteRegion r{.id = 1, .length = 64};
  EXPECT_TRUE(r.WellFormed());
  EXPECT_TRUE(r.handle_bytes().empty());
  r.SetHandle(std::array<uint8_t, RemoteRegion::kMaxHandleBytes>{});
  EXPECT_TRUE(r.WellFormed());
  EXPECT_EQ(r.handle_bytes().size(), RemoteRegion::kMaxHandleBytes);
  // A shorter handle set later zeroes the tail the longer one used.
  r.handle.fill(0xee);
  r.SetHandle(std::array<uint8_t, 2>{5, 6});
  EXPECT_TRUE(r.WellFormed());
  EXPECT_EQ(r.handle_bytes().size(), 2u);

  RemoteRegion too_long = r;
  too_long.handle_size = RemoteRegion::kMaxHandleBytes + 1;
  EXPECT_FALSE(too_long.WellFormed());
  EXPECT_EQ(too_long.handle_bytes().size(), RemoteRegion::kMaxHandleBytes);  // never past it
  RemoteRegion reserved = r;
  reserved.reserved[1] = 1;
  EXPECT_FALSE(reserved.WellFormed());
  RemoteRegion tail = r;
  tail.handle[2] = 1;
  EXPECT_FALSE(tail.WellFormed());
}

TEST(Address, ParsesAndRejects) {
  auto a = Address::Parse("tcp://10.0.0.1:9000");
  EXPECT_EQ(a.transport, TransportKind::kTcp);
  EXPECT_EQ(a.host, "10.0.0.1");
  EXPECT_EQ(a.port, 9000);
  EXPECT_EQ(Address::Parse("rdma://h:1").transport, TransportKind::kRdma);
  EXPECT_EQ(Address::Parse("host:5").host, "host");
  EXPECT_EQ(Address::Parse("tcp://[::1]:7").host, "::1");
  EXPECT_EQ(Address::Parse("tcp://[::1]:7").ToString(), "tcp://[::1]:7");
  EXPECT_THROW(Address::Parse("udp://h:1"), Error);
  EXPECT_THROW(Address::Parse("tcp://h"), Error);
  EXPECT_THROW(Address::Parse("tcp://h:70000"), Error);
  EXPECT_THROW(Address::Parse("tcp://:80"), Error);
  EXPECT_THROW(Address::Parse("tcp://h:8x"), Error);
}

// config_fuzz's round trip: these parsed, but their ToString ("tcp://[a]:b]:1", "tcp://[a:1") did
// not parse back.
TEST(Address, RefusesBracketsInsideTheHost) {
  EXPECT_THROW(Address::Parse("a]:b:1"), Error);
  EXPECT_THROW(Address::Parse("[[a]:1"), Error);
  EXPECT_THROW(Address::Parse("tcp://h]:1"), Error);
  const Address v6 = Address::Parse("rdma://[fe80::1]:7000");
  EXPECT_EQ(Address::Parse(v6.ToString()).host, "fe80::1");
}

}  // namespace
}  // namespace gw
