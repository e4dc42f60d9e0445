#include "coding/scheme.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "base/error.h"
#include "coding/scheme_registry.h"

namespace gw::coding {
namespace {

[[noreturn]] void BadScheme(std::string_view text, const std::string& why) {
  throw Error("coding scheme \"" + std::string(text) + "\": " + why + " (expected " +
              SchemeForms() + ")");
}

}  // namespace

const CodingScheme& CodingSpec::scheme() const { return SchemeOf(kind); }

CodingSpec CodingSpec::Parse(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  const CodingScheme* found = SchemeNamed(name);
  if (found == nullptr) BadScheme(text, "unknown scheme");
  const std::string scheme_name(found->name()), key(found->key());
  CodingSpec spec;
  spec.kind = found->kind();
  if (key.empty()) {
    if (colon != std::string_view::npos) BadScheme(text, scheme_name + " takes no parameter");
    return spec;
  }
  if (colon == std::string_view::npos) BadScheme(text, "missing " + key + "=");
  const std::string_view kv = text.substr(colon + 1);
  const std::string prefix = key + "=";
  if (kv.substr(0, prefix.size()) != prefix) {
    BadScheme(text, scheme_name + " takes exactly one parameter, " + prefix + "N");
  }
  const std::string_view value = kv.substr(prefix.size());
  if (value.find(',') != std::string_view::npos) {
    BadScheme(text, scheme_name + " takes exactly one parameter, " + prefix + "N");
  }
  int v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty() || v < 0) {
    BadScheme(text, "value of " + key + " is not a non-negative integer");
  }
  spec.param = v;
  return spec;
}

std::optional<CodingKind> CodingSpec::KindNamed(std::string_view name) {
  const CodingScheme* found = SchemeNamed(name);
  if (found == nullptr) return std::nullopt;
  return found->kind();
}

std::string CodingSpec::ToString() const {
  const CodingScheme& s = scheme();
  if (s.key().empty()) return std::string(s.name());
  return std::string(s.name()) + ":" + std::string(s.key()) + "=" + std::to_string(param);
}

void CodingSpec::Validate(int n) const {
  const std::string what =
      "coding scheme " + ToString() + " with " + std::to_string(n) + " worker(s): ";
  if (n < 1) throw Error(what + "need at least one worker");
  if (const std::optional<std::string> why = scheme().Misfit(param, n)) throw Error(what + *why);
}

int CodingSpec::Blocks(int n) const { return scheme().Blocks(param, n); }

std::vector<int> CodingSpec::BlocksOf(int worker, int n) const {
  return scheme().BlocksOf(param, worker, n);
}

double CodingSpec::UnitsBefore(int j, int n) const { return scheme().UnitsBefore(param, j, n); }

std::vector<double> MessageTimes(const CodingSpec& spec, int n, const StragglerModel& model,
                                 int worker, uint64_t round) {
  const double unit = model.Sample(worker, round, 1)[0];
  std::vector<double> times(spec.Messages());
  for (int j = 0; j < spec.Messages(); ++j) times[j] = unit * spec.UnitsBefore(j, n);
  return times;
}

RoundTracker::RoundTracker(const CodingSpec& spec, int n, DecodableCheck decodable)
    : spec_(spec), n_(n), decodable_(std::move(decodable)) {
  spec.Validate(n);
  needed_ = spec.scheme().Needed(spec.param, n);
  Reset();
}

void RoundTracker::Reset() {
  arrived_.assign(n_, std::vector<bool>(spec_.Messages(), false));
  arrived_count_ = 0;
  block_seen_.assign(n_, false);  // Blocks(n) <= n for every scheme
  used_.clear();
  complete_ = false;
}

void RoundTracker::CheckIds(int worker, int j) const {
  if (worker < 0 || worker >= n_ || j < 0 || j >= spec_.Messages()) {
    throw Error("round tracker: message " + std::to_string(j) + " of worker " +
                std::to_string(worker) + " is out of range");
  }
}

bool RoundTracker::MarkArrived(int worker, int j) {
  if (arrived_[worker][j]) return false;
  arrived_[worker][j] = true;
  ++arrived_count_;
  return true;
}

void RoundTracker::Erase(int worker, int j) {
  CheckIds(worker, j);
  // As if arrived: never used, and Possible() skips it.
  if (!MarkArrived(worker, j) || complete_) return;
  // It was the last message a refused set waited for: decoding gives the reason.
  if (decodable_ && static_cast<int>(used_.size()) >= needed_ && AllIn()) complete_ = true;
}

bool RoundTracker::Arrive(int worker, int j) {
  CheckIds(worker, j);
  if (!MarkArrived(worker, j) || complete_) return false;
  // kFirstWorkers counts distinct workers (each sends one message, its "block" is itself).
  const bool per_worker = spec_.scheme().round_rule() == RoundRule::kFirstWorkers;
  const int block = per_worker ? worker : spec_.BlocksOf(worker, n_)[j];
  const bool fresh = !block_seen_[block];
  if (fresh) {
    block_seen_[block] = true;
    used_.push_back({worker, j, block});
  }
  if (static_cast<int>(used_.size()) >= needed_) {
    // The check runs only when the set grew; once nothing more can come the round closes
    // anyway, for decoding to refuse it with the set's size and condition.
    complete_ = (fresh && (!decodable_ || decodable_(used_))) || (decodable_ && AllIn());
  }
  return fresh;
}

bool RoundTracker::Possible(const std::vector<bool>& gone) const {
  RoundTracker what_if = *this;
  for (int w = 0; w < n_ && !what_if.complete_; ++w) {
    if (w < static_cast<int>(gone.size()) && gone[w]) continue;
    for (int j = 0; j < spec_.Messages(); ++j) what_if.Arrive(w, j);
  }
  return what_if.complete_;
}

double RoundCompletionTime(const CodingSpec& spec, int n,
                           const std::vector<std::vector<double>>& times) {
  if (static_cast<int>(times.size()) != n) {
    throw Error("round completion time: " + std::to_string(times.size()) + " rows of times for " +
                std::to_string(n) + " workers");
  }
  std::vector<std::tuple<double, int, int>> events;
  for (int w = 0; w < n; ++w) {
    for (int j = 0; j < static_cast<int>(times[w].size()); ++j) {
      events.emplace_back(times[w][j], w, j);
    }
  }
  std::sort(events.begin(), events.end());
  RoundTracker tracker(spec, n);
  for (const auto& [t, w, j] : events) {
    if (!std::isfinite(t)) break;
    tracker.Arrive(w, j);
    if (tracker.Complete()) return t;
  }
  return std::numeric_limits<double>::infinity();
}

RoundTimeEstimate MonteCarloRoundTime(const CodingSpec& spec, int n, const StragglerModel& model,
                                      int trials, uint64_t first_round) {
  if (trials < 1) throw Error("Monte Carlo: need at least one trial");
  double sum = 0, sum2 = 0;
  std::vector<std::vector<double>> times(n);
  for (int t = 0; t < trials; ++t) {
    for (int w = 0; w < n; ++w) times[w] = MessageTimes(spec, n, model, w, first_round + t);
    const double x = RoundCompletionTime(spec, n, times);
    sum += x;
    sum2 += x * x;
  }
  RoundTimeEstimate e;
  e.mean = sum / trials;
  const double var = trials > 1 ? (sum2 - sum * e.mean) / (trials - 1) : 0;
  // A round that never completes makes the mean infinite; so is its uncertainty.
  e.std_error = std::isfinite(e.mean) ? std::sqrt(std::max(0.0, var) / trials)
                                      : std::numeric_limits<double>::infinity();
  return e;
}

}  // namespace gw::coding
