#include "ps/worker/range_records.h"

#include <algorithm>
#include <chrono>

namespace gw {

void RecordPushesAndLanding(std::span<const WriteRecord> writes, TimePoint push_start,
                            TimePoint start, const LandedParts& landed, const RangeParts& map,
                            std::vector<LayerRecord>* records) {
  const auto since_start = [&](TimePoint t) {
    return std::chrono::duration<double>(t - start).count();
  };
  const double offset = since_start(push_start);
  std::vector<bool> seen(records->size(), false);
  for (const WriteRecord& w : writes) {
    if (w.server >= map.part_range.size() || w.part >= map.part_range[w.server].size()) continue;
    const uint32_t r = map.part_range[w.server][w.part];
    if (r >= records->size()) continue;
    LayerRecord& rec = (*records)[r];
    const double posted = offset + w.gate_s + w.queued_s;
    const double done = posted + w.wire_s;
    rec.push_start_s = seen[r] ? std::min(rec.push_start_s, posted) : posted;
    rec.push_end_s = seen[r] ? std::max(rec.push_end_s, done) : done;
    seen[r] = true;
  }
  for (size_t r = 0; r < records->size() && r < map.range_parts.size(); ++r) {
    LayerRecord& rec = (*records)[r];
    for (const auto& [s, p] : map.range_parts[r]) {
      if (landed.landed(s, p)) rec.params_s = std::max(rec.params_s, since_start(landed.at(s, p)));
    }
  }
}

}  // namespace gw
