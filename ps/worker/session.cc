#include "ps/worker/session.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "base/descriptors.h"
#include "base/log.h"
#include "base/rate_limited_log.h"
#include "ps/roles.h"

namespace gw {
namespace {

std::unique_ptr<Device> MakeDevice(const WorkerOptions& options, PeerId self) {
  EnsureDescriptors(options.servers.size() + kSpareDescriptors,
                    "worker " + std::to_string(self.rank));
  DeviceOptions dopt = options.device;
  dopt.self = self;
  dopt.roles = PsRoles();
  return CreateDevice(options.servers[0].transport, dopt);
}

}  // namespace

WorkerSession::WorkerSession(const JobConfig& job, const WorkerOptions& options,
                             const ModelLayout& layout, bool recover_lost_servers)
    : job_(job),
      options_(options),
      layout_(layout),
      recover_lost_(recover_lost_servers),
      self_{Role::kWorker, options.rank},
      dev_(MakeDevice(options, self_)),
      links_(job.num_servers) {}

void WorkerSession::RegisterWriteSource(std::span<std::byte> memory) {
  dev_->RegisterMemory(memory, self_);
}

void WorkerSession::RegisterServerRegion(uint32_t server, std::span<std::byte> memory) {
  links_[server].region = &dev_->RegisterMemory(memory, {Role::kServer, server});
}

void WorkerSession::Join() {
  for (uint32_t s = 0; s < job_.num_servers; ++s) {
    Connect(s);
    SendJoin(s);
  }
  WaitWelcomes("welcome from every server");
  GW_DEBUG("joined " << job_.num_servers << " server(s)");
}

void WorkerSession::Connect(uint32_t server) {
  links_[server].conn = dev_->Connect(options_.servers[server], {Role::kServer, server});
}

void WorkerSession::SendJoin(uint32_t server) {
  JoinMsg join;
  join.fingerprint = job_.Fingerprint();
  join.params = links_[server].region->Describe();
  Send(server, MsgType::kJoin, Encode(join));
}

void WorkerSession::WaitWelcomes(const std::string& what) {
  // A server answers a join at once, before the job starts: the silence bound, not start-up's.
  const Deadline deadline{GetClock().Now() + 2 * job_.timeout, 2 * job_.timeout, false};
  WaitWithin(
      [&] {
        return std::all_of(links_.begin(), links_.end(),
                           [](const ServerLink& l) { return l.welcomed; });
      },
      what, [&] { return deadline; });
}

uint64_t WorkerSession::ResumeIteration() const {
  const uint64_t r = links_[0].resume_iteration;
  for (uint32_t s = 1; s < job_.num_servers; ++s) {
    if (links_[s].resume_iteration != r) {
      std::string at;
      for (uint32_t t = 0; t < job_.num_servers; ++t) {
        at += " server " + std::to_string(t) + ": " + std::to_string(links_[t].resume_iteration) +
              ";";
      }
      throw Error("the servers resumed at different iterations (" + at +
                  " restart every server with --resume from checkpoints of one iteration)");
    }
  }
  return r;
}

void WorkerSession::Send(uint32_t server, MsgType type, const std::vector<uint8_t>& payload) {
  links_[server].conn->Send(static_cast<uint16_t>(type), payload);
}

void WorkerSession::Poll(Duration max_wait) {
  batch_.clear();
  dev_->cq().Wait(batch_, max_wait);
  for (const auto& c : batch_) Handle(c);
}

void WorkerSession::HandleArrived() {
  Poll(Duration::zero());
  if (lost_) throw *lost_;
}

void WorkerSession::ComputeUntil(TimePoint end) {
  for (TimePoint now = GetClock().Now(); now < end; now = GetClock().Now()) {
    Poll(std::min<Duration>(end - now, kPollInterval));
    if (lost_) throw *lost_;
  }
}

void WorkerSession::ThrowTimedOut(const std::string& what, const Deadline& d) {
  throw Error("no " + what + " within " + std::to_string(d.bound.count()) +
              (d.starting ? " ms (is every server up and every worker started? raise "
                            "--join-timeout if start-up is just slow)"
                          : " ms (is every server up? raise --timeout if the job is just slow)"));
}

void WorkerSession::AbortAll(const std::string& why) {
  for (auto& l : links_) {
    if (l.conn && !l.closed) l.conn->Abort(why);
  }
}

bool WorkerSession::AllClosed() const {
  return std::all_of(links_.begin(), links_.end(),
                     [](const ServerLink& l) { return !l.conn || l.closed; });
}

void WorkerSession::DropAllButCloses(Duration max_wait) {
  std::vector<Completion> batch;
  dev_->cq().Wait(batch, max_wait);
  for (const auto& c : batch) {
    if (c.kind == CompletionKind::kPeerClosed && c.peer.role == Role::kServer &&
        c.peer.rank < job_.num_servers) {
      links_[c.peer.rank].closed = true;
    }
  }
}

void WorkerSession::ForgetConnections() {
  for (auto& l : links_) {
    l.conn.reset();
    l.welcomed = false;
    l.closed = false;
    l.resume_iteration = 0;
  }
  lost_.reset();
}

void WorkerSession::Handle(const Completion& c) {
  if (c.peer.role != Role::kServer || c.peer.rank >= job_.num_servers) return;
  const uint32_t server = c.peer.rank;
  ServerLink& link = links_[server];
  switch (c.kind) {
    case CompletionKind::kWriteLanded: {
      const Imm imm = Imm::Decode(c.imm);
      if (!started_) started_at_ = GetClock().Now();
      started_ = true;
      if (c.region != link.region->id() || !events_->OnParamsLanded(server, imm)) {
        WarnOfPeer("server " + std::to_string(server),
                   "unexpected parameters (tag " + std::to_string(imm.iteration_tag) + ", part " +
                       std::to_string(imm.part) + "), ignored");
      }
      return;
    }
    case CompletionKind::kWriteDone:
      if (!c.ok && !recover_lost_) {
        throw Error("gradient write to server " + std::to_string(server) + " failed: " + c.error);
      }
      // Recovering, a failed write is one of a connection that is closing (its kPeerClosed
      // starts the recovery); one the loop does not expect, a late one of the connection
      // before.
      if (!c.ok || !events_->OnWriteDone(server, c.wr_id)) {
        GW_DEBUG("dropping a write completion for server " << server << ": " << c.error);
      }
      return;
    case CompletionKind::kControl:
      return HandleControl(c);
    case CompletionKind::kPeerClosed:
      link.closed = true;
      if (recover_lost_) {
        if (!lost_) lost_ = ServerLost{server, c.error};
        return;
      }
      throw Error("lost server " + std::to_string(server) + ": " + c.error);
    case CompletionKind::kPeerConnected:
      return;
  }
}

void WorkerSession::HandleControl(const Completion& c) {
  const uint32_t server = c.peer.rank;
  ServerLink& link = links_[server];
  switch (static_cast<MsgType>(c.control_type)) {
    case MsgType::kWelcome: {
      const auto welcome = Decode<WelcomeMsg>(c.payload);
      if (!welcome || welcome->shard_size != layout_.shard_size(server)) {
        throw Error("server " + std::to_string(server) +
                    " sent a malformed welcome (does it run the same gradwire version?)");
      }
      link.resume_iteration = welcome->resume_iteration;
      link.welcomed = true;
      events_->OnWelcome(server, link.conn, welcome->slot, welcome->resume_iteration);
      return;
    }
    case MsgType::kClosed: {
      const auto msg = Decode<RoundMsg>(c.payload);
      if (!msg) throw Error("server sent a malformed round-closed message");
      events_->OnRoundClosed(msg->round);
      return;
    }
    case MsgType::kWindowGrant: {
      const auto grant = Decode<WindowGrantMsg>(c.payload);
      if (!grant || !job_.windows) throw Error("server sent a malformed window grant");
      // Stamped when queued (net/completion.h); never later than now.
      const TimePoint now = GetClock().Now();
      events_->OnGrant(server, *grant, c.received == TimePoint{} ? now : std::min(c.received, now));
      return;
    }
    case MsgType::kFinal:
      events_->OnFinal();
      return;
    case MsgType::kAbort:
      if (!link.welcomed) throw Error(Refusal(server, DecodeText(c.payload)));
      throw Error("server " + std::to_string(server) + " ended the job: " + DecodeText(c.payload));
    default:
      return;  // a message workers do not take: ignored, as always
  }
}

std::string WorkerSession::Refusal(uint32_t server, const std::string& why) const {
  const std::string head = "server " + std::to_string(server) + " refused this worker: ";
  // A configuration refusal carries the server's Describe() (ps/server/members.cc): name the
  // flags that differ rather than two whole descriptions to compare by eye.
  static constexpr std::string_view kTheirs = "(flags differ from the server's: ";
  const size_t at = why.find(kTheirs);
  const size_t end = why.rfind(')');
  if (at != std::string::npos && end != std::string::npos && end > at + kTheirs.size()) {
    const std::string theirs = why.substr(at + kTheirs.size(), end - at - kTheirs.size());
    const std::string diff = job_.DiffFlags(theirs, "this worker", "server");
    if (!diff.empty()) return head + "it runs a different job configuration: " + diff;
  }
  return head + why + "; this worker runs: " + job_.Describe();
}

}  // namespace gw
