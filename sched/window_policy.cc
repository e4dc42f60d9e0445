#include "sched/window_policy.h"

#include <algorithm>

namespace gw::sched {

void GrantEveryWaiting(const WindowView& view, WindowOpener& opener) {
  for (uint32_t w = 0; w < view.workers.size(); ++w) {
    if (view.workers[w].waiting()) opener.Open(w, TimePoint::max(), /*ahead=*/false);
  }
}

bool AnyWaiting(const WindowView& view) {
  return std::any_of(view.workers.begin(), view.workers.end(),
                     [](const WindowWorker& x) { return x.waiting(); });
}

}  // namespace gw::sched
