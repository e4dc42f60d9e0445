"""One worker of a small MLP regression job, trained by gradwire or, for reference, by
torch.distributed (gloo all-reduce of the gradients, the same SGD with momentum locally).

    mlp_job.py export PREFIX                      the model's layout and initial parameters
    mlp_job.py gradwire LOSSES ARGS...            a gradwire worker (`gradwire worker` ARGS;
                                                  "%d" in LOSSES becomes the rank)
    mlp_job.py gloo LOSSES RANK SIZE PORT ITERATIONS LR MOMENTUM

Every run builds the same model (seed 0) and draws rank r's minibatches from a generator
seeded 100 + r, so both trainers see the same data in the same order; LOSSES gets one loss per
iteration. An environment variable GW_TEST_RAISE_AT=I makes the compute raise at iteration I;
GW_TEST_PASSES=1 trains with gradwire.torch.train (per-tensor pushes from backward hooks,
forward waits per module) instead of one whole push after backward (step_fn).
"""

import os
import sys
import time

import torch

BATCH = 32
# 6-256-1: 2,049 floats, three 4 KiB parts (a priority order's smallest), the middle one shared
# by three tensors.
HIDDEN = 256


class _TanhSlowBackward(torch.autograd.Function):
    """tanh whose backward takes a few milliseconds, as a real layer's does: the last layer's
    gradients are ready well before the first layer's, so a part pushed before all of its
    tensors' gradients are in goes out stale (and the loss curve parts from the reference)."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        time.sleep(0.003)
        return grad * (1 - y * y)


class SlowTanh(torch.nn.Module):
    def forward(self, x):
        return _TanhSlowBackward.apply(x)


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, HIDDEN), SlowTanh(), torch.nn.Linear(HIDDEN, 1))


def batches(rank):
    g = torch.Generator().manual_seed(100 + rank)
    target = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    torch.manual_seed(7)
    for p in target.parameters():
        torch.nn.init.normal_(p, std=1.0)
    target.requires_grad_(False)
    while True:
        x = torch.randn(BATCH, 6, generator=g)
        yield x, target(x)


def main():
    mode = sys.argv[1]
    model = make_model()
    if mode == "export":
        import gradwire.torch as gt
        gt.export_model(model, sys.argv[2])
        return
    losses_file = sys.argv[2]
    losses = []
    if mode == "gradwire":
        import gradwire
        import gradwire.torch as gt
        worker = gradwire.Worker(sys.argv[3:])
        if "%d" in losses_file:
            losses_file = losses_file % worker.rank
        if os.environ.get("GW_TEST_PASSES") != "1":
            gt.bind(model, worker)
        data = batches(worker.rank)
        raise_at = int(os.environ.get("GW_TEST_RAISE_AT", "-1"))

        def loss_of(rows):
            if len(losses) == raise_at:
                raise KeyError("raised on purpose at iteration %d" % raise_at)
            x, y = next(data)
            loss = torch.nn.functional.mse_loss(model(x), y)
            losses.append(float(loss))
            return loss

        try:
            if os.environ.get("GW_TEST_PASSES") == "1":
                gt.train(model, worker, loss_of)
            else:
                worker.run(gt.step_fn(model, loss_of))
        finally:
            with open(losses_file, "w") as f:
                f.write("".join("%.9g\n" % v for v in losses))
        return
    rank, size, port, iterations = (int(a) for a in sys.argv[3:7])
    lr, momentum = float(sys.argv[7]), float(sys.argv[8])
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank,
                            world_size=size)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    data = batches(rank)
    for _ in range(iterations):
        x, y = next(data)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        for p in model.parameters():
            dist.all_reduce(p.grad)
            p.grad /= size
        opt.step()
        losses.append(float(loss))
    dist.destroy_process_group()
    with open(losses_file, "w") as f:
        f.write("".join("%.9g\n" % v for v in losses))


if __name__ == "__main__":
    main()
