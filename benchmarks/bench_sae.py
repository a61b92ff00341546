"""Time one SAE training epoch on a generated percolation dataset (the issue's target: 100k
points, d = 100, dictionary 8 x d, <= 5 s per epoch on 2 cores).

Prints seconds per epoch for a ReLU SAE (the first epoch, when about half the latents fire, and
the later ones) and a TopK SAE; the time to encode and score all points; peak memory; and the
ratio to the alternative these kernels replace: the same step written with numpy matrix
products (BLAS), timed on a few steps and scaled to an epoch.

    python benchmarks/bench_sae.py [--size 100000] [--dim 100] [--ratio 8] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numba
import numpy as np


def numpy_step(params, moments, x, l1, lr, step, beta1=0.9, beta2=0.999, eps=1e-8):
    """The ReLU SAE's Adam step with dense numpy products (the baseline)."""
    enc, b_enc, atoms, b_dec = params
    n = x.shape[0]
    xc = x - b_dec
    pre = xc @ enc.T + b_enc
    f = np.maximum(pre, 0.0)
    err = f @ atoms + b_dec - x
    grad_pre = np.where(pre > 0, 2.0 * err @ atoms.T + l1, 0.0)
    grad_b_enc = grad_pre.sum(axis=0) / n
    grads = [grad_pre.T @ xc / n, grad_b_enc, 2.0 * f.T @ err / n,
             2.0 * err.sum(axis=0) / n - enc.T @ grad_b_enc]
    grads[2] -= (grads[2] * atoms).sum(axis=1, keepdims=True) * atoms
    for p, g, m, v in zip(params, grads, *moments):
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        p -= lr / (1 - beta1 ** step) * m / (np.sqrt(v / (1 - beta2 ** step)) + eps)
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--ratio", type=float, default=8.0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--l1", type=float, default=1.0)
    parser.add_argument("--reference-steps", type=int, default=20)
    args = parser.parse_args()

    from percolation_tms import _progress
    from percolation_tms.dataset import generate
    from percolation_tms.sae import SAEConfig, encode, score_features, select_features, train_sae
    from percolation_tms.sae.train import initial_parameters

    _progress.set_quiet(True)
    start = time.perf_counter()
    data = generate("distribution", args.size, args.dim, seed=0)
    print(f"dataset: {args.size:,} points, d = {args.dim}, {data.features.shape[1]:,} features "
          f"({time.perf_counter() - start:.1f} s to generate)")
    X = data.X
    # Compile (or load from the cache) every kernel on a small run first.
    train_sae(X[:1000], SAEConfig(kind="relu", dict_ratio=args.ratio, l1=args.l1, epochs=1))
    train_sae(X[:1000], SAEConfig(kind="topk", dict_ratio=args.ratio, k=args.k, epochs=1))
    print(f"numba threads: {numba.get_num_threads()}, threading layer: "
          f"{numba.threading_layer()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")

    m = round(args.ratio * args.dim)
    print(f"dictionary m = {m}, batch 256, float64")
    first_relu_epoch = None
    for config in (SAEConfig(kind="relu", dict_ratio=args.ratio, l1=args.l1, epochs=args.epochs),
                   SAEConfig(kind="topk", dict_ratio=args.ratio, k=args.k, epochs=args.epochs)):
        cpu_start = time.process_time()
        result = train_sae(X, config)
        cpu = (time.process_time() - cpu_start) / config.epochs
        setting = f"l1 {config.l1:g}" if config.kind == "relu" else f"k {config.k}"
        # CPU seconds (all threads) per epoch: on a machine shared with other jobs, wall time
        # measures the contention; CPU time / threads is what an idle machine would take.
        print(f"{config.kind} ({setting}): seconds per epoch "
              f"{', '.join(f'{t:.2f}' for t in result.epoch_seconds)}; mean L0 per epoch "
              f"{', '.join(f'{v:.0f}' for v in result.epoch_l0)}; CPU seconds per epoch "
              f"{cpu:.2f} (/ {numba.get_num_threads()} threads: "
              f"{cpu / numba.get_num_threads():.2f})")
        if config.kind == "relu":
            first_relu_epoch = result.epoch_seconds[0]
    start = time.perf_counter()
    encoding = encode(result.sae, X)
    encode_seconds = time.perf_counter() - start
    start = time.perf_counter()
    features = select_features(data.features, data.graph.depth[args.size:])
    score_features(encoding.activations, features)
    print(f"encode all points: {encode_seconds:.2f} s; score {features.column.size:,} features: "
          f"{time.perf_counter() - start:.2f} s")

    # Baseline: the same ReLU step with numpy/BLAS products, from the same initial state (its
    # steps are first-epoch steps, so it is compared with the kernels' first epoch).
    xs = (X - X.mean(axis=0)) / np.sqrt(((X - X.mean(axis=0)) ** 2).sum() / X.size)
    params = list(initial_parameters(m, args.dim, 0, xs.mean(axis=0), 2.0 * args.dim / m))
    moments = ([np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params])
    numpy_step(params, moments, xs[:256], args.l1, 1e-3, 1)  # warm-up (BLAS threads)
    start = time.perf_counter()
    for step in range(args.reference_steps):
        numpy_step(params, moments, xs[step * 256:(step + 1) * 256], args.l1, 1e-3, step + 2)
    numpy_epoch = (time.perf_counter() - start) / args.reference_steps * np.ceil(args.size / 256)
    print(f"numpy/BLAS baseline (ReLU, first-epoch steps, scaled to an epoch): "
          f"{numpy_epoch:.2f} s per epoch; the kernels' first epoch is "
          f"{numpy_epoch / first_relu_epoch:.1f}x faster")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (whole process, dataset included): {peak:.0f} MB")


if __name__ == "__main__":
    main()
