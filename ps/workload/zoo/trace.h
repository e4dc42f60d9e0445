// A user's trace: the per-layer times of one training iteration measured on a real framework,
// in place of the zoo's FLOPs. A CSV file:
//
//   # comment lines start with '#'; blank lines are skipped
//   layer,params,forward_ms,backward_ms
//   conv1,9408,1.92,3.71
//   bn1,128,0.41,0.88
//
// One row per layer that owns parameters, in forward order (backward hands them over last to
// first). Columns are found by name in the header, so extra columns are allowed; fields may be
// quoted as Python's csv module quotes them; CRLF line ends are accepted. params is a whole
// number in [1, 2^40]; forward_ms and backward_ms are the layer's share of the forward and
// backward pass in milliseconds (>= 0, at most an hour), including the parameter-free work
// around it (ReLU, pooling, attention scores), so that they add up to the whole pass.
//
// Recording one with PyTorch (torch 1.13, also later): time each layer's forward from its
// start to the next layer's start (a forward pre-hook), and its backward from the previous
// gradient ready to its own gradient ready (a hook on each of its parameters). Gaps are thus
// given to a neighbour and the times sum to the measured passes:
//
//   import csv, time, torch, torchvision
//   model, batch = torchvision.models.resnet50(), torch.randn(32, 3, 224, 224)
//   def now():
//       if torch.cuda.is_available():
//           torch.cuda.synchronize()  # GPU work is asynchronous: time what has run
//       return time.perf_counter()
//   start, ready = {}, {}  # forward start, gradient ready (the last of its parameters)
//   def on_forward(name):
//       def hook(module, inputs):  # returns None: the input is left as it is
//           start.setdefault(name, now())
//       return hook
//   def on_gradient(name):
//       def hook(grad):
//           ready[name] = now()
//       return hook
//   layers = {n: m for n, m in model.named_modules() if any(m.parameters(recurse=False))}
//   for name, m in layers.items():
//       m.register_forward_pre_hook(on_forward(name))
//       for p in m.parameters(recurse=False):
//           p.register_hook(on_gradient(name))
//   model(batch).sum().backward()  # warm-up (allocations, cuDNN autotuning)
//   start.clear(); ready.clear()
//   loss = model(batch).sum(); forward_end = now(); loss.backward()
//   order = sorted(start, key=start.get)
//   after = dict(zip(order, [start[n] for n in order[1:]] + [forward_end]))
//   by_ready = sorted(ready, key=ready.get)
//   before = dict(zip(by_ready, [forward_end] + [ready[n] for n in by_ready[:-1]]))
//   with open("resnet50.csv", "w", newline="") as f:
//       w = csv.writer(f)
//       w.writerow(["layer", "params", "forward_ms", "backward_ms"])
//       for n in order:
//           params = sum(p.numel() for p in layers[n].parameters(recurse=False))
//           w.writerow([n, params, 1e3 * (after[n] - start[n]), 1e3 * (ready[n] - before[n])])
//
// torch.profiler with record_shapes=True gives the same per-operator times, but attributing
// operators to modules takes more code; the hooks above need nothing else. Every parameter
// must require a gradient (a frozen layer never reports one). experiments/traces/ has an
// example.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "ps/workload/zoo/model_spec.h"

namespace gw::zoo {

struct TraceLayer {
  std::string name;
  uint64_t params = 0;
  double forward_ms = 0;
  double backward_ms = 0;
};

struct Trace {
  std::string source;              // the file it was read from
  std::vector<TraceLayer> layers;  // in forward order

  // The layers as the zoo describes a model: one tensor per layer (named as the layer), no
  // FLOPs (the trace's times take their place; compute_profile.h).
  ModelSpec ToModel() const;
};

// A trace, or why the file is not one: "FILE:LINE: column N (NAME): why", one line.
struct TraceResult {
  std::optional<Trace> trace;
  std::string error;
};

// Bounds on what a trace file may hold, so that a wrong file fails fast with a reason rather
// than filling memory: a line of more than 4 KiB is not a trace row (names are module paths),
// and 100000 layers is 30x the largest model of the zoo.
inline constexpr size_t kMaxTraceLineBytes = 4096;
inline constexpr size_t kMaxTraceLayers = 100000;
// 2^40 parameters (4 TiB of fp32) in one layer is a unit or column mistake.
inline constexpr uint64_t kMaxTraceLayerParams = uint64_t{1} << 40;
// A layer's pass of more than an hour is a unit mistake (seconds or microseconds for ms).
inline constexpr double kMaxTraceLayerMs = 3600e3;

// Whether forward_ms and backward_ms must be columns. A tensor layout (--workload tensors:,
// ps/workload/tensors.h: a model whose compute runs elsewhere, in Python) is a trace whose
// times may be left out (then 0).
enum class TraceTimes { kRequired, kOptional };

// Parses a trace from `in`; `file` names it in errors. Never throws on bad content.
TraceResult ParseTrace(std::istream& in, const std::string& file,
                       TraceTimes times = TraceTimes::kRequired);

// Opens and parses `path` (an unreadable file is an error too, never an exception).
TraceResult ReadTraceFile(const std::string& path, TraceTimes times = TraceTimes::kRequired);

}  // namespace gw::zoo
