"""Speed of the Persian Rug stage, against baselines timed in the same run.

Parts (each in its own subprocess, so that its peak resident memory is its own):

* ``step``: ms per training step (sampling, products, Adam; batch 1024) at n = 512, m = 128,
  p = 0.045 and n = 2048, m = 512, p = 0.01, of
    - this stage (sparse sampler and encoder, fused ReLU/residual, sparse g products when the
      output ReLU is mostly off, fused Adam), at the initial weights (where half the outputs
      are on and the g products go to BLAS) and after ``--warm`` training steps;
    - a plain NumPy/BLAS float32 step (dense input, six products, NumPy Adam);
    - PyTorch on CPU (``torch.nn.functional`` + ``torch.optim.Adam``, eps 1e-7; optional:
      skipped with a message when torch is not importable).
* ``rug``: ``fit_persian_rug`` at n = 8192, m = 2080, p = 0.044001 (20,000 evaluation
  samples, 5 row draws).
* ``theory``: the Gaussian-limit loss on the paper's 20 x 20 grid of (m/n, p) at n = 8192.

Run: ``python benchmarks/bench_persianrug.py [--threads T] [--repeats R] [--warm W]``.  Every
part runs with NUMBA_NUM_THREADS = OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = T (torch too).
On a busy machine read the ratios, not the times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CELLS = ((512, 128, 0.045), (2048, 512, 0.01))
BATCH = 1024


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best(function, repeats: int, inner: int) -> float:
    """Best over ``repeats`` of the mean ms of ``inner`` calls."""
    function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            function()
        best = min(best, (time.perf_counter() - start) / inner * 1e3)
    return best


# ------------------------------------------------------------------------------ steps
def _stage_step(n, m, p, repeats, warm):
    import numpy as np

    from percolation_tms.persianrug import _kernels, train
    from percolation_tms.persianrug.config import lr_for
    from percolation_tms.persianrug.data import PURPOSE_TRAIN, sample_batch

    dtype = np.dtype(np.float32)
    params = train.init_parameters(n, m, 0, dtype)
    work = train._Work(n, m, BATCH, dtype)
    m1, m2 = np.zeros_like(params.flat), np.zeros_like(params.flat)
    lr = lr_for(n)
    counter = [0]

    def step():
        t = counter[0]
        work.batch = sample_batch(0, PURPOSE_TRAIN, t, 0, BATCH, n, p, dtype, out=work.batch)
        _, grads = train.loss_and_gradient(params, work.batch, work)
        counter[0] = t + 1
        _kernels.adam_update(params.flat, grads.flat, m1, m2, lr, 0.9, 0.999, 1e-7, t + 1)

    at_init = _best(step, repeats, 10)
    for _ in range(warm):
        step()
    trained = _best(step, repeats, 10)
    nonzero = float(work.g_counts.sum()) / (BATCH * n)
    return {"stage_init_ms": at_init, "stage_trained_ms": trained,
            "g_nonzero_fraction": nonzero}


def _numpy_step(n, m, p, repeats):
    import numpy as np

    rng = np.random.default_rng(0)
    f32 = np.float32
    w_in = rng.uniform(-1, 1, (m, n)).astype(f32) / np.sqrt(n)
    w_out = rng.uniform(-1, 1, (n, m)).astype(f32) / np.sqrt(m)
    b = rng.uniform(-1, 1, n).astype(f32) / np.sqrt(m)
    params = [w_in, w_out, b]
    moments = [[np.zeros_like(x), np.zeros_like(x)] for x in params]
    lr = f32(3e-3 / np.sqrt(n))
    counter = [0]

    def step():
        x = (rng.random((BATCH, n), dtype=f32) < p) * rng.random((BATCH, n), dtype=f32)
        h = x @ w_in.T
        z = h @ w_out.T + b
        y = np.maximum(z, 0)
        g = (2.0 / (BATCH * n)) * (y - x) * (z > 0)
        grads = [(g @ w_out).T @ x, g.T @ h, g.sum(axis=0)]
        counter[0] += 1
        t = counter[0]
        for param, grad, (mm, vv) in zip(params, grads, moments):
            mm *= 0.9
            mm += 0.1 * grad
            vv *= 0.999
            vv += 0.001 * grad * grad
            param -= (lr / (1 - 0.9 ** t)) * mm / (np.sqrt(vv) / np.sqrt(1 - 0.999 ** t)
                                                    + 1e-7)

    return {"numpy_ms": _best(step, repeats, 10)}


def _torch_step(n, m, p, repeats, threads):
    try:
        import torch
    except ImportError:
        return {"torch_ms": None, "torch_note": "torch not importable: PyTorch skipped"}
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    w_in = torch.nn.Linear(n, m, bias=False)
    w_out = torch.nn.Linear(m, n, bias=True)
    optimiser = torch.optim.Adam(list(w_in.parameters()) + list(w_out.parameters()),
                                 lr=3e-3 / n ** 0.5, eps=1e-7)

    def step():
        x = (torch.rand(BATCH, n) < p).float() * torch.rand(BATCH, n)
        y = torch.relu(w_out(w_in(x)))
        loss = torch.mean((y - x) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    return {"torch_ms": _best(step, repeats, 10), "torch_version": torch.__version__}


# ------------------------------------------------------------------------------ rug, theory
def _rug(repeats):
    from percolation_tms.persianrug import fit_persian_rug

    fit_persian_rug(256, 64, 0.1, draws=1, samples=500)  # compile outside the timing
    start = time.perf_counter()
    fit = fit_persian_rug(8192, 2080, 0.044001, samples=20_000, draws=5)
    return {"rug_fit_s": time.perf_counter() - start, "rug_loss": fit.loss}


def _theory(repeats):
    import numpy as np

    from percolation_tms.persianrug import gaussian_limit_loss

    ratios, ps = np.meshgrid(np.linspace(0.002001, 0.8, 20), np.linspace(0.002001, 0.8, 20))
    m = np.maximum(1, (8192 * ratios).astype(int))
    return {"grid_ms": _best(lambda: gaussian_limit_loss(8192, m, ps), repeats, 1)}


def _child(args) -> None:
    if args.part == "step":
        n, m, p = CELLS[args.cell]
        result = {"n": n, "m": m, "p": p}
        result.update(_stage_step(n, m, p, args.repeats, args.warm))
        result.update(_numpy_step(n, m, p, args.repeats))
        result.update(_torch_step(n, m, p, args.repeats, args.threads))
    elif args.part == "rug":
        result = _rug(args.repeats)
    else:
        result = _theory(args.repeats)
    result["peak_mb"] = _peak_mb()
    print(json.dumps(result))


def _run(part, args, cell=0) -> dict:
    threads = str(args.threads)
    env = dict(os.environ, NUMBA_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
               OMP_NUM_THREADS=threads, OMP_WAIT_POLICY="passive")
    command = [sys.executable, __file__, "--child", part, "--cell", str(cell), "--threads",
               threads, "--repeats", str(args.repeats), "--warm", str(args.warm)]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warm", type=int, default=1000,
                        help="training steps before the 'trained' step timing")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cell", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        args.part = args.child
        _child(args)
        return
    print(f"threads {args.threads}, load average {os.getloadavg()[0]:.1f} "
          f"(machine cores: {os.cpu_count()})")
    print("| n | m | p | stage, init (ms) | stage, trained (ms) | g non-zero | NumPy (ms) "
          "| PyTorch (ms) | NumPy / stage | PyTorch / stage | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for cell in range(len(CELLS)):
        r = _run("step", args, cell)
        torch_ms = r.get("torch_ms")
        torch_text = f"{torch_ms:.2f}" if torch_ms else "skipped"
        ratio_torch = f"{torch_ms / r['stage_trained_ms']:.1f}x" if torch_ms else "-"
        print(f"| {r['n']} | {r['m']} | {r['p']} | {r['stage_init_ms']:.2f} | "
              f"{r['stage_trained_ms']:.2f} | {r['g_nonzero_fraction']:.3f} | "
              f"{r['numpy_ms']:.2f} | {torch_text} | "
              f"{r['numpy_ms'] / r['stage_trained_ms']:.1f}x | {ratio_torch} | "
              f"{r['peak_mb']:.0f} |")
        if r.get("torch_note"):
            print(r["torch_note"])
    rug = _run("rug", args)
    print(f"rug fit, n = 8192, m = 2080, p = 0.044001, 20,000 samples, 5 draws: "
          f"{rug['rug_fit_s']:.1f} s (loss {rug['rug_loss']:.4e}), peak {rug['peak_mb']:.0f} MB")
    theory = _run("theory", args)
    print(f"Gaussian limit, 20 x 20 grid: {theory['grid_ms']:.0f} ms, "
          f"peak {theory['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
