#include "net/sim/clos_zone.h"

#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>
#include <utility>

#include "net/sim/clos.h"

namespace gw::sim {

namespace {

namespace s4u = simgrid::s4u;
using simgrid::kernel::resource::StandardLinkImpl;
using simgrid::kernel::routing::NetPoint;

// The routes are computed per transfer from the hosts' numbers: memory grows with the links,
// not with the pairs.
class ClosZone final : public simgrid::kernel::routing::NetZoneImpl {
 public:
  ClosZone(const std::string& name, ClosFabric fabric, double latency_s)
      : NetZoneImpl(name), fabric_(std::move(fabric)), latency_s_(latency_s) {}

  void AddLinks() {
    for (const ClosLink& link : fabric_.links()) {
      s4u::SplitDuplexLink* l = get_iface()->create_split_duplex_link(link.name, link.rate_bps / 8);
      l->set_latency(latency_s_)->seal();
      up_.push_back(l->get_link_up()->get_impl());
      down_.push_back(l->get_link_down()->get_impl());
    }
  }

  void AddHost(const std::string& name, const std::string& speed) {
    s4u::Host* h = get_iface()->create_host(name, speed)->seal();
    const unsigned long id = h->get_netpoint()->id();
    if (host_of_.size() <= id) host_of_.resize(id + 1);
    host_of_[id] = next_host_++;
  }

  void get_local_route(const NetPoint* src, const NetPoint* dst,
                       simgrid::kernel::routing::Route* into, double* latency) override {
    const ClosRoute r = fabric_.Route(host_of_[src->id()], host_of_[dst->id()]);
    for (size_t i = 0; i < r.size; ++i) {
      const ClosHop& hop = r.hops[i];
      into->link_list_.push_back(hop.up ? up_[hop.link] : down_[hop.link]);
      if (latency != nullptr) *latency += latency_s_;
    }
  }

 private:
  ClosFabric fabric_;
  double latency_s_;
  std::vector<StandardLinkImpl*> up_, down_;  // by ClosFabric link number
  std::vector<uint32_t> host_of_;             // the fabric's host number, by netpoint id
  uint32_t next_host_ = 0;
};

}  // namespace

void BuildClosZone(const Topology& t, const std::vector<std::string>& host_names,
                   const std::string& host_speed) {
  // SimGrid owns its netzones: the engine deletes its root.
  auto* zone = new ClosZone(
      "fabric", ClosFabric(t, static_cast<uint32_t>(host_names.size()), host_names), t.latency_s);
  zone->AddLinks();
  for (const std::string& name : host_names) zone->AddHost(name, host_speed);
  zone->seal();
}

}  // namespace gw::sim
