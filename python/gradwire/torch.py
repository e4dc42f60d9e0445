"""gradwire.torch: train a torch.nn.Module as a gradwire worker.

    model = Net()                                   # the same seed on every process
    gradwire.torch.export_model(model, "runs/net")  # once, before the servers start
    worker = gradwire.Worker(["--workload", "tensors:runs/net", ...])
    gradwire.torch.train(model, worker, lambda rows: loss_of_next_batch(rows))

The model's parameters become views of the memory the servers write the new parameters into,
and their .grad views of the memory the worker pushes from: backward() accumulates straight
into it, no copy either way (bind(); train() binds too). train() pushes each part of the
gradient from a backward hook the moment its tensors are final, and the next forward pass
waits module by module for the parameters it reads (as real training overlaps them: P3,
ByteScheduler); Worker.run(step_fn(...)) after bind() is the plain form, one whole push after
backward. The servers apply the update (the job's --lr, --momentum, --weight-decay,
--lr-schedule), so the script has no optimizer of its own.
"""

import torch

from . import write_model


def export_model(model, prefix):
    """Writes the model's layout (PREFIX.csv: one row per parameter, named as
    named_parameters() names it) and its current parameters (PREFIX.f32)."""
    write_model(prefix, [(name, p.detach().cpu().float().numpy())
                         for name, p in model.named_parameters()])


def check_layout(model, worker):
    """Raises ValueError naming the first tensor where the model and the job's layout differ."""
    mine = [(name, p.numel()) for name, p in model.named_parameters()]
    theirs = list(worker.tensors.items())
    for i in range(max(len(mine), len(theirs))):
        if i >= len(mine):
            raise ValueError(f"the job's tensor {i} ({theirs[i][0]}) is missing from the model "
                             f"({len(mine)} tensors, the job's {worker.prefix}.csv has "
                             f"{len(theirs)})")
        if i >= len(theirs):
            raise ValueError(f"the model's tensor {i} ({mine[i][0]}) is not in the job's "
                             f"{worker.prefix}.csv ({len(theirs)} tensors, the model has "
                             f"{len(mine)})")
        name, numel = mine[i]
        job_name, (_, job_numel) = theirs[i]
        if name != job_name or numel != job_numel:
            raise ValueError(f"tensor {i}: the model has {name} of {numel} parameters, the "
                             f"job's {worker.prefix}.csv {job_name} of {job_numel}")


def bind(model, worker):
    """Makes the model's parameters and gradients views of the worker's memory (after
    check_layout). Their values until the first iteration are the job's initial ones, which
    the servers send before it."""
    check_layout(model, worker)
    with torch.no_grad():
        for name, p in model.named_parameters():
            data = torch.from_numpy(worker.view(worker.params, name)).view(p.shape)
            grad = torch.from_numpy(worker.view(worker.grad, name)).view(p.shape)
            p.data = data
            p.grad = grad


def step_fn(model, loss_of_batch):
    """A compute function for Worker.run: zeroes the gradients (in place, in the worker's
    memory), runs loss_of_batch(rows) (the forward pass of the next minibatch of that many
    rows, returning the loss), backward(), and returns the loss."""
    params = list(model.parameters())

    def compute(batch_rows):
        for p in params:
            p.grad.zero_()
        loss = loss_of_batch(batch_rows)
        loss.backward()
        return float(loss.detach())

    return compute


class _Passes:
    """The hooks that tell the worker, tensor by tensor, what the real passes do (on a model
    bind() checked and bound)."""

    def __init__(self, model, worker):
        index = {name: i for i, name in enumerate(worker.tensors)}
        self.params = [(index[name], p) for name, p in model.named_parameters()]
        self.events = None
        self.ready = set()
        self.accumulators = []  # kept alive: autograd holds them weakly
        for module_name, module in model.named_modules():
            own = [index[n] for n in (module_name + ("." if module_name else "") + pn
                                      for pn, _ in module.named_parameters(recurse=False))
                   if n in index]
            if own:
                module.register_forward_pre_hook(self._forward_hook(own))
        for i, p in self.params:
            # The node that accumulates p's gradient: its hook runs once the gradient is in.
            accumulator = p.expand_as(p).grad_fn.next_functions[0][0]
            accumulator.register_hook(self._ready_hook(i))
            self.accumulators.append(accumulator)

    def _forward_hook(self, tensors):
        def hook(module, inputs):
            if self.events is not None:
                for t in tensors:
                    self.events.wait_forward(t)
        return hook

    def _ready_hook(self, i):
        def hook(*unused):
            if self.events is not None and i not in self.ready:
                self.ready.add(i)
                self.events.gradient_ready(i)
        return hook

    def compute(self, loss_of_batch):
        def compute(batch_rows, events):
            self.events, self.ready = events, set()
            try:
                loss = loss_of_batch(batch_rows)
                # The gradient memory is the previous push's source until now.
                events.backward_begins()
                for _, p in self.params:
                    p.grad.zero_()
                loss.backward()
                for i, _ in self.params:  # tensors the pass did not use: a zero gradient
                    if i not in self.ready:
                        events.gradient_ready(i)
            finally:
                self.events = None
            return float(loss.detach())
        return compute


def train(model, worker, loss_of_batch, evaluate=None):
    """Trains the model as the worker's job says, overlapping communication with the real
    passes: bind(), then Worker.run(passes=True) with hooks on every module and parameter.
    loss_of_batch(rows) runs the forward pass on the next minibatch and returns the loss."""
    bind(model, worker)
    passes = _Passes(model, worker)
    worker.run(passes.compute(loss_of_batch), evaluate, passes=True)
