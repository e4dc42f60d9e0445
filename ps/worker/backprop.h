// One iteration of a layered workload's compute (ps/workload/workload.h WorkloadLayer) as real
// training runs it: the forward pass layer by layer, each layer as soon as its own parameters
// landed (the rest of the model may still be on the wire), then the backward pass last layer
// first, each layer's gradient parts made ready on their servers' pushes the moment its
// backward pass ends (wait-free backprop, Zhang et al., ATC 2017). Communication goes on
// throughout: the compute is emulated with WorkerSession::ComputeUntil, which keeps handling
// completions.
//
// A layout part is produced whole when the layer holding its first float finishes backward
// (the rest of the part belongs to later layers, which finished earlier): that layer is the
// part's priority, and when it becomes ready.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "ps/gated_push.h"
#include "ps/layout.h"
#include "ps/results.h"
#include "ps/worker/landed_parts.h"
#include "ps/worker/session.h"
#include "ps/workload/workload.h"

namespace gw {

class Backprop {
 public:
  // layers cover layout's model in order (gw::Error otherwise).
  Backprop(std::span<const WorkloadLayer> layers, const ModelLayout& layout);

  size_t num_layers() const { return layers_.size(); }
  // The layer whose backward pass completes server s's part p (its push priority).
  uint32_t PartLayer(uint32_t s, uint32_t p) const { return part_layer_[s][p]; }
  // The (server, part) pairs holding some of layer l's parameters: its forward pass waits
  // for them.
  const std::vector<std::pair<uint32_t, uint32_t>>& LayerParts(size_t l) const {
    return layer_parts_[l];
  }

  // The forward pass from `start`, every layer's time scaled by `scale` (rows / nominal
  // batch), each layer once its parts in `landed` (the parameters of iteration `it`, landing
  // meanwhile) are all there. Fills each layer's forward times in *records (one per layer,
  // seconds since `start`) and returns when its compute ended; *waited_s: the seconds it waited
  // for parameters. Throws ServerLost as WorkerSession::WaitUntil does.
  TimePoint Forward(WorkerSession& session, const LandedParts& landed, uint64_t it, TimePoint start,
                    double scale, std::vector<LayerRecord>* records, double* waited_s) const;
  // The backward pass from `at` (now or later). pushes[s] must have begun, with server s's
  // parts added in layout order; each part is made ready as backward produces it (overlap), or
  // all of them once backward ended (no overlap: the baseline). Fills each layer's
  // backward_end_s in *records (seconds since `start`).
  void Backward(WorkerSession& session, std::vector<GatedPush>& pushes, TimePoint at,
                TimePoint start, double scale, bool overlap,
                std::vector<LayerRecord>* records) const;

  // Each layer's push start and end, from the pushes' write records of this iteration
  // (with their push started at `push_start`), and when its parameters for the next
  // iteration landed (all of `landed`), as seconds since `start`.
  void Finish(std::span<const WriteRecord> writes, TimePoint push_start, TimePoint start,
              const LandedParts& landed, std::vector<LayerRecord>* records) const;

 private:
  // Server s's parts that layer l's backward pass completes, ready to push.
  void MakeReady(size_t layer, std::vector<GatedPush>& pushes) const;

  std::vector<WorkloadLayer> layers_;
  std::vector<std::vector<uint32_t>> part_layer_;  // [server][part] -> layer
  // [layer] -> (server, part) pairs holding some of its floats
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> layer_parts_;
  // [layer] -> (server, part) pairs its backward pass completes
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> ready_at_;
  std::vector<uint64_t> layer_bytes_;
};

}  // namespace gw
