#include "net/sim/clos.h"

#include <algorithm>
#include <utility>

namespace gw::sim {

ClosFabric::ClosFabric(const Topology& t, uint32_t hosts, std::vector<std::string> host_names)
    : kind_(t.kind), hosts_(hosts) {
  for (uint32_t h = 0; h < hosts; ++h) {
    links_.push_back({"link-" + host_names[h], t.rate_bps});
  }
  edge_agg_base_ = hosts;
  if (kind_ == Topology::Kind::kFatTree) {
    half_k_ = t.k / 2;
    const uint32_t per_pod = half_k_ * half_k_;
    pods_ = (hosts + per_pod - 1) / per_pod;
    for (uint32_t p = 0; p < pods_; ++p) {
      for (uint32_t e = 0; e < half_k_; ++e) {
        for (uint32_t a = 0; a < half_k_; ++a) {
          links_.push_back({"pod-" + std::to_string(p) + "-edge-" + std::to_string(e) + "-agg-" +
                                std::to_string(a),
                            t.rate_bps});
        }
      }
    }
    agg_core_base_ = static_cast<uint32_t>(links_.size());
    for (uint32_t p = 0; p < pods_; ++p) {
      for (uint32_t a = 0; a < half_k_; ++a) {
        for (uint32_t j = 0; j < half_k_; ++j) {
          links_.push_back({"pod-" + std::to_string(p) + "-agg-" + std::to_string(a) + "-core-" +
                                std::to_string(a * half_k_ + j),
                            t.rate_bps});
        }
      }
    }
  } else {
    leaves_ = std::min(t.leaves, hosts);
    spines_ = t.spines;
    const uint32_t per_leaf = (hosts + t.leaves - 1) / t.leaves;
    const double uplink = t.rate_bps * per_leaf / (t.oversubscription * t.spines);
    for (uint32_t l = 0; l < leaves_; ++l) {
      for (uint32_t s = 0; s < spines_; ++s) {
        links_.push_back({"leaf-" + std::to_string(l) + "-spine-" + std::to_string(s), uplink});
      }
    }
  }
}

uint32_t ClosFabric::SwitchOf(uint32_t h) const {
  return kind_ == Topology::Kind::kFatTree ? h / half_k_ : h % leaves_;
}

uint32_t ClosFabric::PortOf(uint32_t h) const {
  return kind_ == Topology::Kind::kFatTree ? h % half_k_ : h / leaves_;
}

ClosRoute ClosFabric::Route(uint32_t src, uint32_t dst) const {
  if (SwitchOf(src) == SwitchOf(dst)) {  // through their own switch (a host to itself too)
    ClosRoute r;
    r.Add(src, true);
    r.Add(dst, false);
    return r;
  }
  return kind_ == Topology::Kind::kFatTree ? FatTreeRoute(src, dst) : LeafSpineRoute(src, dst);
}

ClosRoute ClosFabric::FatTreeRoute(uint32_t src, uint32_t dst) const {
  const uint32_t h = half_k_;
  const uint32_t src_edge = SwitchOf(src), dst_edge = SwitchOf(dst);  // pod * h + edge
  const uint32_t src_pod = src_edge / h, dst_pod = dst_edge / h;
  const uint32_t x = (src + dst) % (h * h);
  const uint32_t agg = x % h, core = x / h;  // core `core` of aggregation switch `agg`
  auto edge_agg = [&](uint32_t edge) { return edge_agg_base_ + edge * h + agg; };
  auto agg_core = [&](uint32_t pod) { return agg_core_base_ + (pod * h + agg) * h + core; };
  ClosRoute r;
  r.Add(src, true);
  r.Add(edge_agg(src_edge), true);
  if (src_pod != dst_pod) {
    r.Add(agg_core(src_pod), true);
    r.Add(agg_core(dst_pod), false);
  }
  r.Add(edge_agg(dst_edge), false);
  r.Add(dst, false);
  return r;
}

ClosRoute ClosFabric::LeafSpineRoute(uint32_t src, uint32_t dst) const {
  const uint32_t spine = (PortOf(src) + PortOf(dst)) % spines_;
  ClosRoute r;
  r.Add(src, true);
  r.Add(edge_agg_base_ + SwitchOf(src) * spines_ + spine, true);
  r.Add(edge_agg_base_ + SwitchOf(dst) * spines_ + spine, false);
  r.Add(dst, false);
  return r;
}

}  // namespace gw::sim
