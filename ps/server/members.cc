#include "ps/server/members.h"

#include <algorithm>
#include <utility>

#include "ps/roles.h"

namespace gw {

std::optional<std::string> Members::Join(uint32_t w, const std::optional<JoinMsg>& join,
                                         const JobConfig& job, size_t input_floats,
                                         std::shared_ptr<Connection> conn) {
  if (!join) return "malformed join message";
  if (join->fingerprint != job.Fingerprint()) {
    return "worker " + std::to_string(w) +
           " runs a different job configuration (flags differ from the server's: " +
           job.Describe() + ")";
  }
  Member& m = members_[w];
  if (m.joined) return "worker " + std::to_string(w) + " joined twice";
  // Given up before it joined (the job went on without it): counted out, not in again.
  if (m.lost) return "worker " + std::to_string(w) + " joined after the job gave up on it";
  if (join->params.length != input_floats * sizeof(float)) {
    return "parameter region of the wrong size";
  }
  m.joined = true;
  m.params = join->params;
  m.conn = std::move(conn);
  ++joined_;
  return std::nullopt;
}

void Members::NeverJoins(uint32_t w) {
  if (!members_[w].joined) ++joined_;
}

bool Members::Finished() const {
  if (!all_joined()) return false;
  for (const auto& m : members_) {
    if (!m.done && !m.lost) return false;
  }
  return true;
}

bool Members::AnyDone() const {
  return std::any_of(members_.begin(), members_.end(), [](const Member& m) { return m.done; });
}

std::string Members::Laggards(const SyncRule& rule) const {
  std::string who;
  size_t named = 0, more = 0;
  for (uint32_t w = 0; w < members_.size(); ++w) {
    const Member& m = members_[w];
    if (m.done || m.lost) continue;
    std::string line;
    if (!m.joined) {
      line = " worker " + std::to_string(w) + " never joined;";
    } else if (rule.clock(w) == rule.min_live_clock()) {
      line = " worker " + std::to_string(w) + " is at iteration " + std::to_string(rule.clock(w)) +
             ";";
    }
    if (line.empty()) continue;
    if (named++ < kLaggardsNamed) {
      who += line;
    } else {
      ++more;
    }
  }
  if (more > 0) who += " and " + std::to_string(more) + " more;";
  return who;
}

std::vector<std::span<const float>> Members::RegisterSlots(Device& dev, size_t floats) {
  std::vector<std::span<const float>> slots;
  for (uint32_t w = 0; w < members_.size(); ++w) {
    members_[w].slot = &dev.RegisterRegion(floats * sizeof(float), {Role::kWorker, w});
    slots.push_back(members_[w].slot->as<const float>());
  }
  return slots;
}

void Members::Send(const WindowDesk::Grants& grants) {
  for (const auto& g : grants) {
    const auto& conn = members_[g.worker].conn;
    // A grant must not wait behind the parameters queued for that worker: the link it opens
    // would idle meanwhile.
    if (conn) conn->SendAhead(static_cast<uint16_t>(MsgType::kWindowGrant), Encode(g.msg));
  }
}

void Members::AbortAll(const std::string& why) {
  for (auto& m : members_) {
    if (m.conn && m.conn->open()) {
      m.conn->Send(static_cast<uint16_t>(MsgType::kAbort), EncodeText(why));
    }
  }
}

}  // namespace gw
