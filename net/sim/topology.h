// The simulated fabric `gradwire sim --topology` names, parsed without SimGrid (pure, never
// throws) and built into a SimGrid platform by platform.h. Hosts are the job's processes:
// server-0..S-1 and worker-0..N-1, one per host, as on the emulated topologies.
//   star[:rate=R,latency=L,slow=W+W..,slow_rate=S]
//                             every host on its own link of rate R and one-way latency L to
//                             one switch (the netns star: experiments/topo); workers W.. on
//                             links of rate S instead (topo.sh --slow-workers, --slow-rate)
//   tree:racks=K[,oversub=F,rate=R,latency=L]
//                             workers spread evenly over K racks, each behind a rack switch
//                             whose uplink to the core carries rate R x (workers per rack) / F;
//                             servers on their own links to the core
//   fat-tree:k=K[,rate=R,latency=L]
//                             the k-ary fat-tree of Al-Fares et al.: K pods of K/2 edge and
//                             K/2 aggregation switches, (K/2)^2 core switches, K^3/4 host
//                             ports, every link of rate R. Hosts (servers first, then workers)
//                             fill the edge switches in order, K/2 each
//   leaf-spine:leaves=L,spines=S[,oversub=F,rate=R,latency=L]
//                             L leaf switches of P = ceil(hosts / L) host links of rate R each,
//                             every leaf with one uplink to each of the S spines of rate
//                             R x P / (F x S): the host links over the uplinks are F:1 (default
//                             1). Host h (servers first, then workers) sits on leaf h mod L:
//                             servers one per leaf, workers spread evenly
// Routes in the two multi-rooted fabrics take one path per pair (SimGrid has no ECMP); which
// spine or core is clos.h's rule, spreading the flows of one leaf or edge switch evenly.
// Rates take bps, kbps, Mbps or Gbps; latencies s, ms or us (defaults: 1Gbps, 50us).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gw::sim {

struct Topology {
  enum class Kind { kStar, kTree, kFatTree, kLeafSpine };
  Kind kind = Kind::kStar;
  double rate_bps = 1e9;               // each host's link, bits per second
  double latency_s = 50e-6;            // each link's one-way latency
  uint32_t racks = 1;                  // tree
  double oversubscription = 1;         // tree, leaf-spine: a switch's host links over uplinks
  uint32_t k = 0;                      // fat-tree: switch ports (even)
  uint32_t leaves = 0, spines = 0;     // leaf-spine
  std::vector<uint32_t> slow_workers;  // star: these workers' links run at slow_rate_bps
  double slow_rate_bps = 0;

  // The rate of worker w's own link.
  double WorkerRate(uint32_t w) const;

  // Host ports of a fat-tree, K^3/4.
  uint64_t FatTreeHosts() const;

  // Why this fabric cannot hold the job, or "" (one line): a tree whose racks do not divide
  // the workers evenly, more racks than workers, a slow worker the job does not have, a
  // fat-tree with fewer host ports than servers + workers, more leaves than hosts.
  std::string CheckJob(uint32_t servers, uint32_t workers) const;
  std::string ToString() const;
};

// The spec's fabric, or nullopt with *why saying what is wrong and what is allowed.
std::optional<Topology> ParseTopology(const std::string& text, std::string* why);

// "1Gbps", "100Mbps", "2.5Gbps" as bits per second; "50us", "5ms", "0.01s" as seconds.
std::optional<double> ParseRate(const std::string& text);
std::optional<double> ParseLatency(const std::string& text);

}  // namespace gw::sim
