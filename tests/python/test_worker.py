"""Python workers (python/gradwire) against the real gradwire server, over loopback TCP.

Run by ctest with PYTHONPATH=<build>/python and GW_BINARY=<build>/apps/gradwire/gradwire.
"""

import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
import torch

import gradwire
import gradwire.torch as gt

HERE = os.path.dirname(os.path.abspath(__file__))
JOB_SCRIPT = os.path.join(HERE, "mlp_job.py")
GRADWIRE = os.environ.get("GW_BINARY", "gradwire")
TOKEN = "python-test-token"
# ASP applies each worker's stale gradient alone: the defaults (lr 0.1, momentum 0.9) make
# the MLP diverge within a few hundred updates, and the server drops non-finite gradients.
ASP_STEP = ["--lr", "0.02", "--momentum", "0.5"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_losses(path):
    with open(path) as f:
        return [float(line) for line in f if line.strip()]


class Job:
    """A server and Python workers of one job in a scratch directory."""

    def __init__(self, test, workers, flags):
        self.dir = tempfile.mkdtemp(prefix="gw-python-")
        test.addCleanup(subprocess.run, ["rm", "-rf", self.dir])
        self.prefix = os.path.join(self.dir, "mlp")
        subprocess.run([sys.executable, JOB_SCRIPT, "export", self.prefix], check=True)
        self.port = free_port()
        self.job = ["--num-workers", str(workers), "--workload", "tensors:" + self.prefix,
                    "--batch", "32"] + flags
        self.env = dict(os.environ, GRADWIRE_TOKEN=TOKEN)
        self.out = os.path.join(self.dir, "out")
        self.procs = []
        self.server = self.start([GRADWIRE, "server", "--rank", "0", "--listen",
                                  "tcp://127.0.0.1:%d" % self.port, "--out", self.out] + self.job)
        test.addCleanup(self.kill)

    def start(self, argv, env=None):
        p = subprocess.Popen(argv, env=env or self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def worker(self, rank, env=None):
        losses = os.path.join(self.dir, "losses-%d.txt" % rank)
        argv = [sys.executable, JOB_SCRIPT, "gradwire", losses, "--rank", str(rank), "--servers",
                "tcp://127.0.0.1:%d" % self.port, "--out", self.out] + self.job
        return self.start(argv, dict(self.env, **(env or {}))), losses

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.communicate()


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


class LayoutTest(unittest.TestCase):
    def test_an_exported_model_reads_back_as_its_tensors_and_initial_values(self):
        d = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        torch.manual_seed(3)
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(),
                                    torch.nn.Linear(4 * 6 * 6, 10))
        gt.export_model(model, d + "/m")
        self.assertEqual(gradwire.read_layout(d + "/m"),
                         [(n, p.numel()) for n, p in model.named_parameters()])
        flat = np.fromfile(d + "/m.f32", dtype="<f4")
        expected = torch.cat([p.detach().ravel() for p in model.parameters()]).numpy()
        np.testing.assert_array_equal(flat, expected)

    def test_a_layout_the_server_could_not_read_is_refused_when_written(self):
        d = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        with self.assertRaisesRegex(ValueError, "comma"):
            gradwire.write_model(d + "/m", [("a,b", np.ones(3))])
        with self.assertRaisesRegex(ValueError, "not finite"):
            gradwire.write_model(d + "/m", [("a", np.array([1.0, np.nan]))])
        with open(d + "/bad.csv", "w") as f:
            f.write("layer,params\nfc,-3\n")
        with self.assertRaisesRegex(gradwire.Error, "bad.csv:2"):
            gradwire.read_layout(d + "/bad")

    def test_a_model_whose_layout_differs_from_the_jobs_is_refused_naming_the_tensor(self):
        d = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        subprocess.run([sys.executable, JOB_SCRIPT, "export", d + "/mlp"], check=True)
        worker = gradwire.Worker(["--num-workers", "1", "--rank", "0", "--workload",
                                  "tensors:" + d + "/mlp", "--insecure-no-token"])
        wider = torch.nn.Sequential(torch.nn.Linear(6, 257), torch.nn.Tanh(),
                                    torch.nn.Linear(257, 1))
        with self.assertRaisesRegex(ValueError, "tensor 0: the model has 0.weight of 1542"):
            gt.bind(wider, worker)
        shorter = torch.nn.Sequential(torch.nn.Linear(6, 256))
        with self.assertRaisesRegex(ValueError, "tensor 2 \\(2.weight\\) is missing"):
            gt.bind(shorter, worker)

    def test_a_push_order_needs_per_tensor_passes(self):
        """A priority order ranks parts as backward produces them: a worker that computes its
        gradient in one call (step_fn) cannot follow it and says so before joining."""
        d = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        subprocess.run([sys.executable, JOB_SCRIPT, "export", d + "/mlp"], check=True)
        worker = gradwire.Worker(["--num-workers", "1", "--rank", "0", "--workload",
                                  "tensors:" + d + "/mlp", "--part-bytes", "4K", "--push-order",
                                  "priority", "--insecure-no-token"])
        model = torch.nn.Sequential(torch.nn.Linear(6, 256), torch.nn.Tanh(),
                                    torch.nn.Linear(256, 1))
        gt.bind(model, worker)
        with self.assertRaisesRegex(gradwire.Error, "gradwire.torch.train pushes tensor by"):
            worker.run(gt.step_fn(model, lambda rows: model(torch.zeros(rows, 6)).sum()))
        with self.assertRaisesRegex(ValueError, "tensors:PREFIX"):
            gradwire.Worker(["--num-workers", "1", "--rank", "0", "--workload", "softmax",
                             "--insecure-no-token"])


class TrainingTest(unittest.TestCase):
    ITERATIONS = 60
    LR = 0.05
    MOMENTUM = 0.9

    def test_bsp_gives_the_loss_curve_of_torch_distributed_all_reduce(self):
        """Parity: the same seeded model, data order and global batch trained by gradwire
        (BSP, the server's SGD with momentum) and by torch.distributed (gloo all-reduce of the
        gradients, torch.optim.SGD) give the same losses within float32 rounding."""
        self.expect_parity([], {})

    def test_per_tensor_pushes_from_backward_hooks_keep_the_loss_curve(self):
        """gradwire.torch.train: each 40-byte part pushed once its tensors' gradients are in
        (the MLP's 4 tensors of 1536, 256, 256 and 1 floats across 205 parts, three of them
        shared by two tensors), the next forward pass waiting module by module. A part pushed
        before its gradient was whole, or parameters read before they landed, would part the
        curve from torch.distributed's (the hidden layer's backward takes 3 ms, so a shared
        part pushed at its first tensor's hook goes out stale)."""
        self.expect_parity(["--part-bytes", "40"], {"GW_TEST_PASSES": "1"})

    def test_a_priority_order_keeps_the_loss_curve(self):
        """P3's priority order, one part in flight: of the three 4 KiB parts (the middle one
        shared by three tensors) the first goes before the middle one when both become ready
        at the end of backward, the last one (the output bias) long before. Nothing is lost,
        doubled or sent before it is whole."""
        self.expect_parity(["--part-bytes", "4K", "--push-order", "priority:inflight=1"],
                           {"GW_TEST_PASSES": "1"})

    def expect_parity(self, flags, env):
        job = Job(self, 2, ["--sync", "bsp", "--iterations", str(self.ITERATIONS), "--lr",
                            str(self.LR), "--momentum", str(self.MOMENTUM), "--timeout", "60"]
                  + flags)
        workers = [job.worker(r, env) for r in range(2)]
        for p, _ in workers:
            code, log = finish(p)
            self.assertEqual(code, 0, log)
        code, log = finish(job.server)
        self.assertEqual(code, 0, log)
        port = free_port()
        ref = []
        for r in range(2):
            losses = os.path.join(job.dir, "gloo-%d.txt" % r)
            ref.append((job.start([sys.executable, JOB_SCRIPT, "gloo", losses, str(r), "2",
                                   str(port), str(self.ITERATIONS), str(self.LR),
                                   str(self.MOMENTUM)]), losses))
        for p, _ in ref:
            code, log = finish(p)
            self.assertEqual(code, 0, log)
        for r in range(2):
            ours, theirs = read_losses(workers[r][1]), read_losses(ref[r][1])
            self.assertEqual(len(ours), self.ITERATIONS)
            self.assertEqual(len(theirs), self.ITERATIONS)
            # Float32 sums in another order (and fused multiply-adds) part the curves by
            # rounding only: 1e-4 relative is orders of magnitude above it and far below
            # what one skipped or doubled update does.
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7,
                                       err_msg="rank %d's losses" % r)
            self.assertLess(np.mean(ours[-10:]), 0.5 * np.mean(ours[:5]), "it did not learn")
        # The C++ worker's results: one row per iteration in worker-R.csv.
        with open(os.path.join(job.out, "worker-0.csv")) as f:
            self.assertEqual(len(f.read().splitlines()), self.ITERATIONS + 1)

    def test_an_exception_in_the_compute_is_raised_in_python_and_the_job_goes_on(self):
        job = Job(self, 2, ["--sync", "asp", "--iterations", "40", "--timeout", "10"] + ASP_STEP)
        failing, _ = job.worker(1, {"GW_TEST_RAISE_AT": "5"})
        good, losses = job.worker(0)
        code, log = finish(failing)
        self.assertNotEqual(code, 0)
        self.assertIn("KeyError: 'raised on purpose at iteration 5'", log)
        self.assertIn("loss_of", log, "the traceback reaches the user's function")
        code, log = finish(good)
        self.assertEqual(code, 0, log)
        self.assertEqual(len(read_losses(losses)), 40)
        code, log = finish(job.server)
        self.assertEqual(code, 0, log)
        self.assertIn("worker 1", log)

    def test_gradwire_run_starts_python_workers_and_merges_their_results(self):
        d = tempfile.mkdtemp(prefix="gw-python-")
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        subprocess.run([sys.executable, JOB_SCRIPT, "export", d + "/mlp"], check=True)
        cmd = "%s %s gradwire %s/losses-%%d.txt" % (sys.executable, JOB_SCRIPT, d)
        run = subprocess.run(
            [GRADWIRE, "run", "--out", d + "/out", "--worker-cmd", cmd, "--num-workers", "2",
             "--workload", "tensors:" + d + "/mlp", "--batch", "32", "--iterations", "25",
             "--sync", "bsp", "--timeout", "60", "--part-bytes", "4K"],
            capture_output=True, text=True, timeout=600, env=dict(os.environ, GW_TEST_PASSES="1"))
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        for r in range(2):
            self.assertEqual(len(read_losses("%s/losses-%d.txt" % (d, r))), 25)
        with open(d + "/out/iterations.csv") as f:
            self.assertEqual(len(f.read().splitlines()), 2 * 25 + 1, "both workers' rows")
        with open(d + "/out/command.txt") as f:
            self.assertIn("--worker-cmd", f.read())
        # Per-tensor records (layers-W.csv) as a C++ layered worker writes them: 4 tensors a
        # iteration; a part's push (counted for its first tensor: 0.weight for the first two
        # 4 KiB parts, 2.bias for the last) starts once that tensor's gradient exists, and
        # under BSP its parameters land after its push began.
        with open(d + "/out/layers-1.csv") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 25 * 4)
        self.assertEqual(sorted({int(r["iteration"]) for r in rows}), list(range(25)))
        for r in rows:
            t = {k: float(v) for k, v in r.items() if k.endswith("_s")}
            self.assertGreater(t["backward_end_s"], 0, r)
            if r["layer"] in ("0", "3"):
                self.assertGreaterEqual(t["push_start_s"], t["backward_end_s"], r)
                self.assertGreaterEqual(t["push_end_s"], t["push_start_s"], r)
                self.assertGreater(t["params_s"], t["push_start_s"], r)
            else:
                self.assertEqual(t["push_start_s"], 0, "a part counts for its first tensor")

    def test_a_killed_python_worker_is_lost_as_a_cpp_worker_is(self):
        job = Job(self, 2, ["--sync", "asp", "--iterations", "3000", "--timeout", "10"] + ASP_STEP)
        victim, _ = job.worker(1)
        good, _ = job.worker(0)
        # Killed once it trains (its results file is open), not while it starts.
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(job.out, "worker-1.csv")):
            self.assertIsNone(victim.poll(), "worker 1 ended before it was killed")
            self.assertLess(time.monotonic(), deadline, "worker 1 never started training")
            time.sleep(0.05)
        time.sleep(0.3)
        victim.kill()
        code, log = finish(good)
        self.assertEqual(code, 0, log)
        code, log = finish(job.server)
        self.assertEqual(code, 0, log)
        self.assertRegex(log, "worker 1 .*(lost|gone|closed)")


if __name__ == "__main__":
    unittest.main()
