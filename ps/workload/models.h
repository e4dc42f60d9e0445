// The workloads behind MakeWorkload, for callers (tests, benchmarks) that bring their own data
// or want one kind directly. Each throws gw::Error on inconsistent arguments.
#pragma once

#include <cstdint>
#include <memory>

#include "ps/workload/dataset.h"
#include "ps/workload/workload.h"

namespace gw {

// A classification problem: samples of `inputs` features in `classes` classes. With train and
// test both null only num_params/InitParams work (ComputeGradient/Evaluate throw).
struct ClassifierData {
  int inputs = 0;
  int classes = 0;
  std::shared_ptr<const Dataset> train;  // partitioned across workers
  std::shared_ptr<const Dataset> test;   // evaluated whole
};

// Multinomial logistic regression; params W (classes x inputs, row-major) then b (classes);
// initialised to zeros.
std::unique_ptr<Workload> MakeSoftmax(const WorkloadSpec& spec, ClassifierData data, uint32_t rank,
                                      uint32_t num_workers);

// inputs-hidden-classes ReLU MLP (hidden = spec.mlp_hidden); params W1, b1, W2, b2, weights
// row-major (out x in); He init for W1, Xavier for W2, zero biases.
std::unique_ptr<Workload> MakeMlp(const WorkloadSpec& spec, ClassifierData data, uint32_t rank,
                                  uint32_t num_workers);

// Least squares on MakeLinregProblem(spec) (see linreg.h); params x (linreg_dims), zeros.
std::unique_ptr<Workload> MakeLinreg(const WorkloadSpec& spec, uint32_t rank, uint32_t num_workers,
                                     bool load_data);

// Network-only: spec.synthetic_bytes / 4 params, a constant gradient, no data.
std::unique_ptr<Workload> MakeSynthetic(const WorkloadSpec& spec, uint32_t rank);

// Network-only, layered: kind "model" is spec.model from the zoo, each layer timed from its
// FLOPs at spec.device_tflops and spec.batch_size samples; kind "trace" is spec.trace_file's
// layers with their measured times (taken as one minibatch of batch_size). layers() lists
// them in forward order, covering the model; parameters start at zero and the gradient is the
// constant 1e-3 * (rank + 1), like synthetic's. Throws gw::Error with the zoo's list of names
// for an unknown model and with "FILE:LINE: column N (NAME): why" for a bad trace.
std::unique_ptr<Workload> MakeLayeredModel(const WorkloadSpec& spec, uint32_t rank);

}  // namespace gw
