// IDX files (the MNIST format): a big-endian header {0, 0, type, ndims}, ndims uint32 sizes,
// then the data. Only type 0x08 (uint8) is supported; e.g. magic 0x00000803 is [n, rows, cols]
// images and 0x00000801 is [n] labels.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gw {

struct IdxArray {
  std::vector<uint32_t> dims;  // outermost first
  std::vector<uint8_t> data;   // row-major, product(dims) bytes
};

// Pure parser over the whole file's bytes (fuzzable). Throws gw::Error on a bad magic, zero or
// more than 3 dimensions, or a data size that does not match the dimensions exactly.
IdxArray ParseIdx(std::span<const uint8_t> bytes);

// Reads a .gz or plain IDX file (zlib reads both); gw::Error messages name the file.
IdxArray ReadIdxFile(const std::string& path);

}  // namespace gw
