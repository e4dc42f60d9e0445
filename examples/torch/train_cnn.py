"""LeNet-5 on Fashion-MNIST as a gradwire worker (python/README.md).

    train_cnn.py --export PREFIX      writes the model's layout and initial parameters
    train_cnn.py WORKER-FLAGS...      one worker: `gradwire worker`'s flags, as `gradwire run
                                      --worker-cmd` passes them

Every process builds the same model (seed 0). Worker r of n trains on every n-th image of a
seeded shuffle of the 60,000 training images, a minibatch of --batch rows per iteration; with
--evaluate (rank 0's default) the final model's test loss and accuracy go to summary.csv.
Data: Debian's dataset-fashion-mnist (GW_FASHION_MNIST overrides the directory).
"""

import gzip
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

import gradwire
import gradwire.torch as gt

DATA = os.environ.get("GW_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def lenet5():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(16 * 5 * 5, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84),
        torch.nn.ReLU(), torch.nn.Linear(84, 10))


def read_idx(name):
    for path in (os.path.join(DATA, name + ".gz"), os.path.join(DATA, name)):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                raw = f.read()
            dims = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise SystemExit("train_cnn.py: no %s(.gz) in %s (apt-get install dataset-fashion-mnist, "
                     "or set GW_FASHION_MNIST)" % (name, DATA))


def images(prefix):
    x = torch.from_numpy(read_idx(prefix + "-images-idx3-ubyte").astype(np.float32) / 255.0)
    y = torch.from_numpy(read_idx(prefix + "-labels-idx1-ubyte").astype(np.int64))
    return (x.unsqueeze(1) - 0.2860) / 0.3530, y


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--export":
        gt.export_model(lenet5(), sys.argv[2])
        return
    model = lenet5()
    worker = gradwire.Worker(sys.argv[1:])
    x, y = images("train")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(worker.seed))
    mine = order[worker.rank::worker.size]
    state = {"at": 0}

    def loss_of(rows):
        if state["at"] + rows > len(mine):
            state["at"] = 0
        idx = mine[state["at"]:state["at"] + rows]
        state["at"] += rows
        return F.cross_entropy(model(x[idx]), y[idx])

    test = images("t10k")
    probe = lenet5()

    def evaluate(params):
        # Called for the kept models once training is over: every core is free then.
        torch.set_num_threads(os.cpu_count() or 1)
        with torch.no_grad():
            at = 0
            for p in probe.parameters():
                p.copy_(torch.from_numpy(params[at:at + p.numel()]).view(p.shape))
                at += p.numel()
            logits = probe(test[0])
            return (float(F.cross_entropy(logits, test[1])),
                    float((logits.argmax(1) == test[1]).float().mean()))

    torch.set_num_threads(1)  # one core per worker: several share this machine
    # Each part of the gradient pushed from a backward hook once its tensors are final, the
    # next forward pass waiting module by module for the parameters it reads.
    gt.train(model, worker, loss_of, evaluate)


if __name__ == "__main__":
    main()
