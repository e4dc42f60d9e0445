// Checkpoint files (ps/checkpoint.h ReadCheckpoint), read from disk when a server resumes:
// input like a peer's bytes. A refused file says why in a gw::Error; an accepted one is
// exactly its header's sections (job text, parameters, velocity), all finite, within the
// shard bound it was read with.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.h"
#include "ps/checkpoint.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// The bound a 1000-parameter shard reads with: a header claiming more is refused unread.
constexpr uint64_t kShardFloats = 1000;
// The fixed header's size (ps/checkpoint.cc).
constexpr size_t kHeaderBytes = 88;

std::filesystem::path dir;
std::string path;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dir = std::filesystem::temp_directory_path() /
        ("gradwire-checkpoint-fuzz-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  path = (dir / "server-0-000000000001.ckpt").string();
  // Nothing left behind when the run ends.
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  gw::Checkpoint c;
  try {
    c = gw::ReadCheckpoint(path, kShardFloats);
  } catch (const gw::Error& e) {
    FUZZ_CHECK(std::string(e.what()).find(path) != std::string::npos);
    return 0;
  }
  FUZZ_CHECK(size >= kHeaderBytes && std::memcmp(data, "GWCKPT\r\n", 8) == 0);
  FUZZ_CHECK(c.params.size() <= kShardFloats && c.velocity.size() <= kShardFloats);
  FUZZ_CHECK(kHeaderBytes + c.job.size() + (c.params.size() + c.velocity.size()) * 4 == size);
  FUZZ_CHECK(std::memcmp(c.job.data(), data + kHeaderBytes, c.job.size()) == 0);
  for (float x : c.params) FUZZ_CHECK(std::isfinite(x));
  for (float x : c.velocity) FUZZ_CHECK(std::isfinite(x));
  return 0;
}
