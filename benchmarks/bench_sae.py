"""Time SAE training on a generated percolation dataset (100k points, d = 100, 800 latents,
batch 256), every architecture of the project, and SAELens 6.54 on the same data when it is
importable (optional: torch and sae-lens are never dependencies of the package).

Prints, per architecture, seconds per epoch (wall and CPU, and CPU / threads: on a shared
machine wall time measures the contention); the numpy/BLAS baseline of the ReLU step; and,
with SAELens, both TopK SAEs (k = 8, 2 epochs, the same standardised X in the same order)
trained in the same run and scored by the project's scoring (FVU, mean best Pearson
correlation by size band, dead fraction; MCC needs known directions, so it is undefined on
percolation data).

    PYTHONPATH=src python benchmarks/bench_sae.py [--size 100000] [--dim 100] [--ratio 8]
        [--epochs 2] [--kinds relu,topk,batchtopk,jumprelu,matryoshka] [--no-saelens]
        [--torch-threads 2] [--cache /tmp/bench_X.npz]
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


SETTINGS = {"relu": {"l1": 1.0}, "topk": {"k": 8}, "batchtopk": {"k": 8},
            "matryoshka": {"k": 8}, "jumprelu": {"l0_coefficient": 0.1}}


def load_data(args):
    from percolation_tms.dataset import generate

    if args.cache and os.path.exists(args.cache):
        z = np.load(args.cache, allow_pickle=False)
        from scipy import sparse
        features = sparse.csc_matrix((z["data"], z["indices"], z["indptr"]), shape=z["shape"])
        return z["X"], features, z["depth"]
    data = generate("distribution", args.size, args.dim, seed=0)
    features = data.features.tocsc()
    depth = data.graph.depth[args.size:]
    if args.cache:
        np.savez(args.cache, X=data.X, data=features.data, indices=features.indices,
                 indptr=features.indptr, shape=np.array(features.shape), depth=depth)
    return data.X, features, depth


def score(sae, X, features, label):
    from percolation_tms.sae import encode, score_features, summarize

    encoding = encode(sae, X)
    match = score_features(encoding.activations, features)
    bands = summarize(match, features, "depth")
    bands = bands[bands["size_band"] != "all"].groupby("size_low").apply(
        lambda t: np.average(t["mean_pearson"], weights=t["n_features"]), include_groups=False)
    dead = 1.0 - np.unique(encoding.activations.indices).size / sae.n_latents
    text = ", ".join(f"{low}+: {value:.3f}" for low, value in bands.items() if low >= 16)
    print(f"  {label:9s} FVU {encoding.fvu:.4f}  L0 {encoding.mean_l0:.2f}  dead "
          f"{dead:.3f}  mean best Pearson {np.nanmean(match.pearson):.4f}  by size band "
          f"(points) {text}")


def saelens_topk(xs, args, order_of_epoch):
    """Train SAELens' TopK SAE on the standardised float32 points in the project's order."""
    import torch
    from sae_lens import SAETrainer, TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.config import LoggingConfig, SAETrainerConfig

    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(0)
    m = round(args.ratio * xs.shape[1])
    sae = TopKTrainingSAE(TopKTrainingSAEConfig(
        d_in=xs.shape[1], d_sae=m, k=8, dtype="float32", device="cpu",
        aux_loss_coefficient=0.0, rescale_acts_by_decoder_norm=True))
    x32 = torch.from_numpy(xs.astype(np.float32))

    def batches():
        for epoch in range(args.epochs):
            order = torch.from_numpy(order_of_epoch(epoch))
            for start in range(0, xs.shape[0], 256):
                yield x32[order[start:start + 256]]

    samples = args.epochs * xs.shape[0]
    trainer = SAETrainer(SAETrainerConfig(
        total_training_samples=samples, train_batch_size_samples=256, lr=1e-3, lr_end=1e-3,
        device="cpu", logger=LoggingConfig(log_to_wandb=False)), sae, batches(),
        evaluator=None)
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit()
    return trainer.sae, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--ratio", type=float, default=8.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--kinds", default="relu,topk,batchtopk,jumprelu,matryoshka")
    parser.add_argument("--no-saelens", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--reference-steps", type=int, default=20)
    parser.add_argument("--cache", default=None, help="npz to keep the generated data in")
    args = parser.parse_args()

    from percolation_tms import _progress
    from percolation_tms._rng import DOMAIN_SAE_BATCH
    from percolation_tms.sae import SAEConfig, _kernels, select_features, train_sae
    from percolation_tms.sae.train import initial_parameters, standardization

    _progress.set_quiet(True)
    start = time.perf_counter()
    X, features_matrix, depth = load_data(args)
    print(f"dataset: {X.shape[0]:,} points, d = {X.shape[1]}, {features_matrix.shape[1]:,} "
          f"features ({time.perf_counter() - start:.1f} s to generate or load)")
    features = select_features(features_matrix, depth)
    kinds = args.kinds.split(",")
    for kind in kinds:  # compile (or load from the cache) every kernel first
        train_sae(X[:1000], SAEConfig(kind=kind, dict_ratio=args.ratio, epochs=1,
                                      **SETTINGS[kind]))
    threads = numba.get_num_threads()
    print(f"numba threads: {threads}, threading layer: {numba.threading_layer()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; load average "
          f"{os.getloadavg()[0]:.1f}")
    m = round(args.ratio * X.shape[1])
    print(f"dictionary m = {m}, batch 256, float64, {args.epochs} epochs")
    results = {}
    for kind in kinds:
        config = SAEConfig(kind=kind, dict_ratio=args.ratio, epochs=args.epochs,
                           **SETTINGS[kind])
        cpu_start = time.process_time()
        result = train_sae(X, config)
        cpu = time.process_time() - cpu_start
        results[kind] = (result, cpu)
        print(f"{kind:10s} ({config.sparsity_label()}): wall s/epoch "
              f"{', '.join(f'{t:.2f}' for t in result.epoch_seconds)}; CPU s/epoch "
              f"{cpu / args.epochs:.2f} (/ {threads} threads: {cpu / args.epochs / threads:.2f}"
              f"); L0 per epoch {', '.join(f'{v:.1f}' for v in result.epoch_l0)}")

    if "relu" in results:
        mean, scale = standardization(X)
        xs = (X - mean) / scale
        params = list(initial_parameters(m, X.shape[1], 0, xs.mean(axis=0),
                                         2.0 * X.shape[1] / m))
        moments = ([np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params])
        numpy_step(params, moments, xs[:256], 1.0, 1e-3, 1)  # warm-up (BLAS threads)
        start = time.perf_counter()
        for step in range(args.reference_steps):
            numpy_step(params, moments, xs[step * 256:(step + 1) * 256], 1.0, 1e-3, step + 2)
        numpy_epoch = ((time.perf_counter() - start) / args.reference_steps
                       * np.ceil(X.shape[0] / 256))
        first = results["relu"][0].epoch_seconds[0]
        print(f"numpy/BLAS baseline (ReLU, first-epoch steps, scaled to an epoch): "
              f"{numpy_epoch:.2f} s per epoch; the kernels' first epoch is "
              f"{numpy_epoch / first:.1f}x faster")

    if not args.no_saelens and "topk" in results:
        try:
            import sae_lens
        except ImportError:
            print("SAELens not importable: comparison skipped")
        else:
            import tempfile

            from percolation_tms.sae import read_saelens

            mean, scale = standardization(X)
            xs = (X - mean) / scale
            lens, wall, cpu = saelens_topk(
                xs, args, lambda e: _kernels.shuffled_order(X.shape[0], 0, DOMAIN_SAE_BATCH,
                                                            e))
            ours, our_cpu = results["topk"]
            print(f"SAELens {sae_lens.__version__} TopK (k 8, float32, torch threads "
                  f"{args.torch_threads}): {wall:.2f} s wall, {cpu:.2f} s CPU for "
                  f"{args.epochs} epochs; project TopK (float64): {ours.seconds:.2f} s wall, "
                  f"{our_cpu:.2f} s CPU: the project is {wall / ours.seconds:.2f}x faster "
                  f"(wall), {cpu / our_cpu:.2f}x (CPU)")
            with tempfile.TemporaryDirectory() as folder:
                lens.save_inference_model(folder)
                import json
                with open(os.path.join(folder, "percolation_tms.json"), "w") as handle:
                    json.dump({"input_mean": mean.tolist(), "input_scale": scale}, handle)
                theirs = read_saelens(folder)
            print("scored by the project's scoring (all features; bands of >= 16 points):")
            score(ours.sae, X, features, "project")
            score(theirs, X, features, "SAELens")
            print("settings that differ: SAELens lr schedule constant here (lr_end = lr), "
                  "gradient clipping at norm 1, decoder initialised at norm 0.1 with free "
                  "row norms (topk rescales acts by them), its own init (W_enc = W_dec^T) "
                  "and float32; the project keeps unit atoms, float64, b_dec = mean init.")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (whole process, dataset included): {peak:.0f} MB")


if __name__ == "__main__":
    main()
