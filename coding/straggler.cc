#include "coding/straggler.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "base/error.h"
#include "base/spec_text.h"
#include "coding/rng.h"

namespace gw::coding {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

[[noreturn]] void BadStraggler(std::string_view text, const std::string& why) {
  throw Error("straggler model \"" + std::string(text) + "\": " + why +
              " (expected none | shifted-exp:mu=M | non-persistent:mu=M,alpha=A | "
              "persistent:workers=W+W..,factor=F | fail-stop:worker=W,at=I; optional "
              "seed=S,base=SECONDS)");
}

double ParseDouble(std::string_view text, const std::string& key, std::string_view value) {
  double v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || !std::isfinite(v)) {
    BadStraggler(text, "value of " + key + " is not a number: \"" + std::string(value) + "\"");
  }
  return v;
}

uint64_t ParseUint(std::string_view text, const std::string& key, std::string_view value) {
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty()) {
    BadStraggler(
        text, "value of " + key + " is not a non-negative integer: \"" + std::string(value) + "\"");
  }
  return v;
}

int ParseWorker(std::string_view text, const std::string& key, std::string_view value) {
  const uint64_t v = ParseUint(text, key, value);
  if (v > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    BadStraggler(text, key + " out of range");
  }
  return static_cast<int>(v);
}

std::string Fmt(double x) { return FormatNumber(x); }

}  // namespace

StragglerModel StragglerModel::None() { return {}; }

StragglerModel StragglerModel::ShiftedExp(double mu) {
  if (!(mu > 0) || !std::isfinite(mu)) throw Error("shifted-exp straggler model: need mu > 0");
  StragglerModel m;
  m.kind_ = StragglerKind::kShiftedExp;
  m.mu_ = mu;
  return m;
}

StragglerModel StragglerModel::NonPersistent(double mu, double alpha) {
  if (!(mu > 0) || !std::isfinite(mu) || !(alpha >= 0) || !std::isfinite(alpha)) {
    throw Error("non-persistent straggler model: need mu > 0 and alpha >= 0");
  }
  StragglerModel m;
  m.kind_ = StragglerKind::kNonPersistent;
  m.mu_ = mu;
  m.alpha_ = alpha;
  return m;
}

StragglerModel StragglerModel::Persistent(std::vector<int> workers, double factor) {
  if (!(factor >= 1) || !std::isfinite(factor)) {
    throw Error("persistent straggler model: need factor >= 1");
  }
  if (workers.empty()) throw Error("persistent straggler model: need at least one worker");
  for (int w : workers) {
    if (w < 0) throw Error("persistent straggler model: negative worker id");
  }
  std::sort(workers.begin(), workers.end());
  workers.erase(std::unique(workers.begin(), workers.end()), workers.end());
  StragglerModel m;
  m.kind_ = StragglerKind::kPersistent;
  m.slow_ = std::move(workers);
  m.factor_ = factor;
  return m;
}

StragglerModel StragglerModel::FailStop(int worker, uint64_t at) {
  if (worker < 0) throw Error("fail-stop straggler model: negative worker id");
  StragglerModel m;
  m.kind_ = StragglerKind::kFailStop;
  m.fail_worker_ = worker;
  m.fail_at_ = at;
  return m;
}

StragglerModel& StragglerModel::set_seed(uint64_t seed) {
  seed_ = seed;
  return *this;
}

StragglerModel& StragglerModel::set_base_time(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds)) {
    throw Error("straggler model: base time must be > 0 seconds");
  }
  base_ = seconds;
  return *this;
}

StragglerModel StragglerModel::Parse(std::string_view text, uint64_t seed) {
  auto bad = [&](const std::string& why) { BadStraggler(text, why); };
  SpecText spec = SpecText::Split(text, bad);
  const std::string_view name = spec.name;
  auto take = [&](const std::string& key) { return spec.Take(key, bad); };
  // Optional keys common to every model.
  std::string_view seed_text, base_text;
  if (spec.values.count("seed")) seed_text = take("seed");
  if (spec.values.count("base")) base_text = take("base");

  StragglerModel m;
  try {
    if (name == "none") {
      m = None();
    } else if (name == "shifted-exp") {
      m = ShiftedExp(ParseDouble(text, "mu", take("mu")));
    } else if (name == "non-persistent") {
      const double mu = ParseDouble(text, "mu", take("mu"));
      m = NonPersistent(mu, ParseDouble(text, "alpha", take("alpha")));
    } else if (name == "persistent") {
      const std::string_view list = take("workers");
      std::vector<int> workers;
      size_t start = 0;
      while (true) {
        const size_t plus = list.find('+', start);
        workers.push_back(ParseWorker(text, "workers", list.substr(start, plus - start)));
        if (plus == std::string_view::npos) break;
        start = plus + 1;
      }
      m = Persistent(std::move(workers), ParseDouble(text, "factor", take("factor")));
    } else if (name == "fail-stop") {
      const int worker = ParseWorker(text, "worker", take("worker"));
      m = FailStop(worker, ParseUint(text, "at", take("at")));
    } else {
      BadStraggler(text, "unknown model \"" + std::string(name) + "\"");
    }
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind("straggler model \"", 0) == 0) throw;
    BadStraggler(text, what);
  }
  if (!spec.values.empty())
    BadStraggler(text,
                 "unknown key " + spec.values.begin()->first + " for model " + std::string(name));
  m.set_seed(seed_text.empty() ? seed : ParseUint(text, "seed", seed_text));
  if (!base_text.empty()) {
    const double base = ParseDouble(text, "base", base_text);
    if (!(base > 0)) BadStraggler(text, "base must be > 0 seconds");
    m.set_base_time(base);
  }
  return m;
}

std::string StragglerModel::ToString() const {
  std::string s;
  switch (kind_) {
    case StragglerKind::kNone:
      s = "none:";
      break;
    case StragglerKind::kShiftedExp:
      s = "shifted-exp:mu=" + Fmt(mu_) + ",";
      break;
    case StragglerKind::kNonPersistent:
      s = "non-persistent:mu=" + Fmt(mu_) + ",alpha=" + Fmt(alpha_) + ",";
      break;
    case StragglerKind::kPersistent: {
      s = "persistent:workers=";
      for (size_t i = 0; i < slow_.size(); ++i) s += (i ? "+" : "") + std::to_string(slow_[i]);
      s += ",factor=" + Fmt(factor_) + ",";
      break;
    }
    case StragglerKind::kFailStop:
      s = "fail-stop:worker=" + std::to_string(fail_worker_) + ",at=" + std::to_string(fail_at_) +
          ",";
      break;
  }
  return s + "seed=" + std::to_string(seed_) + ",base=" + Fmt(base_);
}

double SampleShiftedExp(std::mt19937_64& rng, double mu, double work) {
  return work * (1.0 + Exponential(rng, mu));
}

std::vector<double> StragglerModel::Sample(int worker, uint64_t iteration, int r) const {
  if (r < 1) throw Error("straggler model: need r >= 1 units, got " + std::to_string(r));
  if (worker < 0) throw Error("straggler model: negative worker id");
  // Time per unit u = T/r; the j-th unit completes at j·u = (j/r)·T.
  double unit = base_;
  switch (kind_) {
    case StragglerKind::kNone:
      break;
    case StragglerKind::kShiftedExp: {
      std::mt19937_64 rng(MixSeed(seed_, {static_cast<uint64_t>(worker), iteration}));
      unit = SampleShiftedExp(rng, mu_, base_);
      break;
    }
    case StragglerKind::kNonPersistent: {
      std::mt19937_64 rng(MixSeed(seed_, {static_cast<uint64_t>(worker), iteration}));
      unit = base_ * (Exponential(rng, mu_) + alpha_);
      break;
    }
    case StragglerKind::kPersistent:
      if (std::binary_search(slow_.begin(), slow_.end(), worker)) unit = base_ * factor_;
      break;
    case StragglerKind::kFailStop:
      if (worker == fail_worker_ && iteration >= fail_at_) unit = kInf;
      break;
  }
  std::vector<double> times(r);
  for (int j = 1; j <= r; ++j) times[j - 1] = unit * j;
  return times;
}

double StragglerModel::MeanTotal(int worker, uint64_t iteration, int r) const {
  const double work = r * base_;
  switch (kind_) {
    case StragglerKind::kNone:
      return work;
    case StragglerKind::kShiftedExp:
      return work * (1.0 + 1.0 / mu_);
    case StragglerKind::kNonPersistent:
      return work * (1.0 / mu_ + alpha_);
    case StragglerKind::kPersistent:
      return std::binary_search(slow_.begin(), slow_.end(), worker) ? work * factor_ : work;
    case StragglerKind::kFailStop:
      return worker == fail_worker_ && iteration >= fail_at_ ? kInf : work;
  }
  return work;
}

}  // namespace gw::coding
