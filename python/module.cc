// _gradwire: the Python side of a worker (python/gradwire/__init__.py wraps it). A Python
// worker is `gradwire worker` with its gradient computed by a Python function: the same flags,
// token and fingerprint rules, sync rules, windows, straggler injection and results, and the
// model memory the servers write into and the gradient is pushed from owned by numpy arrays
// (no copies: torch tensors can view them). Only --workload tensors:PREFIX models
// (ps/workload/tensors.h), uncoded.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/gradwire/worker_flags.h"
#include "base/error.h"
#include "base/huge_pages.h"
#include "ps/worker.h"
#include "ps/worker/session.h"
#include "ps/workload/tensors.h"

namespace py = pybind11;

namespace gw::python {
namespace {

// A float32 vector of n zeros (huge pages where the kernel gives them, as the C++ worker's)
// owned by the returned array: it lives as long as Python holds a view of it.
py::array_t<float> ZeroedArray(size_t n) {
  auto* floats = new std::vector<float>(HugeZeroedFloats(n));
  py::capsule owner(floats, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  return py::array_t<float>({static_cast<py::ssize_t>(n)}, {sizeof(float)}, floats->data(), owner);
}

// The worker's TensorEvents for the duration of one compute call, as Python sees them. Each
// call releases the GIL while the worker waits or posts; a handle kept past its call raises.
class EventsHandle {
 public:
  // A server lost inside a call is kept in *lost and raised in Python as gradwire.Error; the
  // workload throws it on to the run loop (which reconnects) once the compute returned.
  EventsHandle(TensorEvents* events, std::optional<ServerLost>* lost)
      : events_(events), lost_(lost) {}
  void WaitForward(size_t t) {
    Call([&] { events_->WaitForward(t); });
  }
  void BackwardBegins() {
    Call([&] { events_->BackwardBegins(); });
  }
  void GradientReady(size_t t) {
    Call([&] { events_->GradientReady(t); });
  }
  void Expire() { events_ = nullptr; }

 private:
  template <typename F>
  void Call(F f) {
    if (events_ == nullptr) {
      throw std::runtime_error("these tensor events were for an iteration that is over");
    }
    {
      py::gil_scoped_release release;
      try {
        f();
        return;
      } catch (const ServerLost& e) {
        *lost_ = e;
      }
    }
    throw Error("server " + std::to_string(lost_->value().server) + " lost: " + lost_->value().why);
  }
  TensorEvents* events_;
  std::optional<ServerLost>* lost_;
};

// The job's model, its gradient computed by `compute(batch_rows)` in Python: the function
// reads the parameters and writes the gradient through its own views of the worker's memory
// and returns the minibatch's loss. A Python exception ends the run (gw::Error here) and is
// raised again in Python once the worker has shut down.
class PythonWorkload final : public Workload {
 public:
  // passes: compute(batch_rows, events) runs the passes itself, telling the worker through
  // events (an EventsHandle) what it reads and what is ready, over these tensors.
  PythonWorkload(std::unique_ptr<Workload> shape, py::function compute,
                 std::optional<py::function> evaluate, std::vector<TensorRange> passes)
      : shape_(std::move(shape)),
        compute_(std::move(compute)),
        evaluate_(std::move(evaluate)),
        tensors_(std::move(passes)) {}

  std::string name() const override { return shape_->name(); }
  size_t num_params() const override { return shape_->num_params(); }
  void InitParams(std::span<float> params) const override { shape_->InitParams(params); }
  double ComputeGradient(std::span<const float>, std::span<float>) override {
    py::gil_scoped_acquire gil;
    try {
      return compute_(batch_rows_).cast<double>();
    } catch (py::error_already_set& e) {
      error_ = std::move(e);
    } catch (const py::cast_error& e) {
      throw Error(std::string("the compute function must return the loss as a float: ") + e.what());
    }
    throw Error("the compute function raised " + std::string(error_->what()));
  }
  std::span<const TensorRange> own_tensors() const override { return tensors_; }
  double ComputeWithEvents(TensorEvents& events) override {
    py::gil_scoped_acquire gil;
    auto handle = std::make_shared<EventsHandle>(&events, &lost_);
    double loss = 0;
    try {
      loss = compute_(batch_rows_, handle).cast<double>();
    } catch (py::error_already_set& e) {
      error_ = std::move(e);
    } catch (const py::cast_error& e) {
      handle->Expire();
      throw Error(std::string("the compute function must return the loss as a float: ") + e.what());
    }
    handle->Expire();
    if (lost_) {
      error_.reset();  // the iteration is redone after reconnecting
      throw *std::exchange(lost_, std::nullopt);
    }
    if (error_) throw Error("the compute function raised " + std::string(error_->what()));
    return loss;
  }
  void SeekBatch(uint64_t) override {}
  void SetBatchSize(size_t rows) override {
    if (rows == 0) throw Error(name() + ": batch size must be positive");
    batch_rows_ = rows;
  }
  // The final model's (loss, accuracy) from `evaluate(params)`; NaN and -1 without one.
  EvalResult Evaluate(std::span<const float> params) const override {
    if (!evaluate_) return {NAN, -1};
    py::gil_scoped_acquire gil;
    const py::array_t<float> view({static_cast<py::ssize_t>(params.size())}, {sizeof(float)},
                                  params.data());  // a copy: snapshots are the worker's
    try {
      const auto [loss, accuracy] = (*evaluate_)(view).cast<std::pair<double, double>>();
      return {loss, accuracy};
    } catch (py::error_already_set& e) {
      error_ = std::move(e);
    } catch (const py::cast_error& e) {
      throw Error(std::string("the evaluate function must return (loss, accuracy): ") + e.what());
    }
    throw Error("the evaluate function raised " + std::string(error_->what()));
  }
  size_t batches_per_epoch() const override { return 1; }

  void set_batch_rows(size_t rows) { batch_rows_ = rows; }
  // The Python exception that ended the run, if one did (taken under the GIL).
  std::optional<py::error_already_set> TakeError() { return std::exchange(error_, std::nullopt); }

 private:
  std::unique_ptr<Workload> shape_;
  py::function compute_;
  std::optional<py::function> evaluate_;
  std::vector<TensorRange> tensors_;
  std::optional<ServerLost> lost_;  // in a TensorEvents call of the compute under way
  size_t batch_rows_ = 0;
  mutable std::optional<py::error_already_set> error_;
};

// run_worker(args, params, grad, compute, evaluate=None): `gradwire worker ARGS` with the
// gradient computed by compute(batch_rows) -> loss. params and grad: zeroed_floats of the
// model's size (gradwire.Worker makes them), taken as they are.
using Floats = py::array_t<float, py::array::c_style>;

void RunPythonWorker(const std::vector<std::string>& args, Floats params, Floats grad,
                     py::function compute, std::optional<py::function> evaluate, bool passes) {
  std::optional<cli::WorkerSetup> setup;
  try {
    setup = cli::WorkerFromArgs(args, "python worker");
  } catch (const cli::UsageError& e) {
    throw py::value_error(e.what());
  }
  if (!setup) return;  // --help
  const JobConfig& job = setup->job;
  if (job.workload.kind != "tensors") {
    throw py::value_error(
        "a Python worker computes --workload tensors:PREFIX models, not --workload " +
        job.workload.Text());
  }
  if (job.coding) {
    throw py::value_error("--coding's rounds are computed by C++ workers only, not Python");
  }
  std::vector<TensorRange> tensors;
  if (passes) {
    for (const TensorSpec& t : ReadTensorLayout(job.workload.tensors)) {
      const size_t begin = tensors.empty() ? 0 : tensors.back().begin + tensors.back().size;
      tensors.push_back({begin, static_cast<size_t>(t.numel)});
    }
  }
  PythonWorkload workload(MakeTensors(job.workload), std::move(compute), std::move(evaluate),
                          std::move(tensors));
  workload.set_batch_rows(job.workload.batch_size);
  const WorkerMemory memory{std::span<float>(params.mutable_data(), params.size()),
                            std::span<float>(grad.mutable_data(), grad.size())};
  std::optional<std::string> failed;
  {
    py::gil_scoped_release release;
    try {
      RunWorker(job, setup->options, workload, memory);
    } catch (const std::exception& e) {
      failed = e.what();
    }
  }
  if (std::optional<py::error_already_set> raised = workload.TakeError()) {
    raised->restore();  // the user's exception, with its traceback
    throw py::error_already_set();
  }
  if (failed) throw Error(*failed);
}

}  // namespace
}  // namespace gw::python

PYBIND11_MODULE(_gradwire, m) {
  using namespace gw;
  m.doc() = "gradwire's worker for Python (see python/README.md)";
  m.def(
      "read_layout",
      [](const std::string& prefix) {
        std::vector<std::pair<std::string, uint64_t>> out;
        for (const TensorSpec& t : ReadTensorLayout(prefix)) out.emplace_back(t.name, t.numel);
        return out;
      },
      py::arg("prefix"),
      "The tensors (name, numel) of PREFIX.csv, as --workload tensors:PREFIX reads them.");
  m.def(
      "describe_worker",
      [](const std::vector<std::string>& args) -> py::object {
        std::optional<cli::WorkerSetup> setup;
        try {
          setup = cli::WorkerFromArgs(args, "python worker");
        } catch (const cli::UsageError& e) {
          throw py::value_error(e.what());
        }
        if (!setup) return py::none();
        const JobConfig& job = setup->job;
        if (job.workload.kind != "tensors") {
          throw py::value_error(
              "a Python worker computes --workload tensors:PREFIX, not --workload " +
              job.workload.Text());
        }
        py::list tensors;
        for (const TensorSpec& t : ReadTensorLayout(job.workload.tensors)) {
          tensors.append(py::make_tuple(t.name, t.numel));
        }
        py::dict d;
        d["rank"] = setup->options.rank;
        d["num_workers"] = job.num_workers;
        d["batch"] = job.workload.batch_size;
        d["seed"] = job.workload.seed;
        d["iterations"] = job.iterations;
        d["prefix"] = job.workload.tensors;
        d["tensors"] = tensors;
        return d;
      },
      py::arg("args"),
      "What `gradwire worker ARGS` would run: rank, num_workers, batch, seed, iterations, the "
      "tensors:PREFIX and its tensors [(name, numel)]; None for --help.");
  m.def("zeroed_floats", &python::ZeroedArray, py::arg("n"),
        "n float32 zeros in memory fit to register (huge pages where available).");
  // params and grad are taken as they are (noconvert): a converted copy would not be the
  // memory the caller's tensors view.
  m.def("run_worker", &python::RunPythonWorker, py::arg("args"), py::arg("params").noconvert(),
        py::arg("grad").noconvert(), py::arg("compute"), py::arg("evaluate") = py::none(),
        py::arg("passes") = false,
        "Runs `gradwire worker ARGS` with compute(batch_rows) -> loss as its gradient, or with "
        "passes=True compute(batch_rows, events) -> loss, which tells the worker per tensor "
        "(events.wait_forward(t), events.backward_begins(), events.gradient_ready(t)).");
  py::class_<python::EventsHandle, std::shared_ptr<python::EventsHandle>>(m, "TensorEvents")
      .def("wait_forward", &python::EventsHandle::WaitForward, py::arg("tensor"),
           "Returns once tensor's parameters for this iteration landed.")
      .def("backward_begins", &python::EventsHandle::BackwardBegins,
           "The gradient is about to be written: ends the previous push (once per iteration).")
      .def("gradient_ready", &python::EventsHandle::GradientReady, py::arg("tensor"),
           "tensor's gradient is final: pushes the parts it completes.");
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
}
