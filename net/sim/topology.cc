#include "net/sim/topology.h"

#include <algorithm>
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
  if (kind == "star") {
    t.kind = Topology::Kind::kStar;
  } else if (kind == "tree") {
    t.kind = Topology::Kind::kTree;
    t.racks = 0;  // required
  } else {
    *why = "unknown topology '" + kind +
           "' (star[:rate=R,latency=L,slow=W+W,slow_rate=S] or tree:racks=K[,oversub=F,"
           "rate=R,latency=L])";
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
      } else if (key == "racks" && t.kind == Topology::Kind::kTree) {
        uint32_t r = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), r);
        if (ec != std::errc() || ptr != value.data() + value.size() || r == 0 || r > kMaxRacks) {
          *why = "racks=" + value + ": a whole number of racks, 1 to " + std::to_string(kMaxRacks);
          return std::nullopt;
        }
        t.racks = r;
      } else if (key == "oversub" && t.kind == Topology::Kind::kTree) {
        double f = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), f);
        if (ec != std::errc() || ptr != value.data() + value.size() || !(f >= 1) ||
            f > kMaxOversubscription) {
          *why = "oversub=" + value + ": a factor of at least 1 (4 = a 4:1 oversubscribed uplink)";
          return std::nullopt;
        }
        t.oversubscription = f;
      } else if (key == "slow" && t.kind == Topology::Kind::kStar) {
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
      } else if (key == "slow_rate" && t.kind == Topology::Kind::kStar) {
        const auto r = ParseRate(value);
        if (!r) {
          *why = "slow_rate=" + value + ": a rate like 100Mbps (1kbps to 10000Gbps)";
          return std::nullopt;
        }
        t.slow_rate_bps = *r;
      } else {
        *why = "--topology " + kind + " takes no '" + key + "' (" +
               (t.kind == Topology::Kind::kStar ? "rate, latency, slow, slow_rate"
                                                : "racks, oversub, rate, latency") +
               ")";
        return std::nullopt;
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
  return t;
}

double Topology::WorkerRate(uint32_t w) const {
  const bool slow = std::find(slow_workers.begin(), slow_workers.end(), w) != slow_workers.end();
  return slow ? slow_rate_bps : rate_bps;
}

std::string Topology::CheckJob(uint32_t workers) const {
  for (uint32_t w : slow_workers) {
    if (w >= workers) {
      return "--topology star: slow worker " + std::to_string(w) + " is not one of the " +
             std::to_string(workers) + " workers (0.." + std::to_string(workers - 1) + ")";
    }
  }
  if (kind != Kind::kTree) return "";
  if (racks > workers) {
    return "--topology tree:racks=" + std::to_string(racks) + " has more racks than the " +
           std::to_string(workers) + " workers";
  }
  if (workers % racks != 0) {
    return "--topology tree:racks=" + std::to_string(racks) + " does not divide the " +
           std::to_string(workers) + " workers evenly";
  }
  return "";
}

std::string Topology::ToString() const {
  std::string s = kind == Kind::kStar ? "star:"
                                      : "tree:racks=" + std::to_string(racks) +
                                            ",oversub=" + Number(oversubscription) + ",";
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
