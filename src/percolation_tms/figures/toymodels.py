"""Figures of the toy models of superposition, drawn from the toy stage's measurements.

Every function but :func:`plot_tms_phase_diagram` takes the tuple of
:class:`~percolation_tms.figures.inputs.ToyModel` that ``inputs.read_toy_models`` returns (one
per model kind, every seed merged), writes ``out_path`` (PNG) and the PDF beside it, and returns
the figure.  Sparsity runs along x as 1 / (1 - S) on a log axis, with the sparsities themselves
marked on a top axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from percolation_tms.figures import prepare, style
from percolation_tms.figures.inputs import ToyModel
from percolation_tms.toymodels.measure import REPRESENTED_ABOVE

# The fractions at which dimensions per feature stick (Elhage et al. 2022): one feature per
# dimension, tetrahedra, triangles, antipodal pairs, pentagons.
STICKY_FRACTIONS = (Fraction(1), Fraction(3, 4), Fraction(2, 3), Fraction(1, 2), Fraction(2, 5))
REPRESENTED_NORM = REPRESENTED_ABOVE  # the stage's threshold: a norm above it is represented
HEATMAP_QUANTILE = 0.99  # of |values|, the colour limit of a row of heatmaps


# ---------------------------------------------------------------------------- helpers
def sparsity_axis(ax, sparsity: np.ndarray, label_top: bool = True) -> None:
    """x = 1 / (1 - S) on a log axis, the trained sparsities marked on a top axis."""
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 − S)   (S = feature sparsity)")
    if label_top:
        top = ax.secondary_xaxis("top")
        top.set_xticks(prepare.inverse_density(sparsity), [f"{s:g}" for s in sparsity])
        top.set_xlabel("sparsity S")


def _sparsity_levels(models: Sequence[ToyModel]) -> np.ndarray:
    return np.unique(np.concatenate([m.sparsity for m in models]))


def _first_seed(model: ToyModel) -> tuple[int, np.ndarray]:
    """The smallest seed and its instances in order of sparsity (the heatmaps show one seed)."""
    seed = int(model.seed.min())
    mine = np.flatnonzero(model.seed == seed)
    return seed, mine[np.argsort(model.sparsity[mine], kind="stable")]


def _dodge(k: int, n_models: int) -> float:
    """A factor that shifts model kind k slightly along the log x axis: counts of represented
    features are integers and often tie between kinds, and tied lines would hide each other."""
    return 10.0 ** prepare.seed_offsets(n_models, 0.025)[k]


def _mark_fractions(ax) -> None:
    """Dotted horizontal lines at the sticky fractions, labelled at the right edge."""
    for fraction in STICKY_FRACTIONS:
        ax.axhline(float(fraction), color=style.GREY, linestyle=":", linewidth=0.9, zorder=1)
        ax.annotate(str(fraction), (1.0, float(fraction)), xycoords=("axes fraction", "data"),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize="small",
                    color=style.GREY)


def _heatmap(ax, matrix: np.ndarray, norm, xlabel: str | None = None):
    # aspect="auto": every panel fills its grid cell, so panels side by side share their height
    # and their cell size (the grid's width ratios are the matrices' column counts).
    image = ax.imshow(matrix, cmap=style.DIVERGING_CMAP, norm=norm, interpolation="nearest",
                      aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():  # a frame shows where a mostly white matrix ends
        spine.set(visible=True, linewidth=0.6, color=style.GREY)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize="small", labelpad=2)
    return image


def _heatmap_grid(fig, models: Sequence[ToyModel], panels, title: str) -> None:
    """One row per model kind (its smallest seed), one group of panels per sparsity.

    ``panels(model, instance)`` returns the group as (label, matrix (n, k)) pairs, drawn side by
    side at a common cell size.  Each row has one symmetric diverging scale and its colour bar:
    model kinds differ in scale (an untied model's W_dec W reaches several units where a tied
    model's W^T W stays near 1), and one scale for all would wash out the smaller ones.  The
    limit is the 99th percentile of the row's absolute values: the few interference entries far
    beyond the diagonal's scale saturate (arrows on the colour bar) instead of whitening the rest.
    """
    rows = []
    for model in models:
        seed, instances = _first_seed(model)
        rows.append((seed, [(float(model.sparsity[i]), panels(model, i)) for i in instances]))
    # Gaps come from spacer columns of the grid alone, so a bias column sits against its matrix.
    fig.get_layout_engine().set(w_pad=1 / 72, wspace=0.0)
    image = None
    for subfig, model, (seed, groups) in zip(fig.subfigures(len(models), 1, squeeze=False)[:, 0],
                                             models, rows):
        widths = []
        for _, group in groups:
            group_width = sum(matrix.shape[1] for _, matrix in group)
            widths += [matrix.shape[1] for _, matrix in group] + [0.3 * group_width]
        grid = subfig.add_gridspec(1, len(widths) + 1, width_ratios=widths + [0.015 * sum(widths)])
        shown = [matrix for _, group in groups for _, matrix in group]
        norm = style.symmetric_norm(*shown, quantile=HEATMAP_QUANTILE)
        column = 0
        for level, group in groups:
            for k, (label, matrix) in enumerate(group):
                ax = subfig.add_subplot(grid[0, column])
                image = _heatmap(ax, matrix, norm, label)
                if k == 0:
                    ax.set_title(f"1 − S = {1 - level:.3g}", loc="left", fontsize="medium")
                if column == 0:
                    ax.set_ylabel(f"{model.model} (seed {seed})\nfeature i")
                column += 1
            column += 1  # the spacer
        subfig.colorbar(image, cax=subfig.add_subplot(grid[0, -1]),
                        extend=style.colorbar_extend(norm, *shown))
    fig.suptitle(f"{title}; red negative, white 0, blue positive")


# ---------------------------------------------------------------------------- figures
def plot_tms_wtw(models: Sequence[ToyModel], out_path) -> Figure:
    """For every sparsity, W^T W (W_dec W for untied) with the bias b beside it."""
    def panels(model: ToyModel, i: int):
        product = "W$_{dec}$W" if model.model == "untied" else "W$^T$W"
        return [(product, model.arrays["WtW"][i]), ("b", model.arrays["b"][i][:, None])]

    fig = style.new_figure(2.4 * _sparsity_levels(models).size + 0.8, 2.1 * len(models) + 0.4)
    _heatmap_grid(fig, models, panels, "W$^T$W and bias b for each sparsity")
    style.save_figure(fig, out_path)
    return fig


def plot_tms_weights(models: Sequence[ToyModel], out_path) -> Figure:
    """For every sparsity, the columns of W (and of W_dec for untied) and the bias."""
    def panels(model: ToyModel, i: int):
        group = [("W$^T$", model.arrays["W"][i].T)]
        if "W_dec" in model.arrays:
            group.append(("W$_{dec}$", model.arrays["W_dec"][i]))
        return group + [("b", model.arrays["b"][i][:, None])]

    fig = style.new_figure(2.0 * _sparsity_levels(models).size + 1.2, 2.6 * len(models) + 0.8)
    _heatmap_grid(fig, models, panels,
                  "Weights: row i of each block is feature i's direction, b its bias")
    style.save_figure(fig, out_path)
    return fig


def plot_tms_represented(models: Sequence[ToyModel], out_path) -> Figure:
    """Features represented and dimensions per feature against sparsity, per model kind."""
    fig = style.new_figure(6.4, 7.0)
    ax_count, ax_dims = fig.subplots(2, 1, sharex=True)
    for k, model in enumerate(models):
        color = style.model_color(model.model, k)
        counts = prepare.table_by_sparsity(model.sparsity, model.seed,
                                           model.arrays["represented"].sum(axis=1))
        x = prepare.inverse_density(counts.sparsity) * _dodge(k, len(models))
        n_seeds = counts.seeds.size
        label = f"{model.model} ({style.count_label(n_seeds, 'seed')})"
        style.plot_seeds(ax_count, x, counts.values, color, label=label)
        dims = prepare.table_by_sparsity(model.sparsity, model.seed,
                                         model.arrays["dims_per_feature"])
        style.plot_seeds(ax_dims, x, dims.values, color, label=model.model)
    n_hidden = sorted({m.n_hidden for m in models})
    n_features = sorted({m.n_features for m in models})
    for m in n_hidden:
        ax_count.axhline(m, color=style.GREY, linestyle="--", linewidth=1)
        ax_count.annotate(f"m = {m} hidden dimensions", (1.0, m),
                          xycoords=("axes fraction", "data"), xytext=(-4, -4),
                          textcoords="offset points", ha="right", va="top", fontsize="small",
                          color=style.GREY)
    ax_count.set_ylim(0, max(n_features) + 0.5)
    ax_count.set_ylabel(f"features represented (norm > {REPRESENTED_NORM})\n"
                        f"of n = {', '.join(map(str, n_features))}")
    ax_count.legend(loc="upper left", bbox_to_anchor=(0.0, 0.93))
    # untied counts use the scale-invariant norm (measure.py): say so where it is plotted.
    norm = "‖W$_i$‖" + ("; untied: (‖W$_i$‖ ‖W$_{dec,i}$‖)$^{1/2}$"
                        if any(m.model == "untied" for m in models) else "")
    ax_count.set_title("Features represented: mean ± std over seeds, each seed faint\n"
                       f"norm of feature i: {norm}")
    sparsity_axis(ax_count, _sparsity_levels(models))
    ax_count.set_xlabel("")
    _mark_fractions(ax_dims)
    ax_dims.set_ylim(bottom=0)
    ax_dims.set_ylabel("dimensions per feature  m / ‖W‖$_F^2$")
    ax_dims.set_title("Dimensions per feature (dotted: 1, 3/4, 2/3, 1/2, 2/5)")
    sparsity_axis(ax_dims, _sparsity_levels(models), label_top=False)
    style.save_figure(fig, out_path)
    return fig


def plot_tms_feature_dimensionality(models: Sequence[ToyModel], out_path) -> Figure:
    """Every feature's dimensionality D_i against sparsity, with dimensions per feature."""
    n_cols = min(len(models), 2)
    n_rows = -(-len(models) // n_cols)
    fig = style.new_figure(5.2 * n_cols + 1.0, 3.9 * n_rows + 0.3)
    grid = fig.subplots(n_rows, n_cols, sharey=True, squeeze=False)
    for ax in grid.ravel()[len(models):]:  # an odd number of model kinds leaves one empty
        ax.remove()
    axes = grid.ravel()[:len(models)]
    n_max = max(m.n_features for m in models)
    norm = BoundaryNorm(np.arange(n_max + 1) - 0.5, 256)
    points = None
    for ax, model in zip(axes, models):
        n = model.n_features
        x = prepare.inverse_density(model.sparsity)[:, None] * np.ones((1, n))
        # Spread each sparsity's features sideways by index (a fan, most important left), so
        # features sitting at the same D_i do not hide one another.
        x = x * 10.0 ** prepare.seed_offsets(n, 0.12)[None, :]
        feature = np.broadcast_to(np.arange(n), x.shape)
        d = model.arrays["feature_dimensionality"]
        shown = np.isfinite(d)
        points = ax.scatter(x[shown], d[shown], c=feature[shown], cmap=style.SEQUENTIAL_CMAP,
                            norm=norm, s=14, alpha=0.75, linewidths=0)
        dims = prepare.table_by_sparsity(model.sparsity, model.seed,
                                         model.arrays["dims_per_feature"])
        center = prepare.mean_and_spread(dims.values)[0]
        ax.plot(prepare.inverse_density(dims.sparsity), center, color=style.OKABE_ITO["black"],
                linewidth=1.4, label="dimensions per feature\n(mean over seeds)")
        _mark_fractions(ax)
        sparsity_axis(ax, dims.sparsity)
        n_seeds = np.unique(model.seed).size
        ax.set_title(f"{model.model} ({style.count_label(n_seeds, 'seed')})")
    for ax in grid[:, 0]:
        ax.set_ylabel("feature dimensionality D$_i$")
    axes[0].set_ylim(-0.03, 1.12)
    axes[0].legend(loc="upper right", fontsize="small")
    fig.colorbar(points, ax=list(axes), label="feature i (importance falls with i)", shrink=0.8,
                 ticks=np.arange(0, n_max, max(1, n_max // 10)))
    style.save_figure(fig, out_path)
    return fig


def plot_tms_loss(models: Sequence[ToyModel], out_path) -> Figure:
    """Held-out loss against sparsity, per model kind."""
    fig = style.new_figure(6.0, 4.4)
    ax = fig.add_subplot()
    ax.set_yscale("log")
    for k, model in enumerate(models):
        loss = prepare.table_by_sparsity(model.sparsity, model.seed, model.arrays["eval_loss"])
        n_seeds = loss.seeds.size
        style.plot_seeds(ax, prepare.inverse_density(loss.sparsity) * _dodge(k, len(models)),
                         loss.values,
                         style.model_color(model.model, k), log=True,
                         label=f"{model.model} ({style.count_label(n_seeds, 'seed')})")
    sparsity_axis(ax, _sparsity_levels(models))
    ax.set_ylabel("held-out loss (importance-weighted MSE)")
    ax.legend(loc="lower left")
    ax.set_title("Loss after training: geometric mean × / ÷ std over seeds, each seed faint")
    style.save_figure(fig, out_path)
    return fig


def _lighten(color: str, amount: float = 0.55) -> tuple[float, float, float]:
    rgb = np.array(to_rgb(color))
    return tuple(rgb + (1.0 - rgb) * amount)


def _log_cell_edges(centers: np.ndarray) -> np.ndarray:
    """Cell edges halfway (in log) between positive grid centres, for pcolormesh."""
    values = np.log10(centers)
    if values.size == 1:
        return 10.0 ** (values + np.array([-0.5, 0.5]))
    middle = (values[1:] + values[:-1]) / 2
    return 10.0 ** np.concatenate([[2 * values[0] - middle[0]], middle,
                                   [2 * values[-1] - middle[-1]]])


def plot_tms_phase_diagram(data: dict[str, np.ndarray], out_path) -> Figure:
    """The analytic phase map with trained models overlaid, coloured by the phase they reached.

    A trained model whose weights fit no candidate (phase -1: neither feature represented, or
    both without opposite signs) is drawn white.
    """
    names = [str(n).replace("_", " ") for n in data["candidate_names"]]
    colors = [style.CYCLE[k % len(style.CYCLE)] for k in range(len(names))]
    fig = style.new_figure(6.2, 5.8)
    ax = fig.add_subplot()
    ax.pcolormesh(_log_cell_edges(prepare.inverse_density(data["sparsity"])),
                  _log_cell_edges(data["importance_ratio"]), data["phase"],
                  cmap=ListedColormap([_lighten(c) for c in colors]),
                  norm=BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names)),
                  rasterized=True)
    ax.grid(False)
    trained, predicted = data["trained_phase"], data["predicted_phase"]
    marker_colors = np.array([colors[p] if 0 <= p < len(names) else "white" for p in trained])
    agrees = trained == predicted
    for marker, chosen in (("o", agrees), ("X", ~agrees)):
        if chosen.any():
            ax.scatter(prepare.inverse_density(data["trained_sparsity"][chosen]),
                       data["trained_importance_ratio"][chosen], c=marker_colors[chosen],
                       marker=marker, s=80, edgecolors="black", linewidths=0.9, zorder=3)
    handles = [Patch(facecolor=_lighten(c), edgecolor=c, label=f"analytic: {name}")
               for c, name in zip(colors, names)]
    handles += [Line2D([], [], marker="o", color="none", markerfacecolor=style.GREY,
                       markeredgecolor="black", markersize=8,
                       label="trained model in the predicted phase\n(colour: the phase reached)"),
                Line2D([], [], marker="X", color="none", markerfacecolor=style.GREY,
                       markeredgecolor="black", markersize=8,
                       label="trained model in another phase\n(white: none of the three)")]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize="small")
    ax.set(xscale="log", yscale="log")
    ax.set_xlabel("1 / (1 − S)   (S = sparsity of both features)")
    ax.set_ylabel("importance of feature 2 relative to feature 1")
    ax.set_title("Phase diagram: one hidden dimension, two features")
    style.save_figure(fig, out_path)
    return fig


def plot_percolation_superposition(models: Sequence[ToyModel], out_path) -> Figure:
    """Each percolation feature's norm ||W_i|| against its frequency rank and its depth."""
    for model in models:
        model.require(("feature_frequency", "feature_depth"), "percolation_superposition")
    fig = style.new_figure(10.5, 3.8 * len(models) + 0.7)
    axes = fig.subplots(len(models), 2, squeeze=False, sharey="row")
    for (ax_rank, ax_depth), model in zip(axes, models):
        depth = model.arrays["feature_depth"].astype(np.int64)
        rank = prepare.frequency_rank(model.arrays["feature_frequency"])
        norms = model.arrays["feature_norm"]  # (I, n): every instance is one replicate
        mean_norm = prepare.mean_and_spread(norms)[0]
        depth_norm = BoundaryNorm(np.arange(depth.max() + 2) - 0.5, 256)
        # Inside a depth's column, features run left to right from most to least frequent.
        depth_x = depth + prepare.seed_offsets(rank.size, 0.3)[rank - 1]
        for ax, x in ((ax_rank, rank), (ax_depth, depth_x)):
            for row in norms:
                ax.scatter(x, row, s=6, color=style.GREY, alpha=style.SEED_ALPHA, linewidths=0)
            points = ax.scatter(x, mean_norm, c=depth, norm=depth_norm, cmap=style.SEQUENTIAL_CMAP,
                                s=24, edgecolors="black", linewidths=0.3, zorder=3)
            ax.axhline(REPRESENTED_NORM, color=style.OKABE_ITO["vermillion"], linestyle="--",
                       linewidth=1)
        fig.colorbar(points, ax=[ax_rank, ax_depth], label="feature depth", pad=0.01,
                     ticks=MaxNLocator(integer=True).tick_values(0, depth.max()))
        n_instances = norms.shape[0]
        represented = model.arrays["represented"].sum(axis=1).mean()
        ax_rank.set_xscale("log")
        ax_rank.set_xlabel("feature frequency rank (1 = most frequent)")
        ax_rank.set_ylabel("feature norm ‖W$_i$‖")
        ax_rank.set_title(f"{model.model}: {represented:.3g} of {rank.size} features represented "
                          f"(mean over {style.count_label(n_instances, 'instance')})",
                          loc="left")
        ax_depth.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_depth.set_xlabel("feature depth in the latent hierarchy (0 = a whole cluster)")
    fig.legend(handles=[
        Line2D([], [], marker="o", color="none", markerfacecolor=style.GREY,
               markeredgecolor="black", label="mean over instances (colour: depth)"),
        Line2D([], [], marker="o", color="none", markerfacecolor=style.GREY, alpha=0.5,
               markeredgecolor="none", markersize=3, label="each instance"),
        Line2D([], [], color=style.OKABE_ITO["vermillion"], linestyle="--",
               label=f"represented: ‖W$_i$‖ > {REPRESENTED_NORM}")],
        loc="outside lower center", ncol=3)
    style.save_figure(fig, out_path)
    return fig
