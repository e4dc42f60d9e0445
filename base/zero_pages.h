// Fresh anonymous memory that is zero without being touched: the kernel fills a page with
// zeros on its first write, and a read of a page never written maps the shared zero page.
// A buffer nobody writes costs address space, not memory: a simulation of a thousand workers
// with phantom payloads (gradwire sim --phantom-payloads) holds a model-sized gradient and
// parameter buffer per worker and a slot per worker on each server, and touches none of them.
// A std::vector<float> of the same size writes every float on construction.
#pragma once

#include <cstddef>
#include <span>

namespace gw {

class ZeroPages {
 public:
  ZeroPages() = default;
  // bytes of zeroed memory, advised for huge pages (base/huge_pages.h) before any touch.
  // Throws gw::Error when the address space is exhausted.
  explicit ZeroPages(size_t bytes);
  ~ZeroPages();
  ZeroPages(ZeroPages&& other) noexcept;
  ZeroPages& operator=(ZeroPages&& other) noexcept;
  ZeroPages(const ZeroPages&) = delete;
  ZeroPages& operator=(const ZeroPages&) = delete;

  std::span<std::byte> bytes() const { return {data_, size_}; }
  // The memory as floats (bytes() rounded down to whole floats).
  std::span<float> floats() const;

 private:
  void Release();

  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gw
