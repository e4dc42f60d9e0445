// The parameters a worker awaits, part by part: which of each server's parts landed for the
// iteration it expects, and when. A part counts once: a repeat, or a part the server does not
// have, is refused (it never completes the parameters).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "ps/layout.h"

namespace gw {

class LandedParts {
 public:
  explicit LandedParts(const ModelLayout& layout);

  // Server s's part p landed at `at`: false if p is not one of s's parts, or landed already.
  bool Land(uint32_t s, uint32_t p, TimePoint at);
  bool landed(uint32_t s, uint32_t p) const { return at_[s][p].has_value(); }
  // When it landed; only for a landed part.
  TimePoint at(uint32_t s, uint32_t p) const { return *at_[s][p]; }
  size_t count(uint32_t s) const { return count_[s]; }
  bool AllOf(uint32_t s) const { return count_[s] == at_[s].size(); }
  bool All() const;
  // Every one of these (server, part) pairs landed: the parameters a layer or tensor reads.
  bool AllOf(std::span<const std::pair<uint32_t, uint32_t>> parts) const;
  // The next iteration's parameters are awaited: none landed.
  void Clear();

 private:
  std::vector<std::vector<std::optional<TimePoint>>> at_;  // [server][part]
  std::vector<size_t> count_;                              // [server]
};

}  // namespace gw
