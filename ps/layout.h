// How the flat model is cut into parts and how the parts are sharded over servers.
// The model is a run of segments (a layered workload's layers; one segment for the others);
// each segment is cut into parts of at most part_floats floats, full except the segment's last,
// so a part never straddles two segments: a layer's gradient is pushable as parts of its own
// the moment backprop hands it over. Server s owns a contiguous run of parts, so each server's
// shard is one contiguous range too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gw {

struct Part {
  size_t begin = 0;    // first float (global index)
  size_t size = 0;     // floats
  size_t segment = 0;  // the segment (a layered workload's layer, in forward order) it lies in
};

class ModelLayout {
 public:
  // One segment of num_params floats: every part is full but the model's last, so balancing
  // by size means part counts per server differ by at most one, the larger counts on the last
  // servers (the last, short part then evens out).
  ModelLayout(size_t num_params, size_t part_floats, uint32_t num_servers);
  // Segments of these sizes, in order (empty ones hold no part). The busiest server holds as
  // few floats as any split into contiguous runs of parts allows; with one segment the parts
  // and shards are exactly those of the constructor above.
  ModelLayout(std::span<const size_t> segments, size_t part_floats, uint32_t num_servers);
  // What the constructors refuse (gw::Error): num_servers or part_floats 0, more servers than
  // parts, or more than Imm::kMaxParts parts on a server (the message says to raise
  // --part-bytes). A job is validated with it before any process starts.
  static void Check(size_t num_params, size_t part_floats, uint32_t num_servers);
  static void Check(std::span<const size_t> segments, size_t part_floats, uint32_t num_servers);

  size_t num_params() const { return num_params_; }
  // Segments it was cut from (1 for a flat model; a layered workload's layer count).
  size_t num_segments() const { return num_segments_; }
  uint32_t num_servers() const { return static_cast<uint32_t>(shard_begin_.size()); }
  // Server s's shard: [shard_begin(s), shard_begin(s) + shard_size(s)).
  size_t shard_begin(uint32_t s) const { return shard_begin_[s]; }
  size_t shard_size(uint32_t s) const { return shard_size_[s]; }
  // Parts of server s, with begin relative to the whole model.
  const std::vector<Part>& parts(uint32_t s) const { return parts_[s]; }

 private:
  size_t num_params_ = 0;
  size_t num_segments_ = 1;
  std::vector<size_t> shard_begin_, shard_size_;
  std::vector<std::vector<Part>> parts_;
};

}  // namespace gw
