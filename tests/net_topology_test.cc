// `gradwire sim --topology`: the fabric spec's parser (pure, never throws) and its checks
// against the job.
#include <gtest/gtest.h>

#include <string>

#include "net/sim/topology.h"

namespace gw::sim {
namespace {

TEST(TopologyTest, StarDefaultsToOneGigabitAndFiftyMicroseconds) {
  std::string why;
  const auto t = ParseTopology("star", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, Topology::Kind::kStar);
  EXPECT_DOUBLE_EQ(t->rate_bps, 1e9);
  EXPECT_DOUBLE_EQ(t->latency_s, 50e-6);
  EXPECT_EQ(t->CheckJob(1, 7), "");
}

TEST(TopologyTest, RatesAndLatenciesTakeTheirUnits) {
  std::string why;
  const auto t = ParseTopology("star:rate=2.5Gbps,latency=5ms", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_DOUBLE_EQ(t->rate_bps, 2.5e9);
  EXPECT_DOUBLE_EQ(t->latency_s, 5e-3);
  EXPECT_DOUBLE_EQ(*ParseRate("100Mbps"), 1e8);
  EXPECT_DOUBLE_EQ(*ParseRate("64kbps"), 64e3);
  EXPECT_DOUBLE_EQ(*ParseLatency("0us"), 0);
  EXPECT_DOUBLE_EQ(*ParseLatency("0.25s"), 0.25);
  for (const char* bad : {"", "Gbps", "1", "1 Gbps", "1gbps", "-1Gbps", "0bps", "nanGbps",
                          "infGbps", "1e30Gbps", "1Gbpss"}) {
    EXPECT_FALSE(ParseRate(bad)) << bad;
  }
  for (const char* bad : {"", "5", "5 ms", "-1ms", "61s", "nanus", "5msec"}) {
    EXPECT_FALSE(ParseLatency(bad)) << bad;
  }
}

TEST(TopologyTest, ATreeNeedsRacksThatDivideTheWorkers) {
  std::string why;
  const auto t = ParseTopology("tree:racks=4,oversub=4,rate=10Gbps", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, Topology::Kind::kTree);
  EXPECT_EQ(t->racks, 4u);
  EXPECT_DOUBLE_EQ(t->oversubscription, 4);
  EXPECT_EQ(t->CheckJob(1, 16), "");
  EXPECT_NE(t->CheckJob(1, 6).find("does not divide the 6 workers"), std::string::npos);
  EXPECT_NE(t->CheckJob(1, 2).find("more racks than the 2 workers"), std::string::npos);
  EXPECT_FALSE(ParseTopology("tree", &why));
  EXPECT_NE(why.find("needs racks"), std::string::npos);
}

TEST(TopologyTest, AFatTreeHoldsKCubedOverFourHostsServersIncluded) {
  std::string why;
  const auto t = ParseTopology("fat-tree:k=16", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, Topology::Kind::kFatTree);
  EXPECT_EQ(t->k, 16u);
  EXPECT_DOUBLE_EQ(t->rate_bps, 1e9);
  EXPECT_DOUBLE_EQ(t->latency_s, 50e-6);
  EXPECT_EQ(t->FatTreeHosts(), 1024u);
  EXPECT_EQ(t->CheckJob(1, 1023), "");
  EXPECT_EQ(t->CheckJob(1, 1024),
            "--topology fat-tree:k=16 has 1024 host ports, fewer than the job's 1025 hosts (1 "
            "server(s) + 1024 workers): a larger even k");
  EXPECT_NE(t->CheckJob(4, 1021).find("1025 hosts"), std::string::npos);
  EXPECT_EQ(ParseTopology("fat-tree:k=128", &why)->FatTreeHosts(), 524288u);
  EXPECT_EQ(ParseTopology("fat-tree:k=2", &why)->CheckJob(1, 1), "");
  EXPECT_EQ(ParseTopology("fat-tree:k=18,rate=10Gbps,latency=1us", &why)->ToString(),
            "fat-tree:k=18,rate=10000Mbps,latency=1us");
}

TEST(TopologyTest, ALeafSpineNeedsLeavesAndSpinesAndAtMostAHostALeaf) {
  std::string why;
  const auto t = ParseTopology("leaf-spine:leaves=32,spines=8,oversub=4", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, Topology::Kind::kLeafSpine);
  EXPECT_EQ(t->leaves, 32u);
  EXPECT_EQ(t->spines, 8u);
  EXPECT_DOUBLE_EQ(t->oversubscription, 4);
  EXPECT_EQ(t->CheckJob(1, 1024), "");
  EXPECT_EQ(t->CheckJob(1, 31), "");
  EXPECT_EQ(t->CheckJob(1, 30),
            "--topology leaf-spine:leaves=32 has more leaves than the job's 31 hosts (1 "
            "server(s) + 30 workers)");
  const auto plain = ParseTopology("leaf-spine:spines=2,leaves=4", &why);
  ASSERT_TRUE(plain) << why;
  EXPECT_DOUBLE_EQ(plain->oversubscription, 1);
  EXPECT_EQ(plain->ToString(), "leaf-spine:leaves=4,spines=2,oversub=1,rate=1000Mbps,latency=50us");
}

TEST(TopologyTest, EveryMistakeIsNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"ring", "unknown topology 'ring'"},
      {"star:rate", "is not key=value"},
      {"star:=1Gbps", "is not key=value"},
      {"star:rate=1Gbps,rate=2Gbps", "given twice"},
      {"star:racks=2", "takes no 'racks'"},
      {"tree:racks=0", "racks=0"},
      {"tree:racks=2.5", "racks=2.5"},
      {"tree:racks=2,oversub=0.5", "oversub=0.5"},
      {"tree:racks=2,oversub=nan", "oversub=nan"},
      {"star:latency=forever", "latency=forever"},
      {"star:", "is not key=value"},
      {"fat-tree", "needs k=K"},
      {"fat-tree:k=7", "k=7: an even number"},
      {"fat-tree:k=0", "k=0"},
      {"fat-tree:k=130", "k=130"},
      {"fat-tree:k=4.0", "k=4.0"},
      {"fat-tree:k=4,oversub=2", "takes no 'oversub'"},
      {"fat-tree:k=4,racks=2", "takes no 'racks'"},
      {"leaf-spine", "needs leaves=L and spines=S"},
      {"leaf-spine:leaves=4", "needs leaves=L and spines=S"},
      {"leaf-spine:spines=4", "needs leaves=L and spines=S"},
      {"leaf-spine:leaves=0,spines=2", "leaves=0"},
      {"leaf-spine:leaves=4,spines=129", "spines=129"},
      {"leaf-spine:leaves=4,spines=2,oversub=0.5", "oversub=0.5"},
      {"leaf-spine:leaves=4,spines=2,k=4", "takes no 'k'"},
      {"leaf-spine:leaves=4,spines=2,spines=2", "given twice"},
      {"tree:racks=2,leaves=2", "takes no 'leaves'"},
      {"star:k=4", "takes no 'k'"},
  };
  for (const auto& [text, says] : cases) {
    std::string why;
    EXPECT_FALSE(ParseTopology(text, &why)) << text;
    EXPECT_NE(why.find(says), std::string::npos) << text << ": " << why;
  }
}

TEST(TopologyTest, SlowWorkersHaveTheirOwnRateAndMustBeInTheJob) {
  std::string why;
  const auto t = ParseTopology("star:slow=1+2,slow_rate=100Mbps", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_DOUBLE_EQ(t->WorkerRate(0), 1e9);
  EXPECT_DOUBLE_EQ(t->WorkerRate(1), 1e8);
  EXPECT_DOUBLE_EQ(t->WorkerRate(2), 1e8);
  EXPECT_DOUBLE_EQ(t->WorkerRate(3), 1e9);
  EXPECT_EQ(t->CheckJob(2, 8), "");
  EXPECT_NE(t->CheckJob(1, 2).find("slow worker 2 is not one of the 2 workers"), std::string::npos);
  EXPECT_EQ(t->ToString(), "star:rate=1000Mbps,latency=50us,slow=1+2,slow_rate=100Mbps");
  const std::pair<const char*, const char*> bad[] = {
      {"star:slow=1+2", "go together"},
      {"star:slow_rate=100Mbps", "go together"},
      {"star:slow=1+1,slow_rate=1Mbps", "named twice"},
      {"star:slow=1++2,slow_rate=1Mbps", "slow=1++2"},
      {"star:slow=,slow_rate=1Mbps", "slow="},
      {"star:slow=-1,slow_rate=1Mbps", "slow=-1"},
      {"tree:racks=2,slow=1,slow_rate=1Mbps", "takes no 'slow'"},
  };
  for (const auto& [text, says] : bad) {
    EXPECT_FALSE(ParseTopology(text, &why)) << text;
    EXPECT_NE(why.find(says), std::string::npos) << text << ": " << why;
  }
}

TEST(TopologyTest, ToStringSaysWhatWasParsed) {
  std::string why;
  EXPECT_EQ(ParseTopology("star", &why)->ToString(), "star:rate=1000Mbps,latency=50us");
  EXPECT_EQ(ParseTopology("tree:racks=2,oversub=4,latency=1ms", &why)->ToString(),
            "tree:racks=2,oversub=4,rate=1000Mbps,latency=1000us");
  // Each kind's text parses back to the same fabric.
  for (const char* text : {"star:rate=2Gbps,slow=3,slow_rate=1Mbps", "tree:racks=3,oversub=2.5",
                           "fat-tree:k=8,rate=40Gbps,latency=2us",
                           "leaf-spine:leaves=16,spines=4,oversub=3,rate=25Gbps"}) {
    const auto t = ParseTopology(text, &why);
    ASSERT_TRUE(t) << text << ": " << why;
    const auto again = ParseTopology(t->ToString(), &why);
    ASSERT_TRUE(again) << t->ToString() << ": " << why;
    EXPECT_EQ(again->ToString(), t->ToString());
    EXPECT_EQ(again->kind, t->kind);
    EXPECT_EQ(again->k, t->k);
    EXPECT_EQ(again->leaves, t->leaves);
    EXPECT_EQ(again->spines, t->spines);
    EXPECT_DOUBLE_EQ(again->oversubscription, t->oversubscription);
    EXPECT_DOUBLE_EQ(again->rate_bps, t->rate_bps);
  }
}

}  // namespace
}  // namespace gw::sim
