// The push and landing columns of layers-W.csv (LayerRecord), for any cut of the model into
// ranges: a layered workload's layers (Backprop) or a Python model's tensors (TensorParts).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "ps/results.h"
#include "ps/worker/landed_parts.h"

namespace gw {

// How the layout's parts map to the ranges: part_range[s][p] is the range a write of server
// s's part p counts for (the one that completes it, or ranks it); range_parts[r] the (server,
// part) pairs holding some of range r (its parameters landed once all of them did).
struct RangeParts {
  const std::vector<std::vector<uint32_t>>& part_range;
  const std::vector<std::vector<std::pair<uint32_t, uint32_t>>>& range_parts;
};

// Each range's push start and end from one iteration's write records (their push started at
// `push_start`), and when its parameters for the next iteration landed (all of `landed`), as
// seconds since `start` in (*records)[r]. A write naming a part not in the map is skipped.
void RecordPushesAndLanding(std::span<const WriteRecord> writes, TimePoint push_start,
                            TimePoint start, const LandedParts& landed, const RangeParts& map,
                            std::vector<LayerRecord>* records);

}  // namespace gw
