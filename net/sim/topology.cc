#include "net/sim/topology.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>
#include <utility>

namespace gw::sim {

namespace {

// Bounds that keep every number a simulation is given meaningful: a link between 1 kbit/s and
// 10 Tbit/s, a latency below a minute, at most as many racks as workers can have.
constexpr double kMinRate = 1e3, kMaxRate = 1e13;
constexpr double kMaxLatency = 60;
constexpr uint32_t kMaxRacks = 1 << 16;
constexpr double kMaxOversubscription = 1000;
// A fat-tree's switch radix: 2 (the smallest, 2 hosts) to 128 (524,288 hosts), past any switch
// built; odd radices have no k/2.
constexpr uint32_t kMinFatTreeK = 2, kMaxFatTreeK = 128;
// A leaf-spine's spines: each is one uplink port of every leaf, 128 past any leaf built. Leaves
// as racks.
constexpr uint32_t kMaxSpines = 128;
constexpr uint32_t kMaxLeaves = kMaxRacks;
// Slow workers are named one by one: a handful, as on the emulated star.
constexpr size_t kMaxSlowWorkers = 1024;

// A number with one of the given unit suffixes, scaled by the unit's factor.
std::optional<double> WithUnit(const std::string& text,
                               const std::initializer_list<std::pair<const char*, double>>& units) {
  for (const auto& [unit, factor] : units) {
    const std::string u(unit);
    if (text.size() <= u.size() || text.compare(text.size() - u.size(), u.size(), u) != 0) continue;
    double v = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size() - u.size();
    const auto [ptr, ec] = std::from_chars(begin, end, v);
    if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
    return v * factor;
  }
  return std::nullopt;
}

std::string Number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// v if within [lo, hi] up to a unit conversion's rounding (ToString's "60000000us" is 60 s
// times 1e-6, a hair past 60), clamped into them; nullopt if it is further out.
std::optional<double> Within(std::optional<double> v, double lo, double hi) {
  constexpr double kSlack = 1e-9;
  if (!v || *v < lo - kSlack * lo || *v > hi + kSlack * hi) return std::nullopt;
  return std::clamp(*v, lo, hi);
}

// A whole number in [lo, hi], all of value.
std::optional<uint32_t> Count(const std::string& value, uint32_t lo, uint32_t hi) {
  uint32_t n = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr != value.data() + value.size() || n < lo || n > hi) {
    return std::nullopt;
  }
  return n;
}

// Each kind's name and the keys it takes: the one place both are said (the parser, its
// refusals and ToString read them here).
struct KindInfo {
  Topology::Kind kind;
  const char* name;
  const char* keys;  // ", "-separated, as a refusal lists them
};
constexpr std::array<KindInfo, 4> kKinds = {{
    {Topology::Kind::kStar, "star", "rate, latency, slow, slow_rate"},
    {Topology::Kind::kTree, "tree", "racks, oversub, rate, latency"},
    {Topology::Kind::kFatTree, "fat-tree", "k, rate, latency"},
    {Topology::Kind::kLeafSpine, "leaf-spine", "leaves, spines, oversub, rate, latency"},
}};

const KindInfo& Info(Topology::Kind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return k;
  }
  return kKinds[0];  // not reached: every kind is in the table
}

bool Takes(Topology::Kind kind, const std::string& key) {
  return (", " + std::string(Info(kind).keys) + ", ").find(", " + key + ", ") != std::string::npos;
}

}  // namespace

std::optional<double> ParseRate(const std::string& text) {
  // Longest suffixes first: "Gbps" also ends in "bps".
  return Within(WithUnit(text, {{"Gbps", 1e9}, {"Mbps", 1e6}, {"kbps", 1e3}, {"bps", 1}}), kMinRate,
                kMaxRate);
}

std::optional<double> ParseLatency(const std::string& text) {
  return Within(WithUnit(text, {{"us", 1e-6}, {"ms", 1e-3}, {"s", 1}}), 0, kMaxLatency);
}

std::optional<Topology> ParseTopology(const std::string& text, std::string* why) {
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  Topology t;
  const auto known =
      std::find_if(kKinds.begin(), kKinds.end(), [&](const KindInfo& k) { return kind == k.name; });
  if (known != kKinds.end()) {
    t.kind = known->kind;
    if (t.kind == Topology::Kind::kTree) t.racks = 0;  // required
  } else {
    *why = "unknown topology '" + kind +
           "' (star[:rate=R,latency=L,slow=W+W,slow_rate=S], tree:racks=K[,oversub=F,rate=R,"
           "latency=L], fat-tree:k=K[,rate=R,latency=L] or leaf-spine:leaves=L,spines=S[,"
           "oversub=F,rate=R,latency=L])";
    return std::nullopt;
  }
  std::map<std::string, std::string> seen;
  if (colon != std::string::npos) {
    std::string rest = text.substr(colon + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
      const size_t comma = std::min(rest.find(',', pos), rest.size());
      const std::string item = rest.substr(pos, comma - pos);
      pos = comma + 1;
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        *why = "'" + item + "' in --topology " + text + " is not key=value";
        return std::nullopt;
      }
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      if (!seen.emplace(key, value).second) {
        *why = key + " given twice in --topology " + text;
        return std::nullopt;
      }
      if (!Takes(t.kind, key)) {
        *why = "--topology " + kind + " takes no '" + key + "' (" + Info(t.kind).keys + ")";
        return std::nullopt;
      }
      if (key == "rate") {
        const auto r = ParseRate(value);
        if (!r) {
          *why = "rate=" + value + ": a rate like 1Gbps, 100Mbps (1kbps to 10000Gbps)";
          return std::nullopt;
        }
        t.rate_bps = *r;
      } else if (key == "latency") {
        const auto l = ParseLatency(value);
        if (!l) {
          *why = "latency=" + value + ": a one-way latency like 50us, 5ms (0 to 60s)";
          return std::nullopt;
        }
        t.latency_s = *l;
      } else if (key == "racks") {
        const auto r = Count(value, 1, kMaxRacks);
        if (!r) {
          *why = "racks=" + value + ": a whole number of racks, 1 to " + std::to_string(kMaxRacks);
          return std::nullopt;
        }
        t.racks = *r;
      } else if (key == "k") {
        const auto k = Count(value, kMinFatTreeK, kMaxFatTreeK);
        if (!k || *k % 2 != 0) {
          *why = "k=" + value + ": an even number of switch ports, " +
                 std::to_string(kMinFatTreeK) + " to " + std::to_string(kMaxFatTreeK) +
                 " (k^3/4 hosts)";
          return std::nullopt;
        }
        t.k = *k;
      } else if (key == "leaves") {
        const auto l = Count(value, 1, kMaxLeaves);
        if (!l) {
          *why = "leaves=" + value + ": a whole number of leaf switches, 1 to " +
                 std::to_string(kMaxLeaves);
          return std::nullopt;
        }
        t.leaves = *l;
      } else if (key == "spines") {
        const auto n = Count(value, 1, kMaxSpines);
        if (!n) {
          *why = "spines=" + value + ": a whole number of spine switches, 1 to " +
                 std::to_string(kMaxSpines);
          return std::nullopt;
        }
        t.spines = *n;
      } else if (key == "oversub") {
        double f = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), f);
        if (ec != std::errc() || ptr != value.data() + value.size() || !(f >= 1) ||
            f > kMaxOversubscription) {
          *why = "oversub=" + value + ": a factor of at least 1 (4 = a 4:1 oversubscribed uplink)";
          return std::nullopt;
        }
        t.oversubscription = f;
      } else if (key == "slow") {
        size_t at = 0;
        while (at <= value.size()) {
          const size_t plus = std::min(value.find('+', at), value.size());
          uint32_t w = 0;
          const char* b = value.data() + at;
          const char* e = value.data() + plus;
          const auto [ptr, ec] = std::from_chars(b, e, w);
          if (b == e || ec != std::errc() || ptr != e || t.slow_workers.size() >= kMaxSlowWorkers) {
            *why = "slow=" + value + ": worker ranks joined by '+' (slow=1+2), at most " +
                   std::to_string(kMaxSlowWorkers);
            return std::nullopt;
          }
          if (std::find(t.slow_workers.begin(), t.slow_workers.end(), w) != t.slow_workers.end()) {
            *why = "slow=" + value + ": worker " + std::to_string(w) + " named twice";
            return std::nullopt;
          }
          t.slow_workers.push_back(w);
          at = plus + 1;
        }
      } else if (key == "slow_rate") {
        const auto r = ParseRate(value);
        if (!r) {
          *why = "slow_rate=" + value + ": a rate like 100Mbps (1kbps to 10000Gbps)";
          return std::nullopt;
        }
        t.slow_rate_bps = *r;
      }
    }
  }
  if (t.slow_workers.empty() != (t.slow_rate_bps == 0)) {
    *why = "--topology star: slow=W+W and slow_rate=S go together";
    return std::nullopt;
  }
  if (t.kind == Topology::Kind::kTree && t.racks == 0) {
    *why = "--topology tree needs racks=K";
    return std::nullopt;
  }
  if (t.kind == Topology::Kind::kFatTree && t.k == 0) {
    *why = "--topology fat-tree needs k=K (an even number of switch ports)";
    return std::nullopt;
  }
  if (t.kind == Topology::Kind::kLeafSpine && (t.leaves == 0 || t.spines == 0)) {
    *why = "--topology leaf-spine needs leaves=L and spines=S";
    return std::nullopt;
  }
  return t;
}

double Topology::WorkerRate(uint32_t w) const {
  const bool slow = std::find(slow_workers.begin(), slow_workers.end(), w) != slow_workers.end();
  return slow ? slow_rate_bps : rate_bps;
}

uint64_t Topology::FatTreeHosts() const { return uint64_t{k} * k * k / 4; }

std::string Topology::CheckJob(uint32_t servers, uint32_t workers) const {
  for (uint32_t w : slow_workers) {
    if (w >= workers) {
      return "--topology star: slow worker " + std::to_string(w) + " is not one of the " +
             std::to_string(workers) + " workers (0.." + std::to_string(workers - 1) + ")";
    }
  }
  const uint64_t hosts = uint64_t{servers} + workers;
  const std::string job = std::to_string(hosts) + " hosts (" + std::to_string(servers) +
                          " server(s) + " + std::to_string(workers) + " workers)";
  switch (kind) {
    case Kind::kStar:
      return "";
    case Kind::kTree:
      if (racks > workers) {
        return "--topology tree:racks=" + std::to_string(racks) + " has more racks than the " +
               std::to_string(workers) + " workers";
      }
      if (workers % racks != 0) {
        return "--topology tree:racks=" + std::to_string(racks) + " does not divide the " +
               std::to_string(workers) + " workers evenly";
      }
      return "";
    case Kind::kFatTree:
      if (hosts > FatTreeHosts()) {
        return "--topology fat-tree:k=" + std::to_string(k) + " has " +
               std::to_string(FatTreeHosts()) + " host ports, fewer than the job's " + job +
               ": a larger even k";
      }
      return "";
    case Kind::kLeafSpine:
      if (leaves > hosts) {
        return "--topology leaf-spine:leaves=" + std::to_string(leaves) +
               " has more leaves than the job's " + job;
      }
      return "";
  }
  return "";
}

std::string Topology::ToString() const {
  std::string s = std::string(Info(kind).name) + ":";
  switch (kind) {
    case Kind::kStar:
      break;
    case Kind::kTree:
      s += "racks=" + std::to_string(racks) + ",oversub=" + Number(oversubscription) + ",";
      break;
    case Kind::kFatTree:
      s += "k=" + std::to_string(k) + ",";
      break;
    case Kind::kLeafSpine:
      s += "leaves=" + std::to_string(leaves) + ",spines=" + std::to_string(spines) +
           ",oversub=" + Number(oversubscription) + ",";
      break;
  }
  s += "rate=" + Number(rate_bps / 1e6) + "Mbps,latency=" + Number(latency_s * 1e6) + "us";
  if (!slow_workers.empty()) {
    s += ",slow=";
    for (size_t i = 0; i < slow_workers.size(); ++i) {
      s += (i ? "+" : "") + std::to_string(slow_workers[i]);
    }
    s += ",slow_rate=" + Number(slow_rate_bps / 1e6) + "Mbps";
  }
  return s;
}

}  // namespace gw::sim
