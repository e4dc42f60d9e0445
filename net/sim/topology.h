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
// Rates take bps, kbps, Mbps or Gbps; latencies s, ms or us (defaults: 1Gbps, 50us).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gw::sim {

struct Topology {
  enum class Kind { kStar, kTree };
  Kind kind = Kind::kStar;
  double rate_bps = 1e9;               // each host's link, bits per second
  double latency_s = 50e-6;            // each link's one-way latency
  uint32_t racks = 1;                  // tree
  double oversubscription = 1;         // tree: a rack's host links over its uplink
  std::vector<uint32_t> slow_workers;  // star: these workers' links run at slow_rate_bps
  double slow_rate_bps = 0;

  // The rate of worker w's own link.
  double WorkerRate(uint32_t w) const;

  // Why this fabric cannot hold the job, or "": a tree whose racks do not divide the
  // workers evenly, more racks than workers, or a slow worker the job does not have.
  std::string CheckJob(uint32_t workers) const;
  std::string ToString() const;
};

// The spec's fabric, or nullopt with *why saying what is wrong and what is allowed.
std::optional<Topology> ParseTopology(const std::string& text, std::string* why);

// "1Gbps", "100Mbps", "2.5Gbps" as bits per second; "50us", "5ms", "0.01s" as seconds.
std::optional<double> ParseRate(const std::string& text);
std::optional<double> ParseLatency(const std::string& text);

}  // namespace gw::sim
