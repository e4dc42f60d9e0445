"""gradwire for Python: a worker whose gradient Python computes.

A Python worker is `gradwire worker` with the gradient computed by a Python function: it takes
the same flags (token, fingerprint, sync rule, windows, stragglers, --out), joins the same
servers and writes the same CSVs. Its model is a `--workload tensors:PREFIX` model
(PREFIX.csv lists the tensors, PREFIX.f32 holds the initial parameters the servers broadcast;
write both with write_model or gradwire.torch.export_model). The parameters the servers write
and the gradient pushed from are two numpy arrays registered with the transport: views of them
(torch.from_numpy) read and write that memory without copies.
"""

import numpy as np

from . import _gradwire

Error = _gradwire.Error


def read_layout(prefix):
    """The tensors [(name, numel)] of PREFIX.csv, as the servers read them."""
    return _gradwire.read_layout(prefix)


def write_model(prefix, tensors):
    """Writes PREFIX.csv and PREFIX.f32 from [(name, array)] in the flat vector's order."""
    arrays = [(str(name), np.ascontiguousarray(a, dtype="<f4").ravel()) for name, a in tensors]
    if not arrays:
        raise ValueError("a model needs at least one tensor")
    for name, a in arrays:
        if a.size == 0:
            raise ValueError(f"tensor {name} is empty")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"tensor {name} holds a value that is not finite")
        if any(c in name for c in ',"\r\n') or name != name.strip():
            raise ValueError(f"tensor name {name!r} has a comma, quote, line end or edge space")
    with open(prefix + ".csv", "w", encoding="utf-8") as f:
        f.write("layer,params\n")
        for name, a in arrays:
            f.write(f"{name},{a.size}\n")
    with open(prefix + ".f32", "wb") as f:
        for _, a in arrays:
            f.write(a.tobytes())


class Worker:
    """One worker of a job: `args` are `gradwire worker`'s flags (--workload tensors:PREFIX).

    params and grad are the model's memory (float32, the flat vector); tensors maps each
    tensor's name to its (begin, numel) in it. run(compute) trains: before each iteration the
    servers' parameters are in params, compute(batch_rows) writes the gradient into grad and
    returns the minibatch's loss.
    """

    def __init__(self, args):
        self.args = [str(a) for a in args]
        about = _gradwire.describe_worker(self.args)
        if about is None:
            raise SystemExit(0)  # --help was printed
        self.rank = about["rank"]
        self.size = about["num_workers"]
        self.batch = about["batch"]
        self.seed = about["seed"]
        self.iterations = about["iterations"]
        self.prefix = about["prefix"]
        self.tensors = {}
        begin = 0
        for name, numel in about["tensors"]:
            self.tensors[name] = (begin, numel)
            begin += numel
        self.num_params = begin
        self.params = _gradwire.zeroed_floats(begin)
        self.grad = _gradwire.zeroed_floats(begin)

    def view(self, array, name):
        """The slice of `array` (params or grad) that holds tensor `name`."""
        begin, numel = self.tensors[name]
        return array[begin:begin + numel]

    def run(self, compute, evaluate=None, passes=False):
        """Trains the job's iterations; evaluate(params) -> (loss, accuracy) for the final
        model's summary (rank 0 by default, --evaluate). Raises the compute function's own
        exception, or gradwire.Error with the worker's reason (a lost server, a refusal).

        passes=True: compute(batch_rows, events) runs the passes itself and tells the worker,
        by tensor index (the order of self.tensors), what it does: events.wait_forward(t)
        before the forward pass reads tensor t (the rest of the model may still be landing),
        events.backward_begins() before the first gradient write (the previous iteration's
        push, whose source the gradient memory is, ends then), events.gradient_ready(t) once
        tensor t's gradient is final (the parts it completes are pushed at once, while the
        backward pass goes on). gradwire.torch.train does this with hooks."""
        _gradwire.run_worker(self.args, self.params, self.grad, compute, evaluate, passes)
