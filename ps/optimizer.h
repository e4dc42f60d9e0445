// SGD with momentum and a learning-rate schedule, applied in place to a shard of parameters.
//   v = momentum * v + (scale * g + weight_decay * p);   p -= lr(t) * v
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gw {

struct LrSchedule {
  // "const", "step:every=N,gamma=G" (lr *= G every N updates), "cosine:total=T" (to 0 at T),
  // "warmup:steps=W" may be appended with '+' (e.g. "warmup:steps=50+cosine:total=1000").
  // Throws gw::Error on bad text. Warmup: lr(t) = base * (t+1)/W for t < W, then the
  // schedule runs with its step counted from W. Cosine: base * 0.5 * (1 + cos(pi*min(t,T)/T)).
  static LrSchedule Parse(const std::string& text, double base_lr);
  double At(uint64_t step) const;
  std::string ToString() const;

  double base_lr = 0.1;
  std::string kind = "const";
  uint64_t every = 0;
  double gamma = 1.0;
  uint64_t total = 0;
  uint64_t warmup = 0;
};

struct OptimizerSpec {
  double momentum = 0.9;
  double weight_decay = 0.0;
  LrSchedule lr;
};

class SgdMomentum {
 public:
  SgdMomentum(OptimizerSpec spec, size_t size);
  // One update with gradient g scaled by `scale` (e.g. 1/N for a sum of N gradients).
  void Step(std::span<float> params, std::span<const float> grad, float scale);
  // One update made of pieces (a BSP barrier applied part by part as each part completes):
  // StepRange updates params and grad, the floats [offset, offset + params.size()) of the
  // shard, at the current step's learning rate; EndStep counts the step once every piece was
  // applied. Pieces covering the shard once equal one Step.
  void StepRange(std::span<float> params, std::span<const float> grad, float scale, size_t offset);
  void EndStep() { ++steps_; }
  uint64_t steps() const { return steps_; }
  const OptimizerSpec& spec() const { return spec_; }
  // The state a checkpoint keeps: the momentum buffer and the step count (the schedule's t).
  const std::vector<float>& velocity() const { return velocity_; }
  // Resumes from a checkpoint's state; throws gw::Error if the buffer has another size.
  void Restore(std::vector<float> velocity, uint64_t steps);

  // The first parameter a step left non-finite (NaN or Inf: a poisoned gradient, or one
  // large enough to overflow), and the step it happened at; nullopt while the model is
  // finite. Checked on the floats each step wrote, while they are still in cache.
  struct NonFinite {
    size_t index;  // in the shard
    uint64_t step;
  };
  const std::optional<NonFinite>& non_finite() const { return non_finite_; }

 private:
  OptimizerSpec spec_;
  std::vector<float> velocity_;
  uint64_t steps_ = 0;
  std::optional<NonFinite> non_finite_;
};

}  // namespace gw
