#include "ps/optimizer.h"

#include <Eigen/Core>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numbers>

#include "base/error.h"
#include "base/spec_text.h"
#include "ps/aggregate.h"

namespace gw {
namespace {

constexpr const char* kValidForms =
    "expected const, step:every=N,gamma=G, or cosine:total=T, optionally prefixed by "
    "warmup:steps=W+ (e.g. warmup:steps=50+cosine:total=1000)";

[[noreturn]] void Fail(const std::string& text, const std::string& why) {
  throw Error("bad lr schedule \"" + text + "\": " + why + "; " + kValidForms);
}

template <typename T>
bool ParseNumber(const std::string& s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// One '+'-separated term, "name" or "name:key=value,key=value", checked and read key by key.
class TermParser {
 public:
  TermParser(const std::string& text, const std::string& term) : text_(text) {
    const size_t colon = term.find(':');
    name_ = term.substr(0, colon);
    if (colon == std::string::npos) return;
    size_t pos = colon + 1;
    while (true) {
      const size_t comma = std::min(term.find(',', pos), term.size());
      const std::string kv = term.substr(pos, comma - pos);
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) Fail(text_, "\"" + kv + "\" is not key=value");
      if (!args_.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second) {
        Fail(text_, "\"" + kv.substr(0, eq) + "\" given twice");
      }
      if (comma == term.size()) break;
      pos = comma + 1;
    }
  }

  const std::string& name() const { return name_; }

  // Exactly these keys, nothing else.
  void Expect(std::initializer_list<const char*> keys) const {
    for (const auto& arg : args_) {
      const std::string& key = arg.first;  // clang 14 cannot capture a structured binding
      if (std::find_if(keys.begin(), keys.end(), [&](const char* k) { return key == k; }) ==
          keys.end()) {
        Fail(text_, name_ + " takes no \"" + key + "\"");
      }
    }
    for (const char* key : keys) {
      if (!args_.count(key)) Fail(text_, name_ + " needs " + key + "=");
    }
  }

  uint64_t Positive(const char* key) const {
    uint64_t v = 0;
    if (!ParseNumber(args_.at(key), &v) || v == 0) {
      Fail(text_, std::string(key) + " must be an integer >= 1");
    }
    return v;
  }

  double PositiveReal(const char* key) const {
    double v = 0;
    if (!ParseNumber(args_.at(key), &v) || !(v > 0) || !std::isfinite(v)) {
      Fail(text_, std::string(key) + " must be a number > 0");
    }
    return v;
  }

 private:
  const std::string& text_;
  std::string name_;
  std::map<std::string, std::string> args_;
};

}  // namespace

LrSchedule LrSchedule::Parse(const std::string& text, double base_lr) {
  LrSchedule s;
  s.base_lr = base_lr;
  std::string rest = text;
  // '+' joins the warmup to the schedule; right after an 'e' it is an exponent's sign.
  size_t plus = text.find('+');
  while (plus != std::string::npos && plus > 0 &&
         (text[plus - 1] == 'e' || text[plus - 1] == 'E')) {
    plus = text.find('+', plus + 1);
  }
  if (plus != std::string::npos) {
    TermParser warmup(text, text.substr(0, plus));
    if (warmup.name() != "warmup") Fail(text, "only warmup:steps=W may precede '+'");
    warmup.Expect({"steps"});
    s.warmup = warmup.Positive("steps");
    rest = text.substr(plus + 1);
  }
  TermParser main(text, rest);
  s.kind = main.name();
  if (s.kind == "const") {
    main.Expect({});
  } else if (s.kind == "step") {
    main.Expect({"every", "gamma"});
    s.every = main.Positive("every");
    s.gamma = main.PositiveReal("gamma");
  } else if (s.kind == "cosine") {
    main.Expect({"total"});
    s.total = main.Positive("total");
  } else if (s.kind == "warmup") {
    Fail(text, "warmup needs a schedule after '+'");
  } else {
    Fail(text, "unknown schedule \"" + s.kind + "\"");
  }
  return s;
}

double LrSchedule::At(uint64_t step) const {
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const uint64_t t = step - warmup;
  if (kind == "step") return base_lr * std::pow(gamma, static_cast<double>(t / every));
  if (kind == "cosine") {
    const double frac = static_cast<double>(std::min(t, total)) / static_cast<double>(total);
    return base_lr * 0.5 * (1.0 + std::cos(std::numbers::pi * frac));
  }
  return base_lr;
}

std::string LrSchedule::ToString() const {
  std::string s = warmup ? "warmup:steps=" + std::to_string(warmup) + "+" : "";
  if (kind == "step")
    return s + "step:every=" + std::to_string(every) + ",gamma=" + FormatNumber(gamma);
  if (kind == "cosine") return s + "cosine:total=" + std::to_string(total);
  return s + kind;
}

SgdMomentum::SgdMomentum(OptimizerSpec spec, size_t size)
    : spec_(std::move(spec)), velocity_(size, 0.0f) {}

void SgdMomentum::Restore(std::vector<float> velocity, uint64_t steps) {
  if (velocity.size() != velocity_.size()) {
    throw Error("SgdMomentum::Restore: a momentum buffer of " + std::to_string(velocity.size()) +
                " for a shard of " + std::to_string(velocity_.size()));
  }
  velocity_ = std::move(velocity);
  steps_ = steps;
}

void SgdMomentum::Step(std::span<float> params, std::span<const float> grad, float scale) {
  if (params.size() != velocity_.size() || grad.size() != velocity_.size()) {
    throw Error("SgdMomentum::Step: " + std::to_string(params.size()) + " params and " +
                std::to_string(grad.size()) + " gradients for a shard of " +
                std::to_string(velocity_.size()));
  }
  StepRange(params, grad, scale, 0);
  EndStep();
}

void SgdMomentum::StepRange(std::span<float> params, std::span<const float> grad, float scale,
                            size_t offset) {
  if (grad.size() != params.size() || offset > velocity_.size() ||
      params.size() > velocity_.size() - offset) {
    throw Error("SgdMomentum::StepRange: " + std::to_string(params.size()) + " params and " +
                std::to_string(grad.size()) + " gradients at float " + std::to_string(offset) +
                " of a shard of " + std::to_string(velocity_.size()));
  }
  const auto n = static_cast<Eigen::Index>(params.size());
  Eigen::Map<Eigen::ArrayXf> p(params.data(), n), v(velocity_.data() + offset, n);
  Eigen::Map<const Eigen::ArrayXf> g(grad.data(), n);
  const auto momentum = static_cast<float>(spec_.momentum);
  const auto weight_decay = static_cast<float>(spec_.weight_decay);
  const auto lr = static_cast<float>(spec_.lr.At(steps_));
  v = momentum * v + (scale * g + weight_decay * p);
  p -= lr * v;
  if (!non_finite_ && !AllFinite(params)) {
    const auto bad =
        std::find_if(params.begin(), params.end(), [](float x) { return !std::isfinite(x); });
    non_finite_ = NonFinite{offset + static_cast<size_t>(bad - params.begin()), steps_};
  }
}

}  // namespace gw
