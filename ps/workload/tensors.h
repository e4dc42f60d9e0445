// --workload tensors:PREFIX: a model whose compute runs outside gradwire's C++ (a Python
// worker: python/gradwire, gradwire.torch), which gradwire only stores, moves and updates.
//
//   PREFIX.csv  its tensors in the order the flat parameter vector holds them: a trace file
//               (ps/workload/zoo/trace.h) whose forward_ms and backward_ms may be left out,
//               one row per tensor, e.g. "layer,params" then "conv1.weight,150";
//   PREFIX.f32  its initial parameters, the flat vector as little-endian float32, exactly
//               4 bytes per parameter and every one finite: what the servers start from and
//               send every worker (a broadcast of the model's initial state).
//
// The model is flat (one segment, like softmax): its gradient is pushed whole once computed.
// The C++ worker cannot compute it (ComputeGradient throws, naming the Python worker); the
// server needs nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ps/workload/workload.h"

namespace gw {

struct TensorSpec {
  std::string name;
  uint64_t numel = 0;
};

// PREFIX.csv's tensors; gw::Error (one line naming the file) if it cannot be read or parsed.
std::vector<TensorSpec> ReadTensorLayout(const std::string& prefix);

// The layout of spec.tensors; InitParams reads PREFIX.f32 (gw::Error naming the file on a
// wrong size or a non-finite value, with the tensor it falls in).
std::unique_ptr<Workload> MakeTensors(const WorkloadSpec& spec);

}  // namespace gw
