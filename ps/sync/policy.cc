#include "ps/sync/policy.h"

#include <optional>

namespace gw {

uint64_t WorkerClocks::min_live() const {
  std::optional<uint64_t> min;
  for (uint32_t w = 0; w < size(); ++w) {
    if (live[w] && (!min || clock[w] < *min)) min = clock[w];
  }
  return min.value_or(0);
}

}  // namespace gw
