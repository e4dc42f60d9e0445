// What the fuzz targets share: a property check that stops the run with a message (libFuzzer
// then saves the input as the reproducer), and a view of the input as text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string_view>

// A violated property: print it and trap, which libFuzzer reports as a crash.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                  \
    }                                                                                    \
  } while (0)

namespace gw::fuzz {

inline std::span<const uint8_t> Bytes(const uint8_t* data, size_t size) { return {data, size}; }

inline std::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace gw::fuzz
