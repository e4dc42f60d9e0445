// A training workload: a model as a flat float vector, the gradient of its loss on this
// worker's next minibatch, and an evaluation on held-out data. Pure compute, no I/O beyond
// loading its data set. Deterministic under WorkloadSpec::seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace gw {

// The emulated device of a model workload, in sustained TFLOP/s. The papers this prototype is
// measured against (P3, ByteScheduler) ran V100-class GPUs, ~10-14 TFLOP/s sustained in fp32,
// on 10 Gbit/s links; the links emulated here run at 1 Gbit/s, so a tenth of the device keeps
// their ratio of compute to communication, which is what decides how much overlap and ordering
// can win.
inline constexpr double kDefaultDeviceTflops = 1;

struct WorkloadSpec {
  // softmax | mlp | linreg | synthetic | model (a zoo model) | trace (a measured trace) |
  // tensors (a model computed by Python workers, ps/workload/tensors.h)
  std::string kind = "softmax";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";  // IDX files (.gz or plain)
  size_t batch_size = 64;                                      // per worker
  uint64_t seed = 1;
  size_t mlp_hidden = 128;    // mlp: 784-hidden-10
  size_t linreg_rows = 8192;  // linreg: synthetic A (rows x dims), y = A x* + noise
  size_t linreg_dims = 256;
  double linreg_noise = 0.01;
  uint64_t synthetic_bytes = 4 << 20;  // synthetic: gradient size in bytes (multiple of 4)
  std::string model;                   // model: its name in the zoo (ps/workload/zoo/zoo.h)
  std::string trace_file;              // trace: per-layer times (ps/workload/zoo/trace.h)
  std::string tensors;                 // tensors: PREFIX of PREFIX.csv/.f32 (tensors.h)
  // trace and tensors: the digest of the layout file's content (ReadLayoutDigest), so that
  // processes reading different files under one name do not join one job; 0 when not read.
  uint64_t layout_digest = 0;
  // model: the device whose FLOP rate times each layer at batch_size samples.
  double device_tflops = kDefaultDeviceTflops;
  // Phantom payloads (gradwire sim --phantom-payloads): a network-only workload (synthetic,
  // model, trace) leaves its gradient unwritten, as the simulated transport carries sizes,
  // not bytes; the others refuse it (JobConfig::Validate).
  bool phantom = false;

  // The workload as --workload names it: "model:resnet50", "trace:FILE", or the kind.
  std::string Text() const;
  // Takes --workload's text: "model:NAME", "trace:FILE" and "tensors:PREFIX" set the kind and the
  // name or file, any other text is the kind. Checks nothing (MakeWorkload refuses what it cannot
  // build).
  void SetText(std::string_view text);
  // The file a trace or tensors workload takes its layers or tensors from (FILE, PREFIX.csv);
  // empty for the others.
  std::string LayoutFile() const;
  // Sets layout_digest from LayoutFile()'s content. A file that cannot be read, or is not a
  // regular file (a FIFO would block), leaves it 0: the workload's own reader refuses it,
  // naming the file.
  void ReadLayoutDigest();
};

// A layer as backprop hands it over (layered workloads: the model zoo and traces): its floats
// in the flat vector and the emulated time of its forward and backward passes on one minibatch
// of the nominal batch size.
struct WorkloadLayer {
  std::string name;
  size_t begin = 0;  // first float
  size_t size = 0;   // floats
  Duration forward{};
  Duration backward{};
};

struct EvalResult {
  double loss = 0;
  double accuracy = -1;  // < 0 where it has no meaning (regression, synthetic)
};

// A tensor of a workload that runs its own passes (Workload::own_tensors): its floats in the
// flat vector.
struct TensorRange {
  size_t begin = 0;
  size_t size = 0;
};

// What the worker offers a workload that runs its own forward and backward passes tensor by
// tensor (a Python worker driving a framework's real passes: python/), by index into its
// own_tensors(). The worker keeps handling completions inside each call.
class TensorEvents {
 public:
  virtual ~TensorEvents() = default;
  // The forward pass is about to read tensor t: returns once its parameters for this iteration
  // landed (the rest of the model may still be on the wire).
  virtual void WaitForward(size_t t) = 0;
  // The backward pass is about to write the gradient: the previous iteration's push, whose
  // source it is, ends first. Once per iteration, before any gradient write (later calls do
  // nothing).
  virtual void BackwardBegins() = 0;
  // Tensor t's gradient is final for this iteration: the parts it completes are pushed now.
  virtual void GradientReady(size_t t) = 0;
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string name() const = 0;
  virtual size_t num_params() const = 0;
  // Deterministic initial parameters (same on every process for the same seed).
  virtual void InitParams(std::span<float> params) const = 0;
  // Gradient (mean over the minibatch) of the loss at params on this worker's next minibatch;
  // returns that minibatch's loss. grad.size() == num_params().
  virtual double ComputeGradient(std::span<const float> params, std::span<float> grad) = 0;
  // Makes the next ComputeGradient use minibatch number `index` of this partition (counting
  // across epochs). Coded schemes call it with the iteration so that every replica of a
  // partition computes on the same minibatch.
  virtual void SeekBatch(uint64_t index) = 0;
  // Later minibatches have `rows` rows (R2SP's batch tuning re-sizes them as it goes); the
  // walk through the partition goes on from where it is. rows >= 1 (gw::Error otherwise).
  virtual void SetBatchSize(size_t rows) = 0;
  // Loss (and accuracy where it applies) on the test set, or on the whole synthetic problem.
  virtual EvalResult Evaluate(std::span<const float> params) const = 0;
  // Minibatches per pass over this worker's partition.
  virtual size_t batches_per_epoch() const = 0;
  // Layered workloads: their layers in forward order, covering the model in order. The worker
  // emulates their compute layer by layer (forward, then backward last layer first, on
  // base/clock.h) and pushes each layer's gradient as soon as its backward pass ends;
  // ComputeGradient then only fills the gradient. Empty for the others, whose compute is
  // ComputeGradient itself.
  virtual std::span<const WorkloadLayer> layers() const { return {}; }
  // Workloads that run their own passes (a Python worker's framework): their tensors in order,
  // covering the model. The worker then calls ComputeWithEvents instead of ComputeGradient and
  // pushes each part as soon as every tensor in it is ready, while the next forward pass waits
  // only for the tensors it reads. Empty for the others (layers() must then be empty too).
  virtual std::span<const TensorRange> own_tensors() const { return {}; }
  // Such a workload's iteration on the parameters in the worker's memory, its gradient written
  // into the worker's gradient memory, telling `events` as it goes; returns the loss.
  virtual double ComputeWithEvents(TensorEvents& events) {
    throw std::logic_error(name() + " runs no passes of its own");
  }
};

// Builds a workload for worker `rank` of `num_workers` (the data set is partitioned across
// workers after a seeded shuffle). With load_data = false only the parameter shape and
// initialisation are available (what a server needs); ComputeGradient/Evaluate then throw.
// Throws gw::Error with a clear message (e.g. the Fashion-MNIST files are missing: it says
// "apt-get install dataset-fashion-mnist" or --data-dir).
std::unique_ptr<Workload> MakeWorkload(const WorkloadSpec& spec, uint32_t rank,
                                       uint32_t num_workers, bool load_data);

}  // namespace gw
