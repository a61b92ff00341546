"""Figures of the percolation datasets, drawn from ``describe``'s statistics of every seed.

Every function takes a :class:`~percolation_tms.figures.inputs.PercolationStats` (one dataset
setting, one or more seeds), writes ``out_path`` (PNG) and the PDF beside it, and returns the
figure (for inspection; nothing is left open).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from percolation_tms.figures import prepare, style
from percolation_tms.figures.inputs import PercolationStats
from percolation_tms.stats import measures

S_MIN = measures.EXPONENT_S_MIN  # the fit range of describe's exponent
FISHER_EXPONENT = 2.5
N_LARGEST = 10  # clusters coloured in the embedding figure
# Fewer tail clusters than this give no exponent: sigma = (tau - 1) / sqrt(n) is an asymptotic
# error, meaningless for a handful of clusters (a one_cluster dataset has one).
MIN_TAIL = 10


def _setting(data: PercolationStats) -> str:
    """e.g. ``distribution mode, N = 100,000, d = 128, 3 seeds``."""
    return (f"{data.mode} mode, N = {data.size:,}, d = {data.dim}, "
            f"{style.count_label(len(data.datasets), 'seed')}")


def _seed_handle(n_seeds: int, color: str, detail: str = "") -> list[Line2D]:
    """A legend entry for the faint per-seed lines (none for a single seed)."""
    if n_seeds < 2:
        return []
    return [Line2D([], [], color=color, alpha=style.SEED_ALPHA, linewidth=style.SEED_LINEWIDTH,
                   label=f"each of {n_seeds} seeds{detail}")]


def _minor_log_label(value: float, _position) -> str:
    """Label the minor ticks at 2, 3 and 5 times a power of ten, and leave the others bare."""
    mantissa = value / 10.0 ** np.floor(np.log10(value))
    return f"{value:g}" if np.round(mantissa) in (2, 3, 5) else ""


def plot_cluster_sizes(data: PercolationStats, out_path) -> Figure:
    """Log-binned cluster-size distribution, per seed and pooled, against s^(-5/2)."""
    sizes = data.arrays("cluster_sizes")
    pooled = np.concatenate(sizes)
    edges = prepare.log_bin_edges(pooled.max(), bins_per_decade=5)
    fig = style.new_figure(5.6, 4.2)
    ax = fig.add_subplot()
    ax.set(xscale="log", yscale="log")
    color = style.OKABE_ITO["blue"]
    if len(sizes) > 1:
        for seed_sizes in sizes:
            binned = prepare.log_binned_distribution(seed_sizes, edges)
            seen = binned.counts > 0
            ax.plot(binned.center[seen], binned.probability[seen], color=color,
                    alpha=style.SEED_ALPHA, linewidth=style.SEED_LINEWIDTH)
    binned = prepare.log_binned_distribution(pooled, edges)
    seen = binned.counts > 0
    fit = measures.size_exponent(pooled, S_MIN)
    fitted = fit.n_tail >= MIN_TAIL and np.isfinite(fit.exponent)
    fit_text = (f"τ̂ = {fit.exponent:.2f} ± {fit.sigma:.2f}\n(MLE over sizes s ≥ {S_MIN}, "
                f"{fit.n_tail:,} clusters)" if fitted
                else f"{fit.n_tail} of them with s ≥ {S_MIN}: too few to fit τ")
    ax.plot(binned.center[seen], binned.probability[seen], color=color, marker="o",
            label=f"pooled, {style.count_label(pooled.size, 'cluster')}: {fit_text}")
    if fitted:
        s = np.logspace(np.log10(S_MIN / 3), np.log10(pooled.max()), 50)
        ax.plot(s, prepare.power_law_reference(s, FISHER_EXPONENT, S_MIN,
                                               fit.n_tail / pooled.size),
                color=style.OKABE_ITO["black"], linestyle="--", linewidth=1.2,
                label="s$^{-5/2}$ (mean-field percolation)")
    handles, _ = ax.get_legend_handles_labels()
    # each seed's exponent as describe measured it
    per_seed = ", ".join(f"{tau:.2f}" if n_tail >= MIN_TAIL else "–" for tau, n_tail in
                         zip(data.column("exponent"), data.column("exponent_n_tail")))
    handles = _seed_handle(len(sizes), color, f": τ̂ = {per_seed}") + handles
    ax.axvline(S_MIN, color=style.GREY, linestyle=":", linewidth=1)
    ax.annotate(f"fit range s ≥ {S_MIN} →", (S_MIN, 1.0), xycoords=("data", "axes fraction"),
                xytext=(3, -3), textcoords="offset points", ha="left", va="top",
                color=style.GREY, fontsize="small")
    ax.legend(handles=handles, loc="lower left")
    ax.set_xlabel("cluster size s (points)")
    ax.set_ylabel("P(s): fraction of clusters of size s")
    ax.set_title(f"Cluster sizes ({_setting(data)})")
    style.save_figure(fig, out_path)
    return fig


def plot_degrees(data: PercolationStats, out_path) -> Figure:
    """Degree distribution of points in large clusters (describe's cut) against 1 + Poisson(1)."""
    values, counts = data.arrays("degree_values"), data.arrays("degree_counts")
    pooled_values, pooled_counts = prepare.pooled_histogram(values, counts)
    fig = style.new_figure(5.6, 4.2)
    ax = fig.add_subplot()
    ax.set_yscale("log")
    color = style.OKABE_ITO["vermillion"]
    k = np.arange(1, max(int(pooled_values.max()), 1) + 2)
    ax.plot(k, measures.poisson_plus_one_pmf(k), color=style.OKABE_ITO["black"], linestyle="--",
            marker="s", markerfacecolor="none", markersize=7, linewidth=1,
            label="1 + Poisson(1)")
    if len(values) > 1:
        for v, c in zip(values, counts):
            ax.plot(v, c / c.sum(), color=color, alpha=style.SEED_ALPHA,
                    linewidth=style.SEED_LINEWIDTH)
    kl = data.column("degree_kl")
    kl_text = ", ".join(f"{x:.1e}" for x in kl)
    ax.plot(pooled_values, pooled_counts / pooled_counts.sum(), color=color, marker="o",
            label=f"pooled, {pooled_counts.sum():,} points\nKL(data ‖ 1 + Poisson(1)) per seed:"
                  f"\n{kl_text}")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=_seed_handle(len(values), color) + handles, loc="lower left")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("degree k (tree neighbours of a point)")
    ax.set_ylabel("fraction of points with degree k")
    min_cluster = int(data.column("degree_min_cluster")[0])
    ax.set_title(f"Degrees in clusters of ≥ {min_cluster:,} points\n({_setting(data)})")
    style.save_figure(fig, out_path)
    return fig


def plot_hierarchy(data: PercolationStats, out_path) -> Figure:
    """Latent tree heights: their distribution, and their mean against cluster size."""
    fig = style.new_figure(10.0, 4.0)
    ax_dist, ax_size = fig.subplots(1, 2)
    color = style.OKABE_ITO["bluish_green"]
    n = len(data.datasets)

    values, counts = data.arrays("height_values"), data.arrays("height_counts")
    if n > 1:
        for v, c in zip(values, counts):
            ax_dist.plot(v, c / c.sum(), color=color, alpha=style.SEED_ALPHA,
                         linewidth=style.SEED_LINEWIDTH)
    pooled_values, pooled_counts = prepare.pooled_histogram(values, counts)
    ax_dist.plot(pooled_values, pooled_counts / pooled_counts.sum(), color=color,
                 marker="o" if pooled_values.size <= 30 else "", label="pooled over seeds")
    handles, _ = ax_dist.get_legend_handles_labels()
    ax_dist.legend(handles=_seed_handle(n, color) + handles, loc="upper right")
    ax_dist.set_yscale("log")
    ax_dist.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_dist.set_xlabel("latent tree height (latent ancestors of a point)")
    ax_dist.set_ylabel("fraction of points")
    ax_dist.set_title("(a) Distribution of tree heights")

    edges = [e.astype(np.float64) for e in data.arrays("height_size_bins")]
    centers = [np.sqrt(e[:-1] * e[1:]) for e in edges]
    means = data.arrays("height_mean_by_size")
    aligned = prepare.align_curves(centers, means)
    if aligned is not None:
        label = f"mean over {n} seeds ± std" if n > 1 else None
        style.plot_seeds(ax_size, aligned[0], aligned[1], color, label=label)
    else:  # each seed binned the sizes differently: no common grid to average on
        for seed, x, y in zip(data.seeds, centers, means):
            ax_size.plot(x, y, marker="o", label=f"seed {seed}")
    if ax_size.get_legend_handles_labels()[0]:
        ax_size.legend(loc="upper left")
    # log-log shows how height grows with size; singletons (height 0) fall off the log axis.
    ax_size.set_xscale("log")
    ax_size.set_yscale("log", nonpositive="mask")
    ax_size.set_xlabel("cluster size s (points)")
    ax_size.set_ylabel("mean latent tree height of its points")
    ax_size.set_title("(b) Mean height against cluster size")
    fig.suptitle(f"Latent hierarchy ({_setting(data)})")
    style.save_figure(fig, out_path)
    return fig


def plot_embedding(data: PercolationStats, out_path) -> Figure:
    """2-D PCA of a subsample of X (first seed), coloured by cluster and by label y."""
    first = data.datasets[0]
    xy, rank, y = first.arrays["pca_xy"], first.arrays["pca_cluster_rank"], first.arrays["pca_y"]
    cluster_sizes = first.arrays["cluster_sizes"]
    fig = style.new_figure(11.0, 4.6)
    ax_cluster, ax_label = fig.subplots(1, 2)
    others = rank >= N_LARGEST
    if others.any():
        ax_cluster.scatter(xy[others, 0], xy[others, 1], s=3, color=style.LIGHT_GREY,
                           linewidths=0, rasterized=True, label="smaller clusters")
    for r in range(min(N_LARGEST, cluster_sizes.size)):
        mine = rank == r
        if mine.any():
            ax_cluster.scatter(xy[mine, 0], xy[mine, 1], s=5, color=style.CATEGORICAL_10[r],
                               linewidths=0, rasterized=True,
                               label=f"#{r + 1}: {cluster_sizes[r]:,} points")
    ax_cluster.legend(title="cluster (by size)", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      markerscale=3, borderaxespad=0)
    ax_cluster.set_title("(a) coloured by cluster (10 largest)")
    order = np.argsort(np.abs(y))  # large |y| on top, so the extremes stay visible
    # A sequential map, not the diverging one: on white, the diverging map's white centre would
    # hide every point with y near 0.  Symmetric limits still put y = 0 mid-scale.
    points = ax_label.scatter(xy[order, 0], xy[order, 1], c=y[order], s=4, linewidths=0,
                              cmap=style.SEQUENTIAL_CMAP, norm=style.symmetric_norm(y),
                              rasterized=True)
    fig.colorbar(points, ax=ax_label, label="label y")
    ax_label.set_title("(b) coloured by label y")
    for ax in (ax_cluster, ax_label):
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("principal component 1 (units of X)")
    ax_cluster.set_ylabel("principal component 2 (units of X)")
    fig.suptitle(f"PCA of {rank.size:,} subsampled points, seed {first.seed} "
                 f"({data.mode} mode, N = {data.size:,}, d = {data.dim})")
    style.save_figure(fig, out_path)
    return fig


def plot_feature_frequency(data: PercolationStats, out_path) -> Figure:
    """Points covered by each ground-truth feature against its frequency rank, log-log."""
    frequencies = [np.sort(f)[::-1].astype(np.float64) for f in data.arrays("feature_frequency")]
    longest = max(f.size for f in frequencies)
    # Seeds have different numbers of features: pad with NaN so rank r averages the seeds
    # that have an r-th feature.
    table = np.full((len(frequencies), longest), np.nan)
    for row, f in zip(table, frequencies):
        row[:f.size] = f
    keep = prepare.log_spaced_indices(longest)
    fig = style.new_figure(5.6, 4.2)
    ax = fig.add_subplot()
    ax.set(xscale="log", yscale="log")
    n = len(frequencies)
    label = f"mean over {n} seeds ± std (of log)" if n > 1 else f"seed {data.seeds[0]}"
    style.plot_seeds(ax, keep + 1.0, table[:, keep], style.OKABE_ITO["reddish_purple"],
                     label=label, log=True, marker="")
    # A guide to the eye, not a fit: rank^-1 (Zipf's law) through the curve at rank 1000 (or
    # the middle rank of a smaller dataset), drawn from two decades below that rank.
    center = prepare.mean_and_spread(table[:, keep], log=True)[0]
    anchor = int(np.argmin(np.abs(keep + 1 - min(1000, longest // 2 + 1))))
    ranks = np.array([max(1.0, (keep[anchor] + 1) / 100), float(longest)])
    ax.plot(ranks, center[anchor] * (keep[anchor] + 1) / ranks, color=style.OKABE_ITO["black"],
            linestyle="--", linewidth=1, label="∝ rank$^{-1}$ (guide to the eye)")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=_seed_handle(n, style.OKABE_ITO["reddish_purple"]) + handles,
              loc="upper right")
    ax.set_xlabel("feature rank (1 = most frequent)")
    ax.set_ylabel("points covered by the feature")
    ax.set_title(f"Ground-truth feature frequencies\n({_setting(data)})")
    style.save_figure(fig, out_path)
    return fig


def plot_baselines(data: PercolationStats, out_path) -> Figure:
    """Test MSE of the mean, ridge and k-NN baselines per seed; k-NN error against data size."""
    fig = style.new_figure(10.0, 4.0)
    ax_mse, ax_scaling = fig.subplots(1, 2)
    names = [str(x) for x in data.datasets[0].arrays["baseline_names"]]
    mse = np.vstack(data.arrays("baseline_mse"))  # (K seeds, 3)
    n = mse.shape[0]
    x = np.arange(len(names))
    # Seeds to the left of each baseline's position, their mean to the right, so that no seed
    # hides behind the mean's marker.
    offsets = prepare.seed_offsets(n, 0.08) - 0.12
    for k, row in enumerate(mse):
        ax_mse.scatter(x + offsets[k], row, color=style.GREY, s=18, zorder=2,
                       label="each seed" if k == 0 and n > 1 else None)
    center, lower, upper = prepare.mean_and_spread(mse)
    ax_mse.errorbar(x + 0.12, center, yerr=[center - lower, upper - center], fmt="D",
                    color=style.OKABE_ITO["blue"], capsize=5, markersize=7, zorder=3,
                    label=f"mean ± std over {n} seeds" if n > 1 else "test MSE")
    ax_mse.axhline(1.0, color=style.GREY, linestyle=":", linewidth=1, label="Var(y) = 1")
    knn_k = ", ".join(str(k) for k in np.unique(data.column("knn_k")))
    knn_label = f"k-NN\n(k = {knn_k})"
    # describe scores k-NN on the points of large clusters (the spec's test); it says which.
    if "knn_min_cluster" in data.datasets[0].summary:
        min_cluster = ", ".join(f"{m:,}" for m in np.unique(data.column("knn_min_cluster")))
        knn_label = f"k-NN (k = {knn_k})\nclusters ≥ {min_cluster}"
    pretty = {"mean": "mean", "ridge": "ridge\n(α = 1)", "knn": knn_label}
    ax_mse.set_xticks(x, [pretty.get(name, name) for name in names])
    ax_mse.set_xlim(-0.6, len(names) - 0.4)
    ax_mse.set_ylim(0, max(1.1, float(np.nanmax(mse)) * 1.1))
    ax_mse.set_ylabel("test MSE (10% held out)")
    ax_mse.legend(loc="lower left")
    ax_mse.set_title("(a) Baselines predicting y from X")

    color = style.OKABE_ITO["orange"]
    sizes, errors = data.arrays("knn_train_sizes"), data.arrays("knn_mse")
    aligned = prepare.align_curves(sizes, errors)
    if aligned is not None:
        label = f"mean over {n} seeds ± std" if n > 1 else f"seed {data.seeds[0]}"
        style.plot_seeds(ax_scaling, aligned[0], aligned[1], color, label=label, log=True)
        handles, _ = ax_scaling.get_legend_handles_labels()
        ax_scaling.legend(handles=_seed_handle(n, color) + handles, loc="upper right")
    else:  # the seeds used different training sizes: no common grid to average on
        for seed, s, e in zip(data.seeds, sizes, errors):
            ax_scaling.plot(s, e, marker="o", label=f"seed {seed}")
        ax_scaling.legend(loc="upper right")
    ax_scaling.set(xscale="log", yscale="log")
    # Errors span about a decade: label 0.2, 0.3, 0.5 as well, plainly rather than as 3x10^-1.
    ax_scaling.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax_scaling.yaxis.set_minor_formatter(FuncFormatter(_minor_log_label))
    ax_scaling.set_xlabel("training points")
    ax_scaling.set_ylabel("k-NN test MSE (all points)")
    ax_scaling.set_title("(b) k-NN error as the training set grows")
    fig.suptitle(f"Regression baselines ({_setting(data)})")
    style.save_figure(fig, out_path)
    return fig
