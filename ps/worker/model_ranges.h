// The model's floats as a run of ranges: a layered workload's layers (Backprop), a Python
// model's tensors (TensorParts). Both map ranges to the layout's parts and need the ranges to
// tile the model, which the workload, not a peer, decides: a gap is a bug here (internal).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/error.h"
#include "ps/layout.h"

namespace gw {

// gw::Error unless `ranges` (anything with begin and size, in floats) follow one another from
// float 0, none empty, and end at the model's end. name_of(range) names the one out of place
// ("layer 'fc1'"), `plural` all of them ("layers").
template <typename Range, typename NameOf>
void CheckRangesTileModel(std::span<const Range> ranges, const ModelLayout& layout,
                          const std::string& plural, NameOf name_of) {
  size_t next = 0;
  for (const Range& r : ranges) {
    if (r.begin != next || r.size == 0) {
      throw Error("internal: " + name_of(r) + " does not follow the previous one");
    }
    next += r.size;
  }
  if (next != layout.num_params()) {
    throw Error("internal: the " + plural + " hold " + std::to_string(next) +
                " floats, the model " + std::to_string(layout.num_params()));
  }
}

}  // namespace gw
