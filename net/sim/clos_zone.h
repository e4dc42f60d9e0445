// A fat-tree or leaf-spine (clos.h) as the running SimGrid engine's platform: a netzone of its
// own kind whose routes are ClosFabric::Route, computed when a transfer asks. SimGrid 3.32's
// zones do not fit: its fat-tree zone gives every link one rate and routes by destination
// only (every flow to a server through one core), and a full zone keeps a table of hosts^2
// routes, each given by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/sim/topology.h"

namespace gw::sim {

// The root netzone: one host per name (the fabric's host numbers in order), each of speed
// host_speed, each link split-duplex (either direction its own capacity) with latency
// t.latency_s. Call once, on a made engine with no platform yet.
void BuildClosZone(const Topology& t, const std::vector<std::string>& host_names,
                   const std::string& host_speed);

}  // namespace gw::sim
