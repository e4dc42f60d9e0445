// Large buffers (a model, a gradient, a slot) backed by 2 MiB transparent huge pages where the
// kernel allows: first-touch page faults and TLB misses drop 512-fold. Faults are dear in a VM
// (a 2-worker ResNet-50 job spent most of its start-up in them here), and copies of tens of MiB
// through loopback spend a large share of their time on TLB misses. THP is often
// madvise-only, so the advice must come before the first touch.
#pragma once

#include <cstddef>
#include <vector>

namespace gw {

inline constexpr size_t kHugePage = size_t{2} << 20;

// Advises [p, p + bytes), rounded inward to whole huge pages, for huge pages; nothing below
// one. Advice only: the kernel may ignore it.
void AdviseHugePages(void* p, size_t bytes);

// n zeroed floats whose storage was advised before it was first touched.
std::vector<float> HugeZeroedFloats(size_t n);

}  // namespace gw
