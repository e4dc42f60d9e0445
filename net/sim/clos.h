// The links of a fat-tree or leaf-spine fabric (topology.h) and the one route each pair of
// hosts takes over them, as plain numbers (no SimGrid): clos_zone.h makes a SimGrid link of
// each and routes transfers by Route().
//
// Hosts are numbered as the job's processes: servers 0..S-1, then workers 0..N-1 as S..S+N-1.
// A fat-tree's host h is on edge switch h / (k/2) (pods of (k/2)^2 hosts, filled in order); a
// leaf-spine's on leaf h mod L, at port h / L (striped: the servers one per leaf).
//
// Routing (SimGrid takes one path per pair, no ECMP): a pair's spine, or a fat-tree pair's
// core, is x = (a + b) mod (choices), a and b the two hosts' ports on their leaf (leaf-spine)
// or their numbers (fat-tree). The flows of one leaf's or edge switch's hosts to one host then
// take every spine (aggregation switch) in turn, and so do one host's flows to the hosts of a
// leaf: a many-to-one or one-to-many pattern loads the uplinks evenly, the load ECMP's hash
// gives on average, without its collisions. A fat-tree's x picks aggregation switch x mod (k/2)
// (the fast-varying part, so that an edge switch's k/2 hosts leave by its k/2 uplinks) and
// that switch's core x / (k/2). The rule is symmetric: a reply retraces its request's links.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "net/sim/topology.h"

namespace gw::sim {

struct ClosLink {
  std::string name;
  double rate_bps = 0;
};

// One link of a route, crossed upwards (from a host towards the spines or cores) or down.
struct ClosHop {
  uint32_t link = 0;
  bool up = true;
};

// Host to host: at most up to the core and down again.
struct ClosRoute {
  static constexpr size_t kMaxHops = 6;
  std::array<ClosHop, kMaxHops> hops{};
  size_t size = 0;
  void Add(uint32_t link, bool up) { hops[size++] = {link, up}; }
};

class ClosFabric {
 public:
  // t is a fat-tree or leaf-spine that Topology::CheckJob found to hold `hosts` hosts.
  // Links 0..hosts-1 are the hosts' own; switches' links exist only where hosts are (the pods
  // or leaves the job fills), so that a large k or many leaves cost nothing unused.
  ClosFabric(const Topology& t, uint32_t hosts, std::vector<std::string> host_names);

  uint32_t hosts() const { return hosts_; }
  const std::vector<ClosLink>& links() const { return links_; }
  // The switch host h hangs off: its edge switch (pod-major) or leaf.
  uint32_t SwitchOf(uint32_t h) const;
  ClosRoute Route(uint32_t src, uint32_t dst) const;

 private:
  // Its port on its switch.
  uint32_t PortOf(uint32_t h) const;
  ClosRoute FatTreeRoute(uint32_t src, uint32_t dst) const;
  ClosRoute LeafSpineRoute(uint32_t src, uint32_t dst) const;

  Topology::Kind kind_;
  uint32_t hosts_;
  uint32_t half_k_ = 0;         // fat-tree: k/2, ports down (and up) of a switch
  uint32_t pods_ = 0;           // fat-tree: pods with hosts
  uint32_t leaves_ = 0;         // leaf-spine: leaves with hosts
  uint32_t spines_ = 0;         // leaf-spine
  uint32_t edge_agg_base_ = 0;  // first edge-aggregation (leaf-spine: leaf-spine) link
  uint32_t agg_core_base_ = 0;  // fat-tree: first aggregation-core link
  std::vector<ClosLink> links_;
};

}  // namespace gw::sim
