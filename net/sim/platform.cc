#include "net/sim/platform.h"

#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>
#include <vector>

#include "base/error.h"
#include "net/sim/clos_zone.h"

namespace gw::sim {

namespace s4u = simgrid::s4u;

namespace {

// Hosts compute nothing SimGrid would time (compute is emulated by sleeping); a speed is
// required all the same.
constexpr const char* kHostSpeed = "1Gf";

}  // namespace

std::string ServerHost(uint32_t rank) { return "server-" + std::to_string(rank); }
std::string WorkerHost(uint32_t rank) { return "worker-" + std::to_string(rank); }

void BuildPlatform(const Topology& t, uint32_t servers, uint32_t workers) {
  if (const std::string why = t.CheckJob(servers, workers); !why.empty()) throw Error(why);
  if (t.kind == Topology::Kind::kFatTree || t.kind == Topology::Kind::kLeafSpine) {
    std::vector<std::string> hosts;  // the fabric's host numbers: servers, then workers
    for (uint32_t s = 0; s < servers; ++s) hosts.push_back(ServerHost(s));
    for (uint32_t w = 0; w < workers; ++w) hosts.push_back(WorkerHost(w));
    BuildClosZone(t, hosts, kHostSpeed);
    return;
  }
  // One star zone: a host's route to the centre is its own link, then (tree) its rack's
  // uplink; a route between two hosts is one's way up and the other's way down. Links are
  // split-duplex, each direction its own capacity, as on a switched full-duplex fabric.
  s4u::NetZone* zone = s4u::create_star_zone("fabric");
  const double bytes_per_s = t.rate_bps / 8;
  auto link = [&](const std::string& name, double rate) {
    return zone->create_split_duplex_link(name, rate)->set_latency(t.latency_s)->seal();
  };
  auto attach = [&](const std::string& host, const std::vector<s4u::Link*>& path) {
    s4u::Host* h = zone->create_host(host, kHostSpeed)->seal();
    std::vector<s4u::LinkInRoute> route;
    for (s4u::Link* l : path) route.emplace_back(l, s4u::LinkInRoute::Direction::UP);
    zone->add_route(h->get_netpoint(), nullptr, nullptr, nullptr, route, /*symmetrical=*/true);
  };
  for (uint32_t s = 0; s < servers; ++s)
    attach(ServerHost(s), {link("link-" + ServerHost(s), bytes_per_s)});
  std::vector<s4u::Link*> uplinks;
  const uint32_t per_rack = t.kind == Topology::Kind::kTree ? workers / t.racks : workers;
  if (t.kind == Topology::Kind::kTree) {
    for (uint32_t r = 0; r < t.racks; ++r) {
      uplinks.push_back(
          link("uplink-rack-" + std::to_string(r), bytes_per_s * per_rack / t.oversubscription));
    }
  }
  for (uint32_t w = 0; w < workers; ++w) {
    std::vector<s4u::Link*> path = {link("link-" + WorkerHost(w), t.WorkerRate(w) / 8)};
    if (!uplinks.empty()) path.push_back(uplinks[w / per_rack]);
    attach(WorkerHost(w), path);
  }
  zone->seal();
}

}  // namespace gw::sim
