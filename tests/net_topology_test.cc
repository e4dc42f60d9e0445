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
  EXPECT_EQ(t->CheckJob(7), "");
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
  EXPECT_EQ(t->CheckJob(16), "");
  EXPECT_NE(t->CheckJob(6).find("does not divide the 6 workers"), std::string::npos);
  EXPECT_NE(t->CheckJob(2).find("more racks than the 2 workers"), std::string::npos);
  EXPECT_FALSE(ParseTopology("tree", &why));
  EXPECT_NE(why.find("needs racks"), std::string::npos);
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
  EXPECT_EQ(t->CheckJob(8), "");
  EXPECT_NE(t->CheckJob(2).find("slow worker 2 is not one of the 2 workers"), std::string::npos);
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
}

}  // namespace
}  // namespace gw::sim
