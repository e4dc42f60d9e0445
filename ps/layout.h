// How the flat model is cut into parts and how the parts are sharded over servers.
// Parts are contiguous ranges of at most part_floats floats; server s owns a contiguous run
// of parts (balanced by size), so each server's shard is one contiguous range too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gw {

struct Part {
  size_t begin = 0;  // first float (global index)
  size_t size = 0;   // floats
};

class ModelLayout {
 public:
  // Throws gw::Error if num_servers or part_floats is 0, there are more servers than parts
  // or more than Imm::kMaxParts parts per server. Part counts per server differ by at most
  // one, the larger counts on the last servers (the last, short part then evens out).
  ModelLayout(size_t num_params, size_t part_floats, uint32_t num_servers);
  // What the constructor refuses, without building the layout (a job is validated before
  // any process starts, whatever its number of servers).
  static void Check(size_t num_params, size_t part_floats, uint32_t num_servers);

  size_t num_params() const { return num_params_; }
  uint32_t num_servers() const { return static_cast<uint32_t>(shard_begin_.size()); }
  // Server s's shard: [shard_begin(s), shard_begin(s) + shard_size(s)).
  size_t shard_begin(uint32_t s) const { return shard_begin_[s]; }
  size_t shard_size(uint32_t s) const { return shard_size_[s]; }
  // Parts of server s, with begin relative to the whole model.
  const std::vector<Part>& parts(uint32_t s) const { return parts_[s]; }

 private:
  size_t num_params_;
  std::vector<size_t> shard_begin_, shard_size_;
  std::vector<std::vector<Part>> parts_;
};

}  // namespace gw
