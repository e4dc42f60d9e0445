#include "ps/workload/idx.h"

#include <zlib.h>

#include <cstdio>
#include <memory>

#include "base/error.h"

namespace gw {
namespace {

constexpr uint8_t kTypeUint8 = 0x08;
constexpr size_t kMaxDims = 3;

uint32_t ReadBigEndian32(std::span<const uint8_t> b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::unique_ptr<gzFile_s, decltype(&gzclose)> file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) throw Error(path + ": cannot open");
  std::vector<uint8_t> bytes;
  constexpr size_t kChunk = 1 << 20;
  for (;;) {
    const size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    const int n = gzread(file.get(), bytes.data() + old_size, kChunk);
    if (n < 0) {
      int errnum = 0;
      throw Error(path + ": read failed: " + gzerror(file.get(), &errnum));
    }
    bytes.resize(old_size + static_cast<size_t>(n));
    if (n == 0) return bytes;
  }
}

}  // namespace

IdxArray ParseIdx(std::span<const uint8_t> bytes) {
  if (bytes.size() < 4) throw Error("IDX: file too short for the magic number");
  const uint32_t magic = ReadBigEndian32(bytes);
  const size_t ndims = magic & 0xff;
  if ((magic >> 8) != kTypeUint8 || ndims == 0 || ndims > kMaxDims) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", magic);
    throw Error(std::string("IDX: bad magic number ") + hex +
                " (want 0x00000801..0x00000803: uint8 data, 1 to 3 dimensions)");
  }
  const size_t header = 4 + 4 * ndims;
  if (bytes.size() < header) throw Error("IDX: file too short for its dimensions");
  IdxArray array;
  std::string shape;
  for (size_t i = 0; i < ndims; ++i) {
    array.dims.push_back(ReadBigEndian32(bytes.subspan(4 + 4 * i)));
    shape += (i ? " x " : "") + std::to_string(array.dims.back());
  }
  const size_t payload = bytes.size() - header;
  size_t count = 1;
  bool fits = true;
  for (const uint32_t dim : array.dims) {
    if (dim == 0) throw Error("IDX: a dimension is zero (" + shape + ")");
    fits = fits && dim <= payload / count;  // count stays <= payload: no overflow
    if (fits) count *= dim;
  }
  if (!fits || count != payload) {
    throw Error("IDX: dimensions " + shape + " do not match the " + std::to_string(payload) +
                " data bytes in the file");
  }
  array.data.assign(bytes.begin() + header, bytes.end());
  return array;
}

IdxArray ReadIdxFile(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadAll(path);
  try {
    return ParseIdx(bytes);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace gw
