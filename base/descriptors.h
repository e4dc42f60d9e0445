// File descriptors: a process that talks to N peers needs N sockets plus a few for its files,
// the transport's event channels and the logs. Checked (and the soft limit raised, up to the
// hard one) before anything starts, so a too-low `ulimit -n` is one clear error up front and
// not an accept loop failing at the (N+1)-th peer.
#pragma once

#include <cstdint>
#include <string>

namespace gw {

// Descriptors a process uses besides one per peer: the standard streams, the transport's
// epoll, event fds and listener (5 for a TCP server before any peer, measured in
// /proc/PID/fd), CSVs and checkpoints while written, RDMA's device and channels: 64 leaves
// room for all of them.
inline constexpr uint64_t kSpareDescriptors = 64;

// Makes sure this process may open `needed` descriptors: raises the soft RLIMIT_NOFILE to
// `needed` if it is lower and the hard limit allows. Throws gw::Error naming `who`, what is
// needed and how to raise the limit otherwise.
void EnsureDescriptors(uint64_t needed, const std::string& who);

// The soft limit now (for messages).
uint64_t DescriptorLimit();

}  // namespace gw
