// The fat-tree's and leaf-spine's links and routes (net/sim/clos.h), without SimGrid: where
// hosts sit, what each link carries, which links a pair's route crosses, and that the flows of
// one switch's hosts to one host (and back) spread evenly over the uplinks.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "net/sim/clos.h"
#include "net/sim/topology.h"

namespace gw::sim {
namespace {

ClosFabric Fabric(const std::string& spec, uint32_t hosts) {
  std::string why;
  const auto t = ParseTopology(spec, &why);
  EXPECT_TRUE(t) << why;
  std::vector<std::string> names;
  for (uint32_t h = 0; h < hosts; ++h) names.push_back("h" + std::to_string(h));
  return ClosFabric(*t, hosts, names);
}

std::vector<ClosHop> Hops(const ClosFabric& f, uint32_t src, uint32_t dst) {
  const ClosRoute r = f.Route(src, dst);
  return {r.hops.begin(), r.hops.begin() + r.size};
}

TEST(ClosFabricTest, AFatTreeRouteClimbsOnlyAsHighAsThePairNeeds) {
  const ClosFabric f = Fabric("fat-tree:k=4", 16);  // 2 hosts an edge switch, 4 a pod
  EXPECT_EQ(f.SwitchOf(1), 0u);
  EXPECT_EQ(f.SwitchOf(2), 1u);
  EXPECT_EQ(f.SwitchOf(15), 7u);
  EXPECT_EQ(Hops(f, 0, 1).size(), 2u);   // one edge switch
  EXPECT_EQ(Hops(f, 0, 3).size(), 4u);   // one pod
  EXPECT_EQ(Hops(f, 0, 4).size(), 6u);   // pods 0 and 1
  EXPECT_EQ(Hops(f, 15, 0).size(), 6u);  // pods 3 and 0
  for (uint32_t a = 0; a < 16; ++a) {
    for (uint32_t b = 0; b < 16; ++b) {
      if (a == b) continue;
      const auto hops = Hops(f, a, b);
      EXPECT_EQ(hops.front().link, a);
      EXPECT_TRUE(hops.front().up);
      EXPECT_EQ(hops.back().link, b);
      EXPECT_FALSE(hops.back().up);
      // Up, then down; the reply retraces the request's links.
      const auto back = Hops(f, b, a);
      ASSERT_EQ(back.size(), hops.size());
      for (size_t i = 0; i < hops.size(); ++i) {
        EXPECT_EQ(hops[i].up, i < hops.size() / 2) << a << "->" << b;
        EXPECT_EQ(back[hops.size() - 1 - i].link, hops[i].link);
      }
    }
  }
}

TEST(ClosFabricTest, AFatTreeHasLinksOnlyWhereTheJobsHostsAre) {
  // k=4, 16 hosts: 16 host links, 4 pods x 4 edge-aggregation and 4 aggregation-core links.
  EXPECT_EQ(Fabric("fat-tree:k=4", 16).links().size(), 16u + 16 + 16);
  // k=64 holds 65,536 hosts; 10 fill part of one pod of 32 x 32 + 32 x 32 switch links.
  EXPECT_EQ(Fabric("fat-tree:k=64", 10).links().size(), 10u + 1024 + 1024);
  const ClosFabric fast = Fabric("fat-tree:k=4,rate=10Gbps", 16);
  for (const auto& l : fast.links()) {
    EXPECT_DOUBLE_EQ(l.rate_bps, 1e10) << l.name;
  }
}

// k=8: 4 hosts an edge switch, 16 a pod, 8 pods. Every other host writes to host 0.
TEST(ClosFabricTest, AFatTreeSpreadsManyToOneOverEveryUplinkAndCore) {
  const ClosFabric f = Fabric("fat-tree:k=8", 128);
  std::map<uint32_t, std::set<uint32_t>> uplinks_by_edge;  // edge-aggregation links leaving it
  std::map<uint32_t, int> into_pod0;                       // core-aggregation links into pod 0
  for (uint32_t src = 16; src < 128; ++src) {
    const auto hops = Hops(f, src, 0);
    ASSERT_EQ(hops.size(), 6u);
    uplinks_by_edge[f.SwitchOf(src)].insert(hops[1].link);
    ++into_pod0[hops[3].link];
  }
  for (const auto& [edge, uplinks] : uplinks_by_edge) {
    EXPECT_EQ(uplinks.size(), 4u) << "edge switch " << edge << "'s 4 hosts share an uplink";
  }
  EXPECT_EQ(into_pod0.size(), 16u) << "the pod's 16 core links";
  for (const auto& [link, flows] : into_pod0) EXPECT_EQ(flows, 7) << "one from each other pod";
}

TEST(ClosFabricTest, ALeafSpinesUplinksCarryTheirShareOfTheLeafsHostLinks) {
  // 30 hosts on 4 leaves: 8 ports a leaf (ceil), 2 spines, 4:1: each uplink 1 Gbit/s x 8 / 8.
  const ClosFabric f = Fabric("leaf-spine:leaves=4,spines=2,oversub=4", 30);
  ASSERT_EQ(f.links().size(), 30u + 4 * 2);
  EXPECT_DOUBLE_EQ(f.links()[0].rate_bps, 1e9);
  EXPECT_EQ(f.links()[30].name, "leaf-0-spine-0");
  for (size_t i = 30; i < f.links().size(); ++i) EXPECT_DOUBLE_EQ(f.links()[i].rate_bps, 1e9);
  // Striped: host h on leaf h mod 4.
  EXPECT_EQ(f.SwitchOf(0), 0u);
  EXPECT_EQ(f.SwitchOf(1), 1u);
  EXPECT_EQ(f.SwitchOf(29), 1u);
  EXPECT_EQ(Hops(f, 0, 4).size(), 2u);
  EXPECT_EQ(Hops(f, 0, 1).size(), 4u);
  EXPECT_DOUBLE_EQ(Fabric("leaf-spine:leaves=2,spines=4,rate=10Gbps", 16).links()[16].rate_bps,
                   10e9 * 8 / 4);
}

// 1,024 workers and 4 servers on 32 leaves and 8 spines: each server's flows from every other
// leaf's workers, and to them, load that leaf's 8 uplinks alike (32 workers: 4 a spine).
TEST(ClosFabricTest, ALeafSpineSpreadsEachLeafsFlowsToAHostOverTheSpines) {
  const uint32_t hosts = 1028, leaves = 32, spines = 8;
  const ClosFabric f = Fabric("leaf-spine:leaves=32,spines=8,oversub=4", hosts);
  for (uint32_t server = 0; server < 4; ++server) {
    std::map<uint32_t, std::map<uint32_t, int>> up, down;  // leaf -> uplink -> flows
    for (uint32_t src = 4; src < hosts; ++src) {
      if (f.SwitchOf(src) == f.SwitchOf(server)) continue;
      up[f.SwitchOf(src)][Hops(f, src, server)[1].link]++;
      down[f.SwitchOf(src)][Hops(f, server, src)[2].link]++;
    }
    ASSERT_EQ(up.size(), leaves - 1);
    for (const auto* by_leaf : {&up, &down}) {
      for (const auto& [leaf, flows] : *by_leaf) {
        ASSERT_EQ(flows.size(), spines) << "leaf " << leaf;
        int least = 1 << 30, most = 0;
        for (const auto& [link, n] : flows) least = std::min(least, n), most = std::max(most, n);
        EXPECT_LE(most - least, 1) << "leaf " << leaf << " to or from server " << server;
      }
    }
  }
}

}  // namespace
}  // namespace gw::sim
