"""Describe one dataset (a row of statistics and the arrays the figures plot); aggregate the
rows of many seeds."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from percolation_tms import _progress, io
from percolation_tms.dataset import load_dataset
from percolation_tms.stats import measures
from percolation_tms.stats.config import DescribeConfig

DEGREE_MIN_CLUSTER = 100  # degrees are measured inside clusters of at least this many points
KNN_MIN_CLUSTER = DescribeConfig.knn_min_cluster  # spec: 5-NN MSE on clusters >= 1000 points
KNN_K = DescribeConfig.knn_k
# k-NN test points: a seeded random subset of the held-out 10 % when that is larger.  The
# search is brute force (exact), so its cost is test points x training points, N^2 / 10 when
# every point is in a large cluster (one_cluster mode; distribution mode from about 10M
# points); capped, it grows like N, and the MSE's standard error stays about 1 % of its value.
# Below the cap (distribution mode at 1M: 3,688 test points) nothing changes.
KNN_MAX_TEST = 20_000
PCA_SAMPLE = 5000
BASELINE_NAMES = ("mean", "ridge", "knn")


def describe(main_file: str | os.PathLike, knn_min_cluster: int = KNN_MIN_CLUSTER,
             knn_k: int = KNN_K, seed: int = measures.SPLIT_SEED
             ) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """(summary row, arrays) of a dataset written by ``generate``/``export`` (graph needed).

    ``mse_knn`` is the k-NN test MSE on the points of clusters >= ``knn_min_cluster`` points
    (all points if no cluster is that large), over at most ``KNN_MAX_TEST`` of their held-out
    points; ``mse_mean`` and ``mse_ridge`` use every point.
    """
    data = load_dataset(main_file, need_graph=True)
    graph, X, y = data.graph, data.X, data.y
    sizes = graph.cluster_sizes
    heights = data.metadata.latent_tree_height
    row: dict[str, object] = {"mode": graph.mode, "size": graph.size, "dim": X.shape[1],
                              "seed": graph.seed, "n_clusters": graph.n_clusters,
                              "n_latents": graph.n_latents, "largest_cluster": int(sizes[0])}
    alpha, sigma, n_tail = measures.size_exponent(sizes)
    row.update(exponent=alpha, exponent_sigma=sigma, exponent_n_tail=n_tail)

    degrees = measures.point_degrees(graph.edges, graph.n_points)
    in_large = data.metadata.cluster_size >= DEGREE_MIN_CLUSTER
    row["degree_kl"] = measures.degree_kl(degrees[in_large]) if in_large.any() else np.nan
    row["degree_min_cluster"] = DEGREE_MIN_CLUSTER
    row.update(y_mean=float(y.mean()), y_std=float(y.std()))
    row.update(measures.coordinate_moments(X))
    row["isotropy_p"] = measures.isotropy_pvalue(X)

    with _progress.stage("baselines (mean, ridge, k-NN)"):
        train, test = measures.train_test_split(X.shape[0], seed=seed)
        row["mse_mean"] = measures.mse_mean_predictor(y[train], y[test])
        row["mse_ridge"] = measures.mse_ridge(X[train], y[train], X[test], y[test])
        large = np.flatnonzero(data.metadata.cluster_size >= knn_min_cluster)
        if large.shape[0] <= 2 * knn_k:
            large = np.arange(X.shape[0])
        k_train, k_test = measures.train_test_split(large.shape[0], seed=seed)
        if k_test.shape[0] > KNN_MAX_TEST:
            k_test = k_test[measures.random_subset(k_test.shape[0], KNN_MAX_TEST, seed,
                                                   measures.PURPOSE_KNN_TEST)]
        row["mse_knn"] = measures.mse_knn(X[large[k_train]], y[large[k_train]],
                                          X[large[k_test]], y[large[k_test]], knn_k)
        row.update(knn_k=knn_k, knn_min_cluster=knn_min_cluster)
        knn_sizes, knn_curve = measures.knn_scaling(X, y, knn_k, seed=seed)
    row.update(mean_tree_height=float(heights.mean()), max_tree_height=int(heights.max()))

    degree_values, degree_counts = measures.degree_histogram(degrees[in_large])
    height_counts = np.bincount(heights)
    size_bins, mean_by_size = measures.height_by_cluster_size(heights, sizes, graph.size)
    sample = measures.random_subset(X.shape[0], min(PCA_SAMPLE, X.shape[0]), seed,
                                    measures.PURPOSE_PCA_SAMPLE)
    arrays = {
        # what the arrays describe, so that a reader pairs them with their summary row
        "mode": np.str_(graph.mode), "size": np.int64(graph.size), "dim": np.int64(X.shape[1]),
        "seed": np.int64(graph.seed),
        "cluster_sizes": sizes,
        "degree_values": degree_values, "degree_counts": degree_counts,
        "height_values": np.flatnonzero(height_counts),
        "height_counts": height_counts[height_counts > 0],
        "height_size_bins": size_bins, "height_mean_by_size": mean_by_size,
        "pca_xy": measures.pca_projection(X, sample),
        "pca_cluster_rank": measures.cluster_ranks(data.metadata.cluster_id)[sample],
        "pca_y": y[sample],
        "feature_frequency": np.sort(np.bincount(data.features.indices,
                                                 minlength=data.features.shape[1]))[::-1],
        "baseline_names": np.array(BASELINE_NAMES),
        "baseline_mse": np.array([row["mse_mean"], row["mse_ridge"], row["mse_knn"]]),
        "knn_train_sizes": knn_sizes, "knn_mse": knn_curve,
    }
    return row, arrays


def write_description(main_file, out_summary, out_arrays, **options) -> dict[str, object]:
    row, arrays = describe(main_file, **options)
    io.write_csv(out_summary, pd.DataFrame([row]))
    io.save_arrays(out_arrays, **arrays)
    return row


def aggregate(summary_files: list[str | os.PathLike]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(all rows, mean and std over seeds of every numeric column by mode, size and dim)."""
    if not summary_files:
        raise ValueError("aggregate needs at least one summary file")
    frames = []
    for path in summary_files:
        try:
            frames.append(pd.read_csv(path))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise io.InputFileError(f"summary {str(path)!r} is not a readable CSV ({exc})")
    rows = pd.concat(frames, ignore_index=True).sort_values(["mode", "size", "dim", "seed"])
    keys = ["mode", "size", "dim"]
    numeric = [c for c in rows.columns if c not in keys + ["seed"]
               and pd.api.types.is_numeric_dtype(rows[c])]
    grouped = rows.groupby(keys, sort=True)
    by_setting = grouped[numeric].agg(["mean", "std"])
    by_setting.columns = [f"{col}_{stat}" for col, stat in by_setting.columns]
    by_setting["n_seeds"] = grouped.size()
    return rows.reset_index(drop=True), by_setting.reset_index()
