"""Synthetic stand-ins for the files the figures read, with the keys and shapes of
docs/file-formats.md.  Values are plausible (power-law sizes, 1 + Poisson(1) degrees, toy
weights with more features represented at higher sparsity) but made up: the figure tests check
that every figure is drawn, not what the stages compute.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from percolation_tms import io


def _histogram(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, counts = np.unique(samples, return_counts=True)
    return values.astype(np.int64), counts.astype(np.int64)


def write_stats(folder: Path, seed: int, size: int = 3000, dim: int = 16, n_pca: int = 400,
                mode: str = "distribution") -> tuple[Path, Path]:
    """``describe``'s arrays.npz and one-row summary.csv for one fake dataset."""
    rng = np.random.default_rng(seed)
    cluster_sizes = np.sort(stats.yulesimon.rvs(1.5, size=size // 3, random_state=rng))[::-1]
    cluster_sizes = cluster_sizes.astype(np.int64)
    degree_values, degree_counts = _histogram(1 + rng.poisson(1.0, size))
    point_cluster_size = np.repeat(cluster_sizes, cluster_sizes)
    heights = rng.poisson(1.5 * np.log(point_cluster_size))
    height_values, height_counts = _histogram(heights)
    height_size_bins = np.unique(np.round(np.logspace(0, np.log10(size + 1), 9))).astype(np.int64)
    which = np.digitize(point_cluster_size, height_size_bins) - 1
    height_mean_by_size = np.array([heights[which == b].mean() if np.any(which == b) else np.nan
                                    for b in range(height_size_bins.size - 1)])
    rank = np.minimum(rng.geometric(0.15, n_pca) - 1, 30)
    centers = rng.normal(0.0, 3.0, (31, 2))
    pca_xy = centers[rank] + rng.normal(0.0, 0.7, (n_pca, 2))
    n_latents = size - cluster_sizes.size
    feature_frequency = np.sort(stats.yulesimon.rvs(1.5, size=n_latents, random_state=rng)
                                + 1)[::-1].astype(np.int64)
    knn_train_sizes = np.array([30, 100, 300, 1000, 2700], dtype=np.int64)
    knn_mse = 0.9 * (knn_train_sizes / 30.0) ** -0.3 * rng.uniform(0.95, 1.05, 5)
    baseline_mse = np.array([1.0, 0.94, 0.25]) + rng.normal(0.0, 0.02, 3)
    arrays = folder / f"seed{seed}" / "arrays.npz"
    io.save_arrays(
        arrays, mode=np.str_(mode), size=np.int64(size), dim=np.int64(dim),
        seed=np.int64(seed), cluster_sizes=cluster_sizes, degree_values=degree_values,
        degree_counts=degree_counts, height_values=height_values, height_counts=height_counts,
        height_size_bins=height_size_bins, height_mean_by_size=height_mean_by_size,
        pca_xy=pca_xy, pca_cluster_rank=rank.astype(np.int64), pca_y=rng.normal(size=n_pca),
        feature_frequency=feature_frequency, baseline_names=np.array(["mean", "ridge", "knn"]),
        baseline_mse=baseline_mse, knn_train_sizes=knn_train_sizes, knn_mse=knn_mse)
    summary = folder / f"seed{seed}" / "summary.csv"
    io.write_csv(summary, pd.DataFrame([{
        "mode": mode, "size": size, "dim": dim, "seed": seed,
        "n_clusters": cluster_sizes.size, "n_latents": n_latents,
        "largest_cluster": cluster_sizes[0], "exponent": 2.5, "exponent_sigma": 0.05,
        "exponent_n_tail": 100, "degree_kl": 3e-4 * (1 + seed), "degree_min_cluster": 100,
        "y_mean": 0.0, "y_std": 1.0,
        "x_var_mean": 1.0, "x_var_rel_std": 0.02, "x_mean_abs_mean": 0.05,
        "mse_mean": baseline_mse[0], "mse_ridge": baseline_mse[1], "mse_knn": baseline_mse[2],
        "knn_k": 5, "mean_tree_height": heights.mean(), "max_tree_height": heights.max()}]))
    return arrays, summary


def _measure(W: np.ndarray, W_dec: np.ndarray | None) -> dict[str, np.ndarray]:
    """The toy stage's measurements of weights W (I, m, n) (and W_dec (I, n, m))."""
    n_hidden = W.shape[1]
    norm = np.linalg.norm(W, axis=1)  # (I, n)
    if W_dec is None:
        WtW, feature_norm = np.einsum("imn,imk->ink", W, W), norm
    else:
        WtW = np.einsum("inm,imk->ink", W_dec, W)
        feature_norm = np.sqrt(norm * np.linalg.norm(W_dec, axis=2))
    unit = W / np.maximum(norm[:, None, :], 1e-12)
    overlap = np.einsum("imn,imk->ink", unit, W) ** 2  # (W_i_hat . W_j)^2
    with np.errstate(invalid="ignore", divide="ignore"):
        dimensionality = norm ** 2 / overlap.sum(axis=2)
    interference = overlap.sum(axis=2) - np.einsum("inn->in", overlap)
    return {"WtW": WtW, "feature_norm": feature_norm, "represented": feature_norm > 0.5,
            "dims_per_feature": n_hidden / (W ** 2).sum(axis=(1, 2)),
            "feature_dimensionality": dimensionality, "interference": interference}


def write_toy_run(folder: Path, model: str, seeds=(0, 1), sparsities=(0.0, 0.7, 0.9, 0.99, 0.999),
                  n_features: int = 8, n_hidden: int = 3, percolation: bool = False
                  ) -> list[Path]:
    """A toy run folder: measurements.npz, weights.npz and metrics.csv, each recording the
    run's identity (a made-up run_id, distinct per folder) and model kind."""
    rng = np.random.default_rng([zlib.crc32(model.encode()), *seeds])
    run_id = f"{zlib.crc32(f'{folder}/{model}'.encode()):016x}"
    identity = {"run_id": np.array(run_id), "model": np.array(model)}
    pairs = [(s, seed) for s in sparsities for seed in seeds]
    n_instances = len(pairs)
    sparsity = np.array([p[0] for p in pairs])
    seed = np.array([p[1] for p in pairs], dtype=np.int64)
    W = rng.normal(size=(n_instances, n_hidden, n_features))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    # More features survive at higher sparsity, as in the paper; the rest are near zero.
    n_kept = np.minimum(n_features, n_hidden + np.round(-np.log10(1.0 - sparsity + 1e-3) * 2))
    W *= np.where(np.arange(n_features)[None, :] < n_kept[:, None], 1.0, 0.02)[:, None, :]
    W_dec = np.transpose(W, (0, 2, 1)) * 0.9 if model == "untied" else None
    b = rng.normal(0.0, 0.2, (n_instances, n_features))
    measurements = _measure(W, W_dec)
    measurements.update(b=b, eval_loss=2e-3 * (1.0 - sparsity + 1e-3) * rng.uniform(0.8, 1.2),
                        sparsity=sparsity, seed=seed, **identity)
    if percolation:
        measurements.update(feature_column=np.arange(n_features, dtype=np.int64),
                            feature_frequency=np.sort(rng.uniform(0.001, 0.5, n_features))[::-1],
                            feature_depth=rng.integers(0, 4, n_features))
    importance = np.tile(0.7 ** np.arange(n_features), (n_instances, 1))
    weights = {"W": W, "b": b, "loss_history": rng.uniform(size=(n_instances, 4)),
               "history_steps": np.arange(4) * 100, "sparsity": sparsity, "seed": seed,
               "importance": importance, **identity}
    if W_dec is not None:
        weights["W_dec"] = W_dec
    paths = [folder / "measurements.npz", folder / "weights.npz", folder / "metrics.csv"]
    io.save_arrays(paths[0], **measurements)
    io.save_arrays(paths[1], **weights)
    rows = [{"run_id": run_id, "instance": i, "model": model, "sparsity": sparsity[i],
             "seed": seed[i],
             "metric": "loss", "feature": "", "value": measurements["eval_loss"][i]}
            for i in range(n_instances)]
    io.write_csv(paths[2], pd.DataFrame(rows))
    return paths


def write_phase_diagram(path: Path, n_ratio: int = 21, n_sparsity: int = 17) -> Path:
    """A phase_diagram.npz with three phases and a few trained points."""
    rng = np.random.default_rng(3)
    ratio = np.logspace(-1, 1, n_ratio)
    sparsity = 1.0 - np.logspace(0, -2, n_sparsity)
    log_ratio, density = np.log10(ratio)[:, None], np.log10(1.0 - sparsity)[None, :]
    candidate_loss = np.stack([np.maximum(log_ratio, 0) + 0 * density,
                               np.maximum(-log_ratio, 0) + 0 * density,
                               0.5 + density + 0 * log_ratio])
    phase = np.argmin(candidate_loss, axis=0).astype(np.int64)
    picks_r, picks_s = rng.integers(0, n_ratio, 9), rng.integers(0, n_sparsity, 9)
    predicted = phase[picks_r, picks_s]
    trained = predicted.copy()
    trained[0] = (trained[0] + 1) % 3  # one model that ended elsewhere than predicted
    trained[1] = -1  # and one whose weights fit no candidate
    io.save_arrays(path, importance_ratio=ratio, sparsity=sparsity,
                   candidate_names=np.array(["feature_1_only", "feature_2_only",
                                             "superposition"]),
                   candidate_loss=candidate_loss, phase=phase,
                   trained_importance_ratio=ratio[picks_r], trained_sparsity=sparsity[picks_s],
                   trained_phase=trained, predicted_phase=predicted)
    return path


def assert_png_and_pdf(png: Path) -> None:
    """``png`` is a PNG of some substance and the PDF of the same stem sits beside it."""
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    pdf = png.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1_000
