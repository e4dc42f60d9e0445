// Builds a Topology (topology.h) into the running SimGrid engine's platform: one host per
// server and worker, named ServerHost(s) and WorkerHost(w); a star or tree as a SimGrid star
// zone, a fat-tree or leaf-spine as clos_zone.h's.
#pragma once

#include <cstdint>
#include <string>

#include "net/sim/topology.h"

namespace gw::sim {

std::string ServerHost(uint32_t rank);
std::string WorkerHost(uint32_t rank);

// Call once, after the engine is made and before it runs. Throws gw::Error if the topology
// cannot hold the job (Topology::CheckJob).
void BuildPlatform(const Topology& topology, uint32_t servers, uint32_t workers);

}  // namespace gw::sim
