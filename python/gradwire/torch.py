"""gradwire.torch: train a torch.nn.Module as a gradwire worker.

    model = Net()                                   # the same seed on every process
    gradwire.torch.export_model(model, "runs/net")  # once, before the servers start
    worker = gradwire.Worker(["--workload", "tensors:runs/net", ...])
    gradwire.torch.bind(model, worker)              # parameters and gradients in its memory
    worker.run(gradwire.torch.step_fn(model, lambda rows: loss_of_next_batch(rows)))

The model's parameters become views of the memory the servers write the new parameters into,
and their .grad views of the memory the worker pushes from: backward() accumulates straight
into it, no copy either way. The servers apply the update (the job's --lr, --momentum,
--weight-decay, --lr-schedule), so the script has no optimizer of its own.
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
