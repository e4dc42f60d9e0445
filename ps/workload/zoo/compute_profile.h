// Per-layer compute times of one iteration on one worker: from each layer's FLOPs at an
// emulated device, or as a trace measured them. The worker's loop sleeps these (on the clock
// of base/clock.h) layer by layer: forward in layer order, backward in reverse.
#pragma once

#include <cstdint>
#include <vector>

#include "base/clock.h"
#include "ps/workload/zoo/model_spec.h"
#include "ps/workload/zoo/trace.h"

namespace gw::zoo {

// An emulated device: sustained FLOP rate and the minibatch it runs per iteration.
struct DeviceProfile {
  double tflops = 0;   // sustained TFLOP/s (not the datasheet's peak: what training attains)
  uint32_t batch = 0;  // samples per iteration

  // Throws gw::Error for tflops <= 0 or not finite, and batch 0 (as JobConfig::Validate does).
  void Validate() const;
};

// The usual estimate of a backward pass: twice the forward, one product for the gradient of
// the layer's input and one for the gradient of its weights, each as large as the forward's.
inline constexpr double kBackwardPerForward = 2;

struct LayerTime {
  Duration forward{};
  Duration backward{};
};

// forward = forward_flops x batch / (tflops x 1e12), backward = kBackwardPerForward x forward,
// one per layer of `model`, rounded to the nanosecond. Throws gw::Error if the profile is
// invalid or a layer's pass would take more than kMaxTraceLayerMs (a unit mistake).
std::vector<LayerTime> ComputeTimes(const ModelSpec& model, const DeviceProfile& device);

// The trace's measured times, one per layer.
std::vector<LayerTime> ComputeTimes(const Trace& trace);

}  // namespace gw::zoo
