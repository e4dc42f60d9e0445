// Fault injection for the fault tests: a worker that SIGKILLs (or SIGSTOPs) itself at one
// point of one push, so "killed before / during / after its write" or "stalled at iteration
// I" is a precise, repeatable moment and not a race against a signal sent from outside.
#pragma once

#include <cstdint>
#include <string>

namespace gw {

struct InjectedFault {
  enum class Point : uint8_t {
    kNever,
    kBeforePush,   // before the iteration's first write (or window request) is posted
    kMidPush,      // once some, not all, of the push's writes are done (ps/worker/fault_points.h)
    kAfterPush,    // once all of the push's writes are done, before the next pull
    kStop,         // SIGSTOP before the push (alive to the transport, silent to the server);
                   // coded jobs with windows: in the middle of the first message push of
                   // round I or later (the first it gets to push before its round closes)
    kStopMidPull,  // SIGSTOP once some, not all, of iteration I's parameters have landed:
                   // the server's writes then meet a reader that does not read
    kDoneEarly,    // before the push of iteration I, tell every server it is done and end
                   // as if finished (exit 0): a worker that quits or lies about finishing
    kNanGradient,  // push NaN as the gradient from iteration I on (a poisoned or diverged worker;
                   // coded jobs: every message from round I on)
  };
  Point point = Point::kNever;
  uint64_t iteration = 0;

  // "kill-before-push:I", "kill-mid-push:I", "kill-after-push:I", "stop:I",
  // "stop-mid-pull:I", "done-early:I", "nan-gradient:I" or "never".
  // Throws gw::Error saying what is accepted.
  static InjectedFault Parse(const std::string& text);
  bool At(Point p, uint64_t it) const { return point == p && iteration == it; }
};

}  // namespace gw
