#include "base/zero_pages.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "base/error.h"
#include "base/huge_pages.h"

namespace gw {

namespace {

// mmap refuses a length of zero; an empty buffer still gets a page so data() is valid.
size_t MappedLength(size_t bytes) { return std::max<size_t>(bytes, 1); }

}  // namespace

ZeroPages::ZeroPages(size_t bytes) : size_(bytes) {
  // MAP_NORESERVE: untouched pages are not charged against the overcommit limit either, so a
  // thousand model-sized buffers that are never written can be mapped at once.
  void* p = mmap(nullptr, MappedLength(bytes), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    throw Error("cannot map " + std::to_string(bytes) + " bytes: " + std::strerror(errno));
  }
  data_ = static_cast<std::byte*>(p);
  AdviseHugePages(data_, size_);
}

ZeroPages::~ZeroPages() { Release(); }

ZeroPages::ZeroPages(ZeroPages&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

ZeroPages& ZeroPages::operator=(ZeroPages&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

std::span<float> ZeroPages::floats() const {
  return {reinterpret_cast<float*>(data_), size_ / sizeof(float)};
}

void ZeroPages::Release() {
  if (data_ != nullptr) munmap(data_, MappedLength(size_));
  data_ = nullptr;
  size_ = 0;
}

}  // namespace gw
