// The multi-rooted fabrics of `gradwire sim --topology` (net/sim/platform.h) timed: a
// leaf-spine's oversubscribed uplinks bound the traffic between leaves at their rate, spread
// evenly over the spines; with oversub=1 the hosts' links bound it; a fat-tree's route
// between pods crosses its six links, within a pod four, under one edge switch two, and carries
// many workers' writes to one server at that server's link.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <simgrid/s4u/Actor.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "net/sim/platform.h"
#include "net/sim/topology.h"
#include "ps/roles.h"
#include "tests/net_test_util.h"
#include "tests/sim_harness.h"

namespace gw {
namespace {

using testing::Is;
using testing::Options;
using testing::SimAddress;
using testing::SimDeviceOn;
using testing::SimNow;
using testing::WaitFor;

// As `gradwire sim` sets them: a message's time is its path's latency once (no slow-start
// factor), flows share links max-min.
const std::vector<std::string> kSimCfg = {"network/latency-factor:1", "network/weight-S:0"};

bool Landed(const Completion& c) { return Is(c, CompletionKind::kWriteLanded); }

PeerId Server(uint32_t s) { return {Role::kServer, s}; }
PeerId Worker(uint32_t w) { return {Role::kWorker, w}; }

// Runs body on server 0's host of the job's platform on `spec`.
void OnFabric(const std::string& spec, uint32_t servers, uint32_t workers,
              const std::function<void()>& body) {
  std::string why;
  const auto t = sim::ParseTopology(spec, &why);
  ASSERT_TRUE(t) << why;
  testing::SimulateOn([&] { sim::BuildPlatform(*t, servers, workers); }, sim::ServerHost(0), body,
                      kSimCfg);
}

// The job's servers listening, and its workers' devices, made on demand.
struct Job {
  std::vector<std::unique_ptr<Device>> servers, workers;
  Job(uint32_t num_servers, uint32_t num_workers) : workers(num_workers) {
    for (uint32_t s = 0; s < num_servers; ++s) {
      servers.push_back(SimDeviceOn(sim::ServerHost(s), Options(Server(s))));
      servers.back()->Listen(SimAddress(sim::ServerHost(s), 0));
    }
  }
  Device& worker(uint32_t w) {
    if (!workers[w]) workers[w] = SimDeviceOn(sim::WorkerHost(w), Options(Worker(w)));
    return *workers[w];
  }
  // Worker w's connection to server s, made the first time.
  std::shared_ptr<Connection> Connect(uint32_t w, uint32_t s) {
    auto& conn = conns[{w, s}];
    if (!conn) {
      conn = worker(w).Connect(SimAddress(sim::ServerHost(s), servers[s]->bound_port()), Server(s));
    }
    return conn;
  }
  std::map<std::pair<uint32_t, uint32_t>, std::shared_ptr<Connection>> conns;
};

// Each worker in `from` writes `bytes` to each server in `to`, all at once; returns when each
// write landed (simulated seconds from the start), in order.
std::vector<double> WriteAll(Job& job, const std::vector<uint32_t>& from,
                             const std::vector<uint32_t>& to, size_t bytes) {
  struct Write {
    std::shared_ptr<Connection> conn;
    std::span<std::byte> src;
    RemoteRegion dst;
  };
  std::vector<Write> writes;
  for (uint32_t w : from) {
    const auto src = job.worker(w).RegisterRegion(bytes, Worker(w)).bytes();
    for (uint32_t s : to) {
      writes.push_back(
          {job.Connect(w, s), src, job.servers[s]->RegisterRegion(bytes, Worker(w)).Describe()});
    }
  }
  std::vector<double> landed;
  const double start = SimNow();
  for (auto& [conn, src, dst] : writes) conn->Write(src, dst, 0, 0, 0);
  // One collector per server, on its host: every landing seen when it happens.
  std::vector<simgrid::s4u::ActorPtr> collectors;
  for (uint32_t s : to) {
    collectors.push_back(simgrid::s4u::Actor::create(
        "collect", simgrid::s4u::Host::by_name(sim::ServerHost(s)), [&, s] {
          std::vector<Completion> batch;
          size_t seen = 0;
          while (seen < from.size()) {
            batch.clear();
            if (job.servers[s]->cq().Wait(batch, std::chrono::seconds(100)) == 0) break;
            for (const auto& c : batch) {
              if (Landed(c)) {
                landed.push_back(SimNow() - start);
                ++seen;
              }
            }
          }
        }));
  }
  for (auto& c : collectors) c->join();
  std::sort(landed.begin(), landed.end());
  return landed;
}

// A leaf-spine of 2 leaves, 8 servers and 8 workers: host h (servers, then workers) on leaf
// h mod 2, so servers 0, 2, 4, 6 under leaf 0 and workers 1, 3, 5, 7 under leaf 1, 8 hosts a
// leaf. The 4 workers each write to the 4 servers: 16 flows from leaf 1 to leaf 0, 4 a
// spine.
constexpr uint32_t kServers = 8, kWorkers = 8;
const std::vector<uint32_t> kLeaf0Servers = {0, 2, 4, 6}, kLeaf1Workers = {1, 3, 5, 7};
constexpr size_t kBytes = 4 << 20;

// Times one write under one leaf (two host links, nothing shared), then the 16 flows across;
// returns the flows' landing times in units of the one.
std::vector<double> CrossLeafInUnitsOfOneWrite(const std::string& spec) {
  std::vector<double> units;
  OnFabric(spec, kServers, kWorkers, [&] {
    Job job(kServers, kWorkers);
    // Worker 0 (host 8) sits under leaf 0 with server 0.
    const double one = WriteAll(job, {0}, {0}, kBytes).at(0);
    EXPECT_GT(one, kBytes * 8 / 1e9);
    EXPECT_LT(one, kBytes * 8 / 1e9 * 1.1);
    for (double t : WriteAll(job, kLeaf1Workers, kLeaf0Servers, kBytes)) units.push_back(t / one);
  });
  return units;
}

// 4:1 with 4 spines: each uplink R x 8 / (4 x 4) = R/2, 2R a leaf; the 16 flows share it, R/8
// each, where their own links would give each R/4 (a worker's link carries its 4 flows).
TEST(SimFabric, OversubscribedLeafSpineUplinksBoundTrafficBetweenLeaves) {
  const auto units = CrossLeafInUnitsOfOneWrite("leaf-spine:leaves=2,spines=4,oversub=4");
  ASSERT_EQ(units.size(), 16u);
  EXPECT_GT(units.front(), 8 * 0.95) << "a flow ran ahead: the spines are loaded unevenly";
  EXPECT_LT(units.back(), 8 * 1.05);
}

// 1:1: each uplink R x 8 / 4 = 2R, more than the flows can fill: each worker's link (4 flows)
// is the bound, R/4 a flow.
TEST(SimFabric, AFullBisectionLeafSpineRunsAtTheHostLinks) {
  const auto units = CrossLeafInUnitsOfOneWrite("leaf-spine:leaves=2,spines=4");
  ASSERT_EQ(units.size(), 16u);
  EXPECT_GT(units.front(), 4 * 0.95);
  EXPECT_LT(units.back(), 4 * 1.05);
}

// k=4: 16 hosts, 2 an edge switch, 4 a pod. Server 0 is host 0 (pod 0, edge 0); worker w is
// host w + 1: worker 0 under the same edge switch, worker 2 (host 3) in pod 0 under the other,
// worker 4 (host 5) in pod 1. A 1-byte write lands after its route's latencies, 1 ms a link.
TEST(SimFabric, AFatTreesRoutesCrossTwoFourOrSixLinks) {
  constexpr double kLatency = 1e-3;
  OnFabric("fat-tree:k=4,latency=1ms", 1, 15, [&] {
    Job job(1, 15);
    for (const auto& [worker, links] : {std::pair{0u, 2}, {2u, 4}, {4u, 6}, {14u, 6}}) {
      const double t = WriteAll(job, {worker}, {0}, 1).at(0);
      EXPECT_NEAR(t, links * kLatency, 0.02 * links * kLatency) << "worker " << worker;
    }
  });
}

// Many workers to one server on a fat-tree: the server's own link is the only bound (full
// bisection), so the last write lands at 15 times one. SimGrid's TCP model shares a link in
// inverse proportion to each flow's path latency (TCP's bias against long round trips; its
// weight-S term is off): worker 0 under the server's edge switch (2 links) takes 3 shares,
// workers 1 and 2 in its pod (4 links) 1.5, the 12 in other pods (6 links) 1 each. So worker 0
// lands at 18/3 = 6, then 1 and 2 (half done, then 1.5 of 15 shares) at 11, the rest at 15.
TEST(SimFabric, AFatTreeCarriesManyToOneAtTheServersLinkSharedByRouteLength) {
  OnFabric("fat-tree:k=4", 1, 15, [&] {
    Job job(1, 15);
    const double one = WriteAll(job, {0}, {0}, kBytes).at(0);
    std::vector<uint32_t> all(15);
    for (uint32_t w = 0; w < 15; ++w) all[w] = w;
    const auto landed = WriteAll(job, all, {0}, kBytes);
    ASSERT_EQ(landed.size(), 15u);
    const double expected[] = {6, 11, 11, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15};
    for (size_t i = 0; i < landed.size(); ++i) {
      EXPECT_NEAR(landed[i] / one, expected[i], 0.03 * expected[i]) << "write " << i;
    }
  });
}

TEST(SimFabric, AJobLargerThanTheFabricIsRefused) {
  std::string why;
  const auto t = sim::ParseTopology("fat-tree:k=4", &why);
  ASSERT_TRUE(t) << why;
  testing::SimulateOn(
      [&] {
        try {
          sim::BuildPlatform(*t, 1, 16);
          ADD_FAILURE() << "17 hosts on a 16-host fat-tree";
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("16 host ports"), std::string::npos) << e.what();
        }
        sim::BuildPlatform(*t, 1, 15);
      },
      sim::ServerHost(0), [] {}, kSimCfg);
}

}  // namespace
}  // namespace gw
