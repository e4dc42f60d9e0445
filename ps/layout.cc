#include "ps/layout.h"

#include <algorithm>
#include <string>

#include "base/error.h"
#include "ps/imm.h"

namespace gw {

void ModelLayout::Check(size_t num_params, size_t part_floats, uint32_t num_servers) {
  if (num_servers == 0) throw Error("model layout: need at least one server");
  if (part_floats == 0) throw Error("model layout: parts must hold at least one float");
  const size_t num_parts = (num_params + part_floats - 1) / part_floats;
  if (num_parts < num_servers) {
    throw Error("model layout: " + std::to_string(num_params) + " parameters make " +
                std::to_string(num_parts) + " parts of " + std::to_string(part_floats) +
                " floats, fewer than the " + std::to_string(num_servers) +
                " servers; lower --part-bytes or use fewer servers");
  }
  const size_t base = num_parts / num_servers, extra = num_parts % num_servers;
  if (base + (extra ? 1 : 0) > Imm::kMaxParts) {
    throw Error("model layout: " + std::to_string(num_parts) + " parts over " +
                std::to_string(num_servers) + " servers exceed " + std::to_string(Imm::kMaxParts) +
                " parts per server; raise --part-bytes or add servers");
  }
}

// Every part holds part_floats floats except possibly the last, so balancing by floats means
// part counts differ by at most one, with the extra parts on the last servers: the server
// holding the short final part then also holds an extra one when there is one to give.
ModelLayout::ModelLayout(size_t num_params, size_t part_floats, uint32_t num_servers)
    : num_params_(num_params) {
  Check(num_params, part_floats, num_servers);
  const size_t num_parts = (num_params + part_floats - 1) / part_floats;
  const size_t base = num_parts / num_servers, extra = num_parts % num_servers;
  shard_begin_.resize(num_servers);
  shard_size_.resize(num_servers);
  parts_.resize(num_servers);
  size_t begin = 0;
  for (uint32_t s = 0; s < num_servers; ++s) {
    shard_begin_[s] = begin;
    const size_t count = base + (s >= num_servers - extra ? 1 : 0);
    for (size_t i = 0; i < count; ++i) {
      const size_t size = std::min(part_floats, num_params - begin);
      parts_[s].push_back({begin, size});
      begin += size;
    }
    shard_size_[s] = begin - shard_begin_[s];
  }
}

}  // namespace gw
