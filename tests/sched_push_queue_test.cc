// The worker's push queue (sched/push_queue.h), its orders (fifo, priority, credit) and their
// text (sched/push_order_spec.h): parsing and refusals first, then examples, then seeded random
// tensors and interleavings of Ready/Next/Done checked against the test's own record of what is
// pending and in flight.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/error.h"
#include "sched/push_order_registry.h"
#include "sched/push_queue.h"

namespace gw::sched {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

PushOrderSpec Parsed(const std::string& text) {
  const PushOrderParse p = ParsePushOrder(text);
  EXPECT_TRUE(p.spec.has_value()) << text << ": " << p.error;
  EXPECT_EQ(p.error, "");
  return p.spec.value_or(PushOrderSpec{});
}

PushQueue Queue(const std::string& order, uint64_t partition_bytes) {
  return PushQueue(MakePushOrder(Parsed(order)), partition_bytes);
}

// ---------------------------------------------------------------------------------------------
// Text

// A valid text per order; an order added to the registry needs one here.
const std::map<std::string, std::string, std::less<>> kExamples = {
    {"fifo", "fifo"},
    {"priority", "priority:inflight=3"},
    {"credit", "credit:credit=65536"},
};

TEST(PushOrderSpec, ParsesEveryFormAndRoundTrips) {
  EXPECT_EQ(Parsed("fifo"), PushOrderSpec{});
  EXPECT_EQ(Parsed("priority").inflight, PushOrderSpec::kDefaultInflight);
  EXPECT_EQ(Parsed("priority:inflight=4").inflight, 4u);
  EXPECT_EQ(Parsed("credit:credit=4194304").credit_bytes, 4194304u);
  for (const char* canonical : {"fifo", "priority:inflight=1", "priority:inflight=4096",
                                "credit:credit=4096", "credit:credit=18446744073709551615"}) {
    const PushOrderSpec s = Parsed(canonical);
    EXPECT_EQ(s.ToString(), canonical);
    EXPECT_EQ(Parsed(s.ToString()), s);
  }
  ASSERT_EQ(PushOrders().size(), kExamples.size());
  std::set<std::string_view> names;
  for (const PushOrderType* o : PushOrders()) {
    SCOPED_TRACE(std::string(o->name()));
    EXPECT_TRUE(names.insert(o->name()).second) << "name registered twice";
    ASSERT_TRUE(kExamples.count(o->name())) << "no example text for registered order";
    const PushOrderSpec s = Parsed(kExamples.find(o->name())->second);
    EXPECT_EQ(s.name, o->name());
    EXPECT_EQ(Parsed(s.ToString()), s);
    EXPECT_EQ(PushOrderNamed(o->name()), o);
    EXPECT_NE(MakePushOrder(s), nullptr);
  }
}

TEST(PushOrderSpec, RefusesBadTextInOneLineNamingTheFlagAndTheForms) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "unknown order \"\""},
      {"lifo", "unknown order \"lifo\""},
      {"fifo:inflight=2", "unknown key inflight for order fifo"},
      {"priority:", "nothing after ':'"},
      {"priority:inflight", "\"inflight\" is not key=value"},
      {"priority:=1", "\"=1\" is not key=value"},
      {"priority:inflight=1,inflight=2", "key inflight repeated"},
      {"priority:inflight=0", "inflight must be an integer in [1, 4096], got \"0\""},
      {"priority:inflight=4097", "inflight must be an integer in [1, 4096]"},
      {"priority:inflight=-1", "inflight must be an integer"},
      {"priority:inflight=2x", "inflight must be an integer"},
      {"priority:inflight=", "inflight must be an integer"},
      {"priority:credit=4096", "unknown key credit for order priority"},
      {"credit", "missing key credit"},
      {"credit:inflight=2", "missing key credit"},
      {"credit:credit=4095", "credit must be an integer in [4096, 18446744073709551615]"},
      {"credit:credit=4M", "credit must be an integer"},
      {"credit:credit=18446744073709551616", "credit must be an integer"},
      {"credit:credit=8192,x=1", "unknown key x for order credit"},
      {"priority:inflight=1\n2", "inflight must be an integer in [1, 4096], got \"1\\x0a2\""},
  };
  for (const auto& [text, why] : cases) {
    SCOPED_TRACE(text);
    const PushOrderParse p = ParsePushOrder(text);
    EXPECT_FALSE(p.spec.has_value());
    EXPECT_THAT(p.error, StartsWith("--push-order \""));
    EXPECT_THAT(p.error, HasSubstr(why));
    EXPECT_THAT(p.error,
                HasSubstr("(expected fifo | priority[:inflight=N] | credit:credit=BYTES)"));
    EXPECT_EQ(p.error.find('\n'), std::string::npos);
  }
  EXPECT_THAT(ParsePushOrder("a\tb\x7f").error, StartsWith("--push-order \"a\\x09b\\x7f\""));
}

TEST(PushOrderSpec, PartitionBytesBelowAPageOrAboveTheModelAreRefused) {
  EXPECT_EQ(PartitionBytesError(0), "");
  EXPECT_EQ(PartitionBytesError(kMinPartitionBytes), "");
  EXPECT_EQ(PartitionBytesError(1 << 30), "");
  EXPECT_THAT(PartitionBytesError(kMinPartitionBytes - 1),
              StartsWith("partition size 4095: below 4096 bytes"));
  EXPECT_THAT(PartitionBytesError(1), HasSubstr("or 0 for whole tensors"));
  EXPECT_EQ(PartitionBytesError(0, 100), "");
  EXPECT_EQ(PartitionBytesError(8192, 8192), "");
  EXPECT_THAT(PartitionBytesError(8193, 8192),
              StartsWith("partition size 8193: larger than the whole model (8192 bytes)"));
  EXPECT_THROW(Queue("fifo", 100), Error);
  EXPECT_THROW(MakePushOrder(PushOrderSpec{.name = "lifo"}), Error);
}

// ---------------------------------------------------------------------------------------------
// Examples

TEST(PushQueue, SlicesATensorIntoPartitionsInOffsetOrder) {
  PushQueue q = Queue("fifo", 4096);
  q.Ready({7, 2, 10000});
  EXPECT_EQ(q.Next(), (Partition{7, 2, 0, 4096}));
  EXPECT_EQ(q.Next(), (Partition{7, 2, 4096, 4096}));
  EXPECT_EQ(q.Next(), (Partition{7, 2, 8192, 1808}));
  EXPECT_EQ(q.Next(), std::nullopt);
  EXPECT_EQ(q.in_flight().partitions, 3u);
  EXPECT_EQ(q.in_flight().bytes, 10000u);
  EXPECT_FALSE(q.Done({7, 2, 4096, 4096}));  // completions may come in any order
  EXPECT_FALSE(q.Done({7, 2, 8192, 1808}));
  EXPECT_FALSE(q.idle());
  EXPECT_TRUE(q.Done({7, 2, 0, 4096}));  // the last one: the tensor is written
  EXPECT_TRUE(q.idle());
  PushQueue whole = Queue("fifo", 0);
  whole.Ready({1, 0, 123456789});
  EXPECT_EQ(whole.Next(), (Partition{1, 0, 0, 123456789}));
}

TEST(PushQueue, PriorityOvertakesAtTheNextPartitionBoundary) {
  PushQueue p = Queue("priority", 4096);
  PushQueue f = Queue("fifo", 4096);
  for (PushQueue* q : {&p, &f}) {
    q->Ready({50, 5, 3 * 4096});  // backprop: the back layer first
    EXPECT_EQ(q->Next(), (Partition{50, 5, 0, 4096}));
    q->Ready({10, 1, 4096});
  }
  EXPECT_EQ(p.next_priority(), 1u);
  EXPECT_EQ(p.Next(), std::nullopt) << "P3: one partition in flight";
  p.Done({50, 5, 0, 4096});
  EXPECT_EQ(p.Next(), (Partition{10, 1, 0, 4096})) << "the front layer overtakes";
  EXPECT_EQ(f.next_priority(), 5u);
  EXPECT_EQ(f.Next(), (Partition{50, 5, 4096, 4096})) << "fifo: neither blocked nor overtaken";
  EXPECT_EQ(f.Next(), (Partition{50, 5, 8192, 4096}));
  EXPECT_EQ(f.Next(), (Partition{10, 1, 0, 4096}));
}

TEST(PushQueue, PriorityInflightBoundsThePartitionsInFlight) {
  PushQueue q = Queue("priority:inflight=2", 4096);
  q.Ready({3, 3, 4 * 4096});
  q.Ready({4, 3, 4096});  // same priority, ready later: after tensor 3
  const std::optional<Partition> a = q.Next(), b = q.Next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(q.Next(), std::nullopt);
  q.Done(*a);
  EXPECT_EQ(q.Next(), (Partition{3, 3, 2 * 4096, 4096}));
  // Unlimited (a per-partition window bounds the flight): the order only ranks.
  q.Ready({5, 0, 4096});
  EXPECT_EQ(q.Next(), std::nullopt);
  EXPECT_EQ(q.Next(/*unlimited=*/true), (Partition{5, 0, 0, 4096})) << "the most urgent first";
  EXPECT_EQ(q.Next(/*unlimited=*/true), (Partition{3, 3, 3 * 4096, 4096}));
  EXPECT_EQ(q.in_flight().partitions, 4u);
}

TEST(PushQueue, CreditBoundsTheBytesInFlightButAlwaysLetsOnePartitionGo) {
  PushQueue q = Queue("credit:credit=10000", 4096);
  q.Ready({1, 0, 5 * 4096});
  const std::optional<Partition> a = q.Next(), b = q.Next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(q.in_flight().bytes, 8192u);
  EXPECT_EQ(q.Next(), std::nullopt) << "8192 + 4096 > 10000";
  q.Done(*a);
  EXPECT_EQ(q.Next(), (Partition{1, 0, 8192, 4096}));
  PushQueue whole = Queue("credit:credit=10000", 0);
  whole.Ready({1, 0, 50000});
  whole.Ready({2, 1, 100});
  const std::optional<Partition> big = whole.Next();
  EXPECT_EQ(big, (Partition{1, 0, 0, 50000})) << "larger than the credit, nothing in flight";
  EXPECT_EQ(whole.Next(), std::nullopt);
  whole.Done(*big);
  EXPECT_EQ(whole.Next(), (Partition{2, 1, 0, 100}));
}

TEST(PushQueue, RefusesAnEmptyTensorARepeatedOneAndAStrayDone) {
  PushQueue q = Queue("fifo", 0);
  EXPECT_THROW(q.Ready({1, 0, 0}), Error);
  q.Ready({1, 0, 8});
  EXPECT_THROW(q.Ready({1, 0, 8}), Error);  // pending
  const std::optional<Partition> p = q.Next();
  ASSERT_TRUE(p);
  EXPECT_THROW(q.Ready({1, 0, 8}), Error);  // in flight
  EXPECT_THROW(q.Done({1, 0, 0, 4}), Error) << "not the bytes handed out";
  EXPECT_THROW(q.Done({2, 0, 0, 8}), Error) << "never handed out";
  EXPECT_TRUE(q.Done(*p));
  EXPECT_THROW(q.Done(*p), Error) << "Done twice";
  PushQueue sliced = Queue("fifo", 4096);
  sliced.Ready({1, 0, 3 * 4096});
  const std::optional<Partition> a = sliced.Next(), b = sliced.Next();
  ASSERT_TRUE(a && b);
  EXPECT_THROW(sliced.Done({1, 0, 2 * 4096, 4096}), Error) << "not handed out yet";
  EXPECT_THROW(sliced.Done({1, 0, 100, 4096}), Error) << "not on a partition boundary";
  EXPECT_THROW(sliced.Done({1, 0, 0, 2 * 4096}), Error) << "two partitions in one";
  EXPECT_FALSE(sliced.Done(*a));
  EXPECT_FALSE(sliced.Done(*b));
  EXPECT_THROW(sliced.Done(*b), Error) << "Done twice: more done than handed out";
  q.Ready({1, 0, 8});  // the next iteration's gradient
  EXPECT_EQ(q.next_priority(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Properties: random models (tensors of random sizes and priorities, ties included), each
// iteration's tensors ready in backprop order (last layer first) interleaved at random with
// Next and with Done of a random partition in flight, over several iterations.

struct Model {
  std::vector<Tensor> tensors;  // in backprop order
  uint64_t partition_bytes;
};

Model RandomModel(std::mt19937_64& rng) {
  Model m;
  const uint64_t sizes[] = {0, kMinPartitionBytes, 10000, 65536};
  m.partition_bytes = sizes[rng() % 4];
  const auto layers = static_cast<uint32_t>(1 + rng() % 12);
  for (uint32_t layer = layers; layer-- > 0;) {
    const auto tensors = static_cast<uint32_t>(1 + rng() % 2);  // weights, maybe a bias
    for (uint32_t i = 0; i < tensors; ++i) {
      const uint64_t bytes = rng() % 4 == 0   ? 4 * (1 + rng() % 64)                 // a bias
                             : rng() % 3 == 0 ? m.partition_bytes * (1 + rng() % 4)  // exact
                                              : 1 + rng() % 300000;
      m.tensors.push_back(
          {static_cast<uint32_t>(m.tensors.size()), layer, std::max<uint64_t>(bytes, 1)});
    }
  }
  return m;
}

// The queue's counterpart in the test: what is ready and not handed out, what is in flight.
struct Record {
  struct Left {
    uint64_t ready;  // place in ready order
    uint64_t offset;
  };
  std::map<uint32_t, Left> pending;  // tensor id -> where its next partition starts
  std::vector<Partition> in_flight;
  uint64_t in_flight_bytes = 0;
  uint64_t readied = 0;
};

struct Outcome {
  std::vector<std::tuple<int, uint32_t, uint64_t, uint64_t>>
      posted;              // iteration, tensor, offset, bytes
  uint64_t held_back = 0;  // Next refused although something was pending
};

// Runs a random interleaving and checks, at every step, the invariants of every order and the
// rules of this one. Returns what was handed out.
Outcome Drive(const Model& m, const PushOrderSpec& spec, uint64_t seed) {
  PushQueue q(MakePushOrder(spec), m.partition_bytes);
  std::mt19937_64 rng(seed);
  Record r;
  Outcome out;
  auto size_of = [&](uint32_t id) { return m.tensors[id].bytes; };
  auto next_bytes = [&](uint32_t id) {
    const uint64_t left = size_of(id) - r.pending.at(id).offset;
    return m.partition_bytes == 0 ? left : std::min(m.partition_bytes, left);
  };
  // The tensor the order must take next, by the test's own reading of the order.
  auto expected_next = [&]() -> std::optional<uint32_t> {
    std::optional<uint32_t> best;
    for (const auto& [id, left] : r.pending) {
      if (!best) {
        best = id;
        continue;
      }
      const Record::Left& b = r.pending.at(*best);
      const bool before = spec.name == "fifo" ? left.ready < b.ready
                                              : std::tie(m.tensors[id].priority, left.ready) <
                                                    std::tie(m.tensors[*best].priority, b.ready);
      if (before) best = id;
    }
    return best;
  };
  constexpr int kIterations = 3;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    size_t readied = 0;
    while (readied < m.tensors.size() || !q.idle()) {
      const uint64_t action = rng() % 3;
      if (action == 0 && readied < m.tensors.size()) {
        const Tensor& t = m.tensors[readied++];
        q.Ready(t);
        r.pending[t.id] = {r.readied++, 0};
      } else if (action == 1 && !r.in_flight.empty()) {
        const size_t i = rng() % r.in_flight.size();
        const Partition p = r.in_flight[i];
        r.in_flight.erase(r.in_flight.begin() + static_cast<std::ptrdiff_t>(i));
        r.in_flight_bytes -= p.bytes;
        const bool wholly_written =
            !r.pending.count(p.tensor) &&
            std::none_of(r.in_flight.begin(), r.in_flight.end(),
                         [&](const Partition& x) { return x.tensor == p.tensor; });
        EXPECT_EQ(q.Done(p), wholly_written);
      } else {
        const std::optional<uint32_t> want = expected_next();
        EXPECT_EQ(q.next_priority(),
                  want ? std::optional(m.tensors[*want].priority) : std::nullopt);
        const std::optional<Partition> p = q.Next();
        if (!p) {
          // Held back only by the order's own limit, and never with nothing in flight.
          if (want) {
            ++out.held_back;
            EXPECT_FALSE(r.in_flight.empty()) << "stalled with nothing in flight";
            if (spec.name == "fifo") ADD_FAILURE() << "fifo held a partition back";
            if (spec.name == "priority") {
              EXPECT_EQ(r.in_flight.size(), spec.inflight);
            }
            if (spec.name == "credit") {
              EXPECT_GT(r.in_flight_bytes + next_bytes(*want), spec.credit_bytes);
            }
          }
          continue;
        }
        if (!want) {
          ADD_FAILURE() << "handed out tensor " << p->tensor << " with nothing pending";
          return out;
        }
        // The order: fifo never reorders across tensors; priority and credit never pass over a
        // more urgent pending tensor (ties in ready order).
        EXPECT_EQ(p->tensor, *want) << spec.ToString();
        if (p->tensor != *want || !r.pending.count(p->tensor)) return out;
        // Partitions of a tensor in offset order, each as long as the slicing says.
        EXPECT_EQ(p->offset, r.pending.at(p->tensor).offset);
        EXPECT_EQ(p->bytes, next_bytes(p->tensor));
        EXPECT_EQ(p->priority, m.tensors[p->tensor].priority);
        r.pending.at(p->tensor).offset += p->bytes;
        if (r.pending.at(p->tensor).offset == size_of(p->tensor)) r.pending.erase(p->tensor);
        r.in_flight.push_back(*p);
        r.in_flight_bytes += p->bytes;
        out.posted.emplace_back(iteration, p->tensor, p->offset, p->bytes);
        // The bounds in flight.
        if (spec.name == "priority") {
          EXPECT_LE(r.in_flight.size(), spec.inflight);
        }
        if (spec.name == "credit" && r.in_flight.size() > 1) {
          EXPECT_LE(r.in_flight_bytes, spec.credit_bytes);
        }
      }
      EXPECT_EQ(q.in_flight().partitions, r.in_flight.size());
      EXPECT_EQ(q.in_flight().bytes, r.in_flight_bytes);
      if (::testing::Test::HasFailure()) return out;
    }
  }
  return out;
}

TEST(PushQueueProperty, EveryOrderPostsEveryByteOnceInItsOwnOrderWithinItsBounds) {
  const std::vector<std::string> orders = {"fifo",
                                           "priority",
                                           "priority:inflight=3",
                                           "credit:credit=4096",
                                           "credit:credit=20000",
                                           "credit:credit=1000000"};
  std::map<std::string, uint64_t> held_back;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    const Model m = RandomModel(rng);
    // What every order must post: each iteration, each tensor sliced in offset order.
    std::vector<std::tuple<int, uint32_t, uint64_t, uint64_t>> expected;
    uint64_t model_bytes = 0;
    for (int iteration = 0; iteration < 3; ++iteration) {
      for (const Tensor& t : m.tensors) {
        if (iteration == 0) model_bytes += t.bytes;
        const uint64_t step = m.partition_bytes == 0 ? t.bytes : m.partition_bytes;
        for (uint64_t at = 0; at < t.bytes; at += step) {
          expected.emplace_back(iteration, t.id, at, std::min(step, t.bytes - at));
        }
      }
    }
    std::sort(expected.begin(), expected.end());
    for (const std::string& order : orders) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", " + order + ", " +
                   std::to_string(m.tensors.size()) + " tensors, partitions of " +
                   std::to_string(m.partition_bytes));
      Outcome o = Drive(m, Parsed(order), seed);
      ASSERT_FALSE(::testing::Test::HasFailure());
      uint64_t bytes = 0;
      for (const auto& [iteration, tensor, offset, size] : o.posted) bytes += size;
      EXPECT_EQ(bytes, 3 * model_bytes) << "conservation";
      std::sort(o.posted.begin(), o.posted.end());
      EXPECT_EQ(o.posted, expected) << "each partition exactly once";
      held_back[order] += o.held_back;
    }
  }
  // The limits were reached, so the checks on them ran.
  for (const std::string& order : orders) {
    if (order != "fifo") {
      EXPECT_GT(held_back[order], 0u) << order;
    }
  }
}

}  // namespace
}  // namespace gw::sched
