#include "ps/server/inbound.h"

#include <iterator>
#include <utility>

namespace gw {

void Inbound::Push(Completion c) {
  if (Charged(c)) {
    const uint32_t w = c.peer.rank;
    bytes_[w] += Cost(c);
    if (bytes_[w] > kMaxBytesPerWorker && !over_[w]) {
      over_[w] = 1;
      newly_over_.push_back(w);
    }
  }
  queue_.push_back(std::move(c));
}

Completion Inbound::Pop() {
  Completion c = std::move(queue_.front());
  queue_.pop_front();
  if (Charged(c)) bytes_[c.peer.rank] -= Cost(c);
  return c;
}

std::vector<uint32_t> Inbound::TakeOverBound() { return std::exchange(newly_over_, {}); }

void Inbound::Drop(uint32_t w) {
  std::erase_if(queue_, [&](const Completion& c) { return Charged(c) && c.peer.rank == w; });
  bytes_[w] = 0;
  over_[w] = 0;
}

}  // namespace gw
