// Which order a worker pushes its gradient's partitions in (sched/push_queue.h), as the user
// writes it:
//
//   --push-order fifo                  partitions in the order their tensors became ready, no
//                                      limit in flight (today's behaviour)
//   --push-order priority[:inflight=N] P3 (Jayarajan et al., MLSys 2019): the most urgent
//                                      tensor first, at most N partitions in flight (1)
//   --push-order credit:credit=BYTES   ByteScheduler (Peng et al., SOSP 2019): the most urgent
//                                      first, while the bytes in flight stay within the credit
// A PushQueue can slice tensors into partitions of at most B bytes (0: whole tensors). gradwire
// passes 0: a job's layout already cuts every layer into parts of at most --part-bytes, and
// those parts are the partitions (JobConfig::Validate checks them against kMinPartitionBytes).
//
// The parser never throws: bad text gets a one-line error naming the flag. Each order reads,
// prints and checks its own keys (sched/push_order_<name>.cc, listed in
// sched/push_order_registry.cc); this struct holds every order's fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/spec_text.h"

namespace gw::sched {

// Each partition is one write with its own fixed cost (a work request and its completion, a
// write notice or a frame header: a few microseconds of CPU and tens of bytes on the wire).
// Below one 4 KiB page that cost rivals the payload's own time on a 10 Gbit/s link (3.3 µs),
// so smaller partitions would measure per-write overhead, not scheduling.
inline constexpr uint64_t kMinPartitionBytes = 4096;
inline constexpr std::string_view kPartitionBytesName = "partition size";

struct PushOrderSpec {
  static constexpr std::string_view kFlag = "--push-order";
  // P3 keeps one partition in flight so that a more urgent one overtakes at the very next
  // boundary. An RDMA pipeline needs more than one write posted to keep the link busy across
  // the round trip of each completion (a 10 Gbit/s link with a 10 µs RTT holds 12.5 KB, three
  // 4 KiB partitions), hence the parameter; 1 stays the default, as in P3.
  static constexpr uint32_t kDefaultInflight = 1;
  // Far above any send queue (net/rdma posts at most 256 writes per connection), so it never
  // limits a real pipeline; it refuses a byte count typed where a count was meant.
  static constexpr uint32_t kMaxInflight = 4096;

  std::string name = "fifo";
  uint32_t inflight = kDefaultInflight;  // priority: partitions in flight at most
  uint64_t credit_bytes = 0;             // credit: bytes in flight at most (one partition always)

  // Canonical text, every key written; parses back to *this.
  std::string ToString() const;

  bool operator==(const PushOrderSpec&) const = default;
};

// A parsed --push-order text: the spec, or why not (one line naming the flag, the text and the
// forms every registered order takes).
struct PushOrderParse {
  std::optional<PushOrderSpec> spec;
  std::string error;  // empty iff spec
};
PushOrderParse ParsePushOrder(std::string_view text);

// "" if a partition size of B bytes is usable: 0 (whole tensors) or at least
// kMinPartitionBytes, and when the model's size is known, no larger than the model. Otherwise
// the one-line reason.
std::string PartitionBytesError(uint64_t partition_bytes,
                                std::optional<uint64_t> model_bytes = std::nullopt);

// The key=value items of one --push-order text as an order takes them. Never throws: the first
// error is kept (error()) and ParsePushOrder refuses the text with it.
class PushOrderKeys {
 public:
  explicit PushOrderKeys(SpecText* items) : items_(items) {}

  bool has(const std::string& key) const { return items_->has(key); }
  // The value of key, a decimal integer in [min, max]; on error records it and returns min.
  uint64_t TakeUint(const std::string& key, uint64_t min, uint64_t max);
  void Bad(const std::string& why);  // records why, unless an earlier error is recorded
  const std::string& error() const { return error_; }

 private:
  SpecText* items_;
  std::string error_;
};

}  // namespace gw::sched
