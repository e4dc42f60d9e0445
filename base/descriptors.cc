#include "base/descriptors.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace gw {

uint64_t DescriptorLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  return r.rlim_cur;
}

void EnsureDescriptors(uint64_t needed, const std::string& who) {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) {
    throw Error(who + ": cannot read the file descriptor limit: " + std::strerror(errno));
  }
  if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= needed) return;
  if (r.rlim_max == RLIM_INFINITY || r.rlim_max >= needed) {
    r.rlim_cur = needed;
    if (setrlimit(RLIMIT_NOFILE, &r) == 0) return;
  }
  throw Error(
      who + " needs " + std::to_string(needed) + " file descriptors (one per peer and " +
      std::to_string(kSpareDescriptors) + " for its files and the transport), but its limit is " +
      std::to_string(r.rlim_cur) + " (hard limit " +
      (r.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(r.rlim_max)) +
      "): raise it with `ulimit -n " + std::to_string(needed) +
      "` (or in /etc/security/limits.conf) before starting it");
}

}  // namespace gw
