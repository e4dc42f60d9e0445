#include "base/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace gw {

void AdviseHugePages(void* p, size_t bytes) {
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (begin + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t last = (begin + bytes) / kHugePage * kHugePage;
  if (last <= first) return;
  madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);  // advice only
}

std::vector<float> HugeZeroedFloats(size_t n) {
  std::vector<float> v;
  v.reserve(n);  // allocated, not touched yet
  AdviseHugePages(v.data(), n * sizeof(float));
  v.resize(n);
  return v;
}

}  // namespace gw
