// IDX dataset files (ps/workload/idx.h ParseIdx), read from disk at start-up. A parsed array
// has 1 to 3 non-zero dimensions whose product is its element count, and that count is
// exactly the bytes after the header; a refused file says why in a gw::Error.
#include <cstring>
#include <string>

#include "base/error.h"
#include "ps/workload/idx.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = gw::fuzz::Bytes(data, size);
  gw::IdxArray array;
  try {
    array = gw::ParseIdx(bytes);
  } catch (const gw::Error& e) {
    FUZZ_CHECK(std::strlen(e.what()) > 0);
    return 0;
  }
  FUZZ_CHECK(size >= 4);
  const size_t ndims = data[3];
  FUZZ_CHECK(data[0] == 0 && data[1] == 0 && data[2] == 0x08);
  FUZZ_CHECK(ndims >= 1 && ndims <= 3 && array.dims.size() == ndims);
  const size_t header = 4 + 4 * ndims;
  FUZZ_CHECK(size >= header);
  unsigned __int128 count = 1;
  for (size_t i = 0; i < ndims; ++i) {
    const uint8_t* d = data + 4 + 4 * i;
    const uint32_t dim =
        (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
    FUZZ_CHECK(array.dims[i] == dim && dim > 0);
    count *= dim;
  }
  FUZZ_CHECK(count == array.data.size());
  FUZZ_CHECK(array.data.size() == size - header);
  FUZZ_CHECK(std::memcmp(array.data.data(), data + header, array.data.size()) == 0);
  return 0;
}
