#include "ps/worker/reconnect.h"

#include <algorithm>
#include <string>

#include "base/error.h"
#include "base/log.h"

namespace gw {

void Reconnector::Reconnect(const ServerLost& lost, uint64_t it) {
  const Clock& clock = GetClock();
  if (!deadline_) deadline_ = clock.Now() + timeout_;
  const TimePoint deadline = *deadline_;
  const std::string bound = std::to_string(timeout_.count()) + " ms";
  // The bound holds until parameters arrive again, not until a connection does: a server
  // that accepts and welcomes, then drops us, must not keep us reconnecting forever.
  if (clock.Now() > deadline) {
    throw Error("lost server " + std::to_string(lost.server) + " again (" + lost.why +
                ") and got no parameters from it within " + bound + " of reconnecting");
  }
  GW_WARN("lost server " << lost.server << " in iteration " << it << " (" << lost.why
                         << "); reconnecting for up to " << bound);
  reconnected_ = true;
  session_.AbortAll("reconnecting after losing a server");
  // Each old connection's close is awaited: no completion of one is taken for its
  // successor's (the rest of them are dropped with it).
  while (!session_.AllClosed()) {
    if (clock.Now() > deadline) throw Error("old server connections did not close in " + bound);
    session_.DropAllButCloses(WorkerSession::kPollInterval);
  }
  session_.ForgetConnections();
  const TimePoint start = clock.Now();
  for (uint32_t s = 0; s < session_.num_servers(); ++s) {
    ConnectWithBackoff(s, deadline, start, bound);
    session_.SendJoin(s);
  }
  session_.WaitWelcomes("welcome from every server after reconnecting");
  GW_INFO("reconnected to " << session_.num_servers() << " server(s) in "
                            << clock.SecondsSince(start) << " s");
}

void Reconnector::ConnectWithBackoff(uint32_t server, TimePoint deadline, TimePoint start,
                                     const std::string& bound) {
  Clock& clock = GetClock();
  std::chrono::milliseconds backoff = kFirstBackoff;
  for (int attempt = 1;; ++attempt) {
    try {
      // Connect itself retries a refused connection for the device's connect timeout.
      session_.Connect(server);
      return;
    } catch (const Error& e) {
      if (clock.Now() + backoff >= deadline) {
        throw Error("could not reconnect to server " + std::to_string(server) + " at " +
                    session_.address(server).ToString() + " within " + bound + ": " + e.what());
      }
      GW_INFO("still reconnecting to server " << server << " (attempt " << attempt << ", "
                                              << clock.SecondsSince(start) << " s): " << e.what());
      clock.SleepFor(backoff);
      backoff = std::min(2 * backoff, kMaxBackoff);
    }
  }
}

}  // namespace gw
