#include "ps/worker/fault_points.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "base/log.h"

namespace gw {

using Point = InjectedFault::Point;

void FaultPoints::BeforePush(uint64_t it) const {
  if (fault_.At(Point::kBeforePush, it)) Kill("before its push of iteration", it);
  if (fault_.At(Point::kStop, it)) {
    GW_WARN("--inject-fault: SIGSTOP before the push of iteration " << it);
    std::raise(SIGSTOP);  // until someone sends SIGCONT
  }
}

bool FaultPoints::EndsEarly(uint64_t it) const {
  if (!fault_.At(Point::kDoneEarly, it)) return false;
  GW_WARN("--inject-fault: done before iteration " << it);
  return true;
}

void FaultPoints::Poison(uint64_t it, std::span<float> grad) const {
  if (fault_.point != Point::kNanGradient || it < fault_.iteration) return;
  GW_WARN("--inject-fault: NaN as the gradient of iteration " << it);
  std::fill(grad.begin(), grad.end(), std::numeric_limits<float>::quiet_NaN());
}

void FaultPoints::MidPush(uint64_t it, size_t done) const {
  if (fault_.At(Point::kMidPush, it) && done > 0) {
    Kill("in the middle of its push of iteration", it);
  }
}

void FaultPoints::AfterPush(uint64_t it) const {
  if (fault_.At(Point::kAfterPush, it) || fault_.At(Point::kMidPush, it)) {
    Kill("after its push of iteration", it);
  }
}

void FaultPoints::MidPull(uint64_t it, size_t landed, size_t parts) {
  if (fault_.At(Point::kStopMidPull, it) && !pull_stopped_ && landed > 0 && landed < parts) {
    pull_stopped_ = true;
    GW_WARN("--inject-fault: SIGSTOP in the middle of the parameters of iteration " << it);
    std::raise(SIGSTOP);  // until someone sends SIGCONT
  }
}

void FaultPoints::MidMessagePush(uint64_t round, size_t done, bool finished) {
  if (fault_.point == Point::kStop && !coded_stopped_ && round >= fault_.iteration && done > 0 &&
      !finished) {
    coded_stopped_ = true;
    GW_WARN("--inject-fault: SIGSTOP in the middle of the push of round " << round);
    std::raise(SIGSTOP);  // until someone sends SIGCONT
  }
}

void FaultPoints::Kill(const char* where, uint64_t it) {
  GW_WARN("--inject-fault: SIGKILL " << where << " " << it);
  std::fflush(stderr);
  std::raise(SIGKILL);
  std::abort();  // not reached: SIGKILL cannot be caught
}

}  // namespace gw
