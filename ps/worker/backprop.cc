#include "ps/worker/backprop.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "base/error.h"
#include "ps/worker/model_ranges.h"
#include "ps/worker/range_records.h"

namespace gw {
namespace {

double SecondsBetween(TimePoint from, TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

Duration Scaled(Duration d, double scale) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(d) * scale);
}

}  // namespace

Backprop::Backprop(std::span<const WorkloadLayer> layers, const ModelLayout& layout)
    : layers_(layers.begin(), layers.end()),
      part_layer_(layout.num_servers()),
      layer_parts_(layers.size()),
      ready_at_(layers.size()),
      layer_bytes_(layers.size(), 0) {
  CheckRangesTileModel(layers, layout, "layers",
                       [](const WorkloadLayer& l) { return "layer '" + l.name + "'"; });
  for (uint32_t s = 0; s < layout.num_servers(); ++s) {
    const auto& parts = layout.parts(s);
    for (uint32_t p = 0; p < parts.size(); ++p) {
      // The layer holding the part's first float: the last one with begin <= it.
      const auto after =
          std::upper_bound(layers_.begin(), layers_.end(), parts[p].begin,
                           [](size_t at, const WorkloadLayer& l) { return at < l.begin; });
      const auto layer = static_cast<uint32_t>(after - layers_.begin() - 1);
      part_layer_[s].push_back(layer);
      ready_at_[layer].emplace_back(s, p);
      layer_bytes_[layer] += parts[p].size * sizeof(float);
      // Layers from that one on, up to the one holding the part's last float.
      for (size_t l = layer;
           l < layers_.size() && layers_[l].begin < parts[p].begin + parts[p].size; ++l) {
        layer_parts_[l].emplace_back(s, p);
      }
    }
  }
}

TimePoint Backprop::Forward(WorkerSession& session, const LandedParts& landed, uint64_t it,
                            TimePoint start, double scale, std::vector<LayerRecord>* records,
                            double* waited_s) const {
  records->assign(layers_.size(), LayerRecord{});
  *waited_s = 0;
  // Deadlines are absolute: a late wake-up shortens the next layer instead of adding up. The
  // records are when each pass actually ended (a busy worker wakes late).
  const Clock& clock = GetClock();
  TimePoint at = start;
  for (size_t l = 0; l < layers_.size(); ++l) {
    LayerRecord& r = (*records)[l];
    r.layer = static_cast<uint32_t>(l);
    r.bytes = layer_bytes_[l];
    const auto& parts = layer_parts_[l];
    const auto here = [&] { return landed.AllOf(parts); };
    if (!here()) {
      const TimePoint before = clock.Now();
      session.WaitUntil(
          here, "layer " + layers_[l].name + "'s parameters for iteration " + std::to_string(it));
      *waited_s += clock.SecondsSince(before);
      at = std::max(at, clock.Now());
    }
    r.forward_start_s = SecondsBetween(start, std::max(at, clock.Now()));
    at += Scaled(layers_[l].forward, scale);
    session.ComputeUntil(at);
    r.forward_end_s = SecondsBetween(start, clock.Now());
  }
  return at;
}

void Backprop::Backward(WorkerSession& session, std::vector<GatedPush>& pushes, TimePoint at,
                        TimePoint start, double scale, bool overlap,
                        std::vector<LayerRecord>* records) const {
  const Clock& clock = GetClock();
  for (size_t l = layers_.size(); l-- > 0;) {
    at += Scaled(layers_[l].backward, scale);
    session.ComputeUntil(at);
    (*records)[l].backward_end_s = SecondsBetween(start, clock.Now());
    if (overlap) MakeReady(l, pushes);
  }
  if (!overlap) {
    for (size_t l = layers_.size(); l-- > 0;) MakeReady(l, pushes);
  }
}

void Backprop::MakeReady(size_t layer, std::vector<GatedPush>& pushes) const {
  const TimePoint now = GetClock().Now();
  for (const auto& [s, p] : ready_at_[layer]) pushes[s].Ready(p, now);
}

void Backprop::Finish(std::span<const WriteRecord> writes, TimePoint push_start, TimePoint start,
                      const LandedParts& landed, std::vector<LayerRecord>* records) const {
  RecordPushesAndLanding(writes, push_start, start, landed, {part_layer_, layer_parts_}, records);
}

}  // namespace gw
