// Errors of the control path (set-up, bad flags, refused connections). The hot path never
// throws: a failure there becomes a Completion with an error status for that one peer.
#pragma once

#include <stdexcept>
#include <string>

namespace gw {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace gw
