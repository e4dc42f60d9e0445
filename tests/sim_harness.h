// Running test bodies inside a SimGrid simulation: the body is an actor on a small star
// platform (or one the test builds), with the simulated clock installed for its duration.
// One simulation per test: ctest runs each test case in its own process (SimGrid keeps one
// engine per process).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/NetZone.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/device.h"
#include "net/sim/clock.h"
#include "net/sim/device.h"

namespace gw::testing {

// Each host behind its own link of this rate and latency to one switch.
inline constexpr const char* kSimLinkRate = "1Gbps";
inline constexpr const char* kSimLinkLatency = "50us";

inline std::string SimHost(int i) { return "h" + std::to_string(i); }

// Runs body as an actor on `host` of the platform `build` makes (called on a made engine
// that has none), SimGrid configured by `cfg` (its --cfg= settings); returns when the
// simulation has ended. An exception out of the body fails the test.
inline void SimulateOn(const std::function<void()>& build, const std::string& host,
                       const std::function<void()>& body,
                       const std::vector<std::string>& cfg = {}) {
  namespace s4u = simgrid::s4u;
  std::vector<std::string> args = {"gw-test", "--log=root.thres:critical"};  // SimGrid quiet
  for (const auto& c : cfg) args.push_back("--cfg=" + c);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  s4u::Engine engine(&argc, argv.data());
  build();
  sim::RegisterSimTransport();
  sim::SimClock clock;
  SetClock(&clock);
  s4u::Actor::create("test", s4u::Host::by_name(host), [&] {
    try {
      body();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the test's actor threw: " << e.what();
    }
  });
  engine.run();
  SetClock(nullptr);
}

// Runs body as an actor on host h0 of a star of `hosts` hosts (h0, h1, ...); returns when the
// simulation has ended. An exception out of the body fails the test.
inline void Simulate(const std::function<void()>& body, int hosts = 4) {
  namespace s4u = simgrid::s4u;
  auto star = [hosts] {
    auto* zone = s4u::create_star_zone("star");
    for (int i = 0; i < hosts; ++i) {
      s4u::Host* h = zone->create_host(SimHost(i), "1Gf");
      s4u::Link* l = zone->create_split_duplex_link("link-" + SimHost(i), kSimLinkRate)
                         ->set_latency(kSimLinkLatency);
      zone->add_route(h->get_netpoint(), nullptr, nullptr, nullptr,
                      {{l, s4u::LinkInRoute::Direction::UP}}, true);
    }
    zone->seal();
  };
  SimulateOn(star, SimHost(0), body);
}

// Runs fn in an actor on `host` and waits (in simulated time) until it returns: a device
// made there lives on that host.
inline void RunOn(const std::string& host, const std::function<void()>& fn) {
  simgrid::s4u::Actor::create("on-" + host, simgrid::s4u::Host::by_name(host), fn)->join();
}

inline std::unique_ptr<Device> SimDeviceOn(const std::string& host, const DeviceOptions& o) {
  std::unique_ptr<Device> d;
  RunOn(host, [&] { d = CreateDevice(TransportKind::kSim, o); });
  return d;
}

inline Address SimAddress(const std::string& host, uint16_t port) {
  Address a;
  a.transport = TransportKind::kSim;
  a.host = host;
  a.port = port;
  return a;
}

inline double SimNow() { return simgrid::s4u::Engine::get_clock(); }

}  // namespace gw::testing
