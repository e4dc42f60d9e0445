// FNV-1a, 64 bits: a digest that is the same in every process and on every host (std::hash is
// not), for what processes compare rather than protect (a job's description, a layout file's
// content): not a cryptographic hash.
#pragma once

#include <cstdint>
#include <string_view>

namespace gw {

inline constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ull;
inline constexpr uint64_t kFnvPrime = 1099511628211ull;

// The digest of `bytes` continued from `h` (so a long input can be fed in pieces).
constexpr uint64_t Fnv1a64(std::string_view bytes, uint64_t h = kFnvOffsetBasis) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

static_assert(Fnv1a64("") == kFnvOffsetBasis);
static_assert(Fnv1a64("a") == 0xaf63dc4c8601ec8cull);  // the published FNV-1a test vector

}  // namespace gw
