#include "ps/workload/zoo/compute_profile.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "base/error.h"

namespace gw::zoo {
namespace {

// A value as given (std::to_string would print 0.5 as 0.500000).
std::string Text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

Duration FromMs(double ms) {
  return std::chrono::round<Duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace

void DeviceProfile::Validate() const {
  if (!(tflops > 0) || !std::isfinite(tflops)) {
    throw Error("device TFLOP/s must be a positive finite number, not " + Text(tflops));
  }
  if (batch == 0) throw Error("device batch must be at least 1 sample");
}

std::vector<LayerTime> ComputeTimes(const ModelSpec& model, const DeviceProfile& device) {
  device.Validate();
  std::vector<LayerTime> times;
  times.reserve(model.layers.size());
  for (const LayerSpec& layer : model.layers) {
    const double forward_ms = layer.forward_flops * device.batch / (device.tflops * 1e12) * 1e3;
    if (forward_ms * kBackwardPerForward > kMaxTraceLayerMs) {
      throw Error(model.name + " layer " + layer.name + " would take " +
                  Text(forward_ms * kBackwardPerForward / 1e3) + " s per backward pass at " +
                  Text(device.tflops) + " TFLOP/s and batch " + std::to_string(device.batch) +
                  ": more than an hour (TFLOP/s are 1e12 FLOP/s)");
    }
    times.push_back({FromMs(forward_ms), FromMs(forward_ms * kBackwardPerForward)});
  }
  return times;
}

std::vector<LayerTime> ComputeTimes(const Trace& trace) {
  std::vector<LayerTime> times(trace.layers.size());
  std::transform(trace.layers.begin(), trace.layers.end(), times.begin(), [](const TraceLayer& l) {
    return LayerTime{FromMs(l.forward_ms), FromMs(l.backward_ms)};
  });
  return times;
}

}  // namespace gw::zoo
