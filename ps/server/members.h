// Who is in the job, as the server core sees it: each worker's join (its connection and the
// memory it offered), whether it is done or lost, and the checks and messages about them
// (grants, aborts).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/device.h"
#include "ps/job.h"
#include "ps/messages.h"
#include "ps/server/window_desk.h"
#include "ps/sync_rule.h"

namespace gw {

class Members {
 public:
  struct Member {
    bool joined = false;
    bool done = false;
    bool lost = false;
    RemoteRegion params;  // the worker's memory for our shard (coded: its input)
    Region* slot = nullptr;
    std::shared_ptr<Connection> conn;
    // Joined and neither done nor lost: the server still writes to it.
    bool live() const { return joined && !done && !lost; }
  };

  explicit Members(uint32_t num_workers) : members_(num_workers) {}
  Member& operator[](uint32_t w) { return members_[w]; }
  const Member& operator[](uint32_t w) const { return members_[w]; }
  auto begin() { return members_.begin(); }
  auto end() { return members_.end(); }

  // Worker w's join message: nullopt once it joined, else why it is refused. input_floats:
  // the size its parameter (coded: input) region must have.
  std::optional<std::string> Join(uint32_t w, const std::optional<JoinMsg>& join,
                                  const JobConfig& job, size_t input_floats,
                                  std::shared_ptr<Connection> conn);
  // Worker w is lost: if it never joined, the join count no longer waits for it.
  void NeverJoins(uint32_t w);
  uint32_t joined() const { return joined_; }
  bool all_joined() const { return joined_ == members_.size(); }
  // Every worker joined (or never will) and is done or lost.
  bool Finished() const;
  // Whether some worker finished every iteration (said done in time).
  bool AnyDone() const;
  // For the no-progress message: the workers that never joined or are at the slowest clock,
  // the first kLaggardsNamed of them by name and how many more.
  std::string Laggards(const SyncRule& rule) const;
  // Enough to see who is behind; a thousand simulated workers stuck together would otherwise
  // make one error line of 30 KB.
  static constexpr size_t kLaggardsNamed = 8;
  // Registers every worker's slot region (floats long, written by that worker only) with
  // dev, in worker order; returns them for the part that reads them.
  std::vector<std::span<const float>> RegisterSlots(Device& dev, size_t floats);
  // Sends the window desk's grants to their workers.
  void Send(const WindowDesk::Grants& grants);
  // Ends the job on every open connection with `why` (an abort message).
  void AbortAll(const std::string& why);

 private:
  std::vector<Member> members_;
  uint32_t joined_ = 0;
};

}  // namespace gw
