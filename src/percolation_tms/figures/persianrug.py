"""Figures of the Persian Rug stage, drawn from the tables and weights ``persian-rug`` wrote.

:func:`read_persianrug` merges any number of ``results.csv`` (one row per model: kind trained,
rug or theory), ``curves.csv`` (the theory on fine grids) and ``weights.npz`` files; every
``plot_*`` takes what it returns and writes a PNG with a PDF beside it.  Nothing is refitted:
the loss values, the Gaussian limit and the statistics are the stage's numbers; the weights
figure forms the product W_out W_in of stored weights and the rug's W from its stored rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize

from percolation_tms import io
from percolation_tms.figures import style
from percolation_tms.io import InputFileError

BLOCK_SMALL = 30  # the top-left block with the biases (specification section 8)
BLOCK_LARGE = 256  # the block that shows the self-similar pattern
# Section 8's targets: loss against m/n at these p, and against p at these m/n (nearest).
P_TARGETS = (0.001, 0.01, 0.05, 0.1, 0.4, 0.6)
RATIO_TARGETS = (0.01, 0.1, 0.3, 0.5, 0.8)
THEORY_COLOR = style.OKABE_ITO["black"]
LINEAR_COLOR = style.GREY
RUG_COLOR = style.OKABE_ITO["reddish_purple"]
TRAINED_COLORS = (style.OKABE_ITO["blue"], style.OKABE_ITO["bluish_green"],
                  style.OKABE_ITO["orange"], style.OKABE_ITO["sky_blue"],
                  style.OKABE_ITO["vermillion"])
# The symmetry statistics of the heat maps: (label, function of a table row), all dimensionless
# or on the scale of the loss, so one colour scale per statistic serves every n.
SYMMETRY = (
    ("s.d. / mean of W_ii", lambda t: np.sqrt(t.diag_var) / np.abs(t.diag_mean)),
    ("s.d. of b_i", lambda t: np.sqrt(t.bias_var)),
    ("s.d. / mean of σ_i²", lambda t: np.sqrt(t.interference_var_var)
     / t.interference_var_mean),
    ("s.d. of μ_i / σ", lambda t: np.sqrt(t.interference_mean_var)
     / np.sqrt(t.interference_var_mean)),
    ("KS p-value of ν_0", lambda t: t.ks_pvalue),
    ("max Lyapunov ratio", lambda t: t.lyapunov_max),
)


class PersianRugData(NamedTuple):
    """table : every model row of the inputs (duplicates dropped); curves : theory curves;
    weights : every array by ``<model_id>.<name>``, keyed as well by the source file so that
    ids of different runs do not collide: ``weights[(results_file_folder, key)]``."""

    table: pd.DataFrame
    curves: pd.DataFrame
    weights: dict


def read_persianrug(paths: Sequence[str | Path]) -> PersianRugData:
    """Read the stage's results.csv, curves.csv and weights.npz files (config.json skipped).

    A results table and a weights file of the same folder belong together (model ids are per
    run); the table records each row's kind, n, m, p and seed.
    """
    tables, curves, weights = [], [], {}
    for path in map(Path, paths):
        if path.suffix == ".json":
            continue
        if path.suffix == ".npz":
            arrays = io.load_arrays(path, what="persian-rug weights file")
            weights.update({(str(path.parent), key): value for key, value in arrays.items()})
            continue
        if path.suffix != ".csv":
            raise InputFileError(f"{str(path)!r} is not a persian-rug file (results.csv, "
                                 f"curves.csv, weights.npz)")
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise InputFileError(f"{str(path)!r} is not a readable CSV ({exc})") from exc
        if "kind" in frame.columns:
            frame["source"] = str(path.parent)
            tables.append(frame)
        elif "curve" in frame.columns:
            curves.append(frame)
        else:
            raise InputFileError(f"{str(path)!r} is neither a persian-rug results table nor "
                                 f"its curves")
    if not tables:
        raise InputFileError("no persian-rug results.csv among the inputs")
    table = pd.concat(tables, ignore_index=True)
    table = table.drop_duplicates(subset=["kind", "n", "m", "p", "seed"], keep="first")
    curve = (pd.concat(curves, ignore_index=True).drop_duplicates() if curves
             else pd.DataFrame(columns=["curve", "p", "ratio", "gaussian_limit",
                                        "linear_optimum", "high_sparsity"]))
    return PersianRugData(table.reset_index(drop=True), curve, weights)


# ---------------------------------------------------------------------------- helpers
def _nearest(values: np.ndarray, targets: Sequence[float]) -> list[float]:
    """The distinct values nearest (in log) to each target, in increasing order."""
    values = np.unique(np.asarray(values, dtype=np.float64))
    chosen = {float(values[np.argmin(np.abs(np.log(values) - np.log(t)))]) for t in targets}
    return sorted(chosen)


def _mean_over_seeds(rows: pd.DataFrame, x: str) -> tuple[np.ndarray, np.ndarray]:
    grouped = rows.groupby(x)["loss"].mean().sort_index()
    return grouped.index.to_numpy(dtype=np.float64), grouped.to_numpy(dtype=np.float64)


def _panel_grid(fig, count: int, columns: int = 3):
    columns = min(columns, count)
    rows = -(-count // columns)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel()[count:]:
        ax.set_visible(False)
    return axes.ravel()[:count]


def _loss_panels(data: PersianRugData, out_path, along: str) -> object:
    """Loss against m/n (along = "ratio") at fixed p, or against p (along = "p") at fixed
    ratio target."""
    table = data.table
    if along == "ratio":
        fixed_name, fixed_values = "p", _nearest(table.p, P_TARGETS)
        x_name, curve_name = "ratio", "vs_ratio"
    else:
        fixed_name = "ratio_target"
        fixed_values = _nearest(table.ratio_target, RATIO_TARGETS)
        x_name, curve_name = "p", "vs_p"
    fig = style.new_figure(3.3 * min(3, len(fixed_values)),
                           2.9 * -(-len(fixed_values) // 3) + 0.4)
    axes = _panel_grid(fig, len(fixed_values))
    trained_ns = sorted(table.loc[table.kind == "trained", "n"].unique())
    rug_ns = sorted(table.loc[table.kind == "rug", "n"].unique())
    handles = {}
    for ax, value in zip(axes, fixed_values):
        here = table[np.isclose(table[fixed_name], value)]
        for k, n in enumerate(trained_ns):
            rows = here[(here.kind == "trained") & (here.n == n)]
            if len(rows):
                x, y = _mean_over_seeds(rows, x_name)
                (line,) = ax.plot(x, y, marker="o", color=TRAINED_COLORS[k % 5], markersize=4)
                handles[f"trained, n = {n}"] = line
        for k, n in enumerate(rug_ns):
            rows = here[(here.kind == "rug") & (here.n == n)]
            if len(rows):
                x, y = _mean_over_seeds(rows, x_name)
                largest = n == rug_ns[-1]
                (line,) = ax.plot(x, y, linestyle="none", marker="D" if largest else "x",
                                  markersize=5 if largest else 4, color=RUG_COLOR,
                                  markerfacecolor="none" if largest else RUG_COLOR,
                                  alpha=1.0 if largest else 0.6)
                handles[f"rug, n = {n}"] = line
        curve = data.curves[data.curves.curve == curve_name]
        if fixed_name == "p":
            curve = curve[np.isclose(curve.p, value)]
        else:
            curve = curve[np.isclose(curve.ratio, value)]
        curve = curve.sort_values(x_name)
        # The curves over the data's range (a factor 2 either side): at m/n -> 1 the loss
        # falls to 0 and would squash the log axis.
        x_data = here.loc[here.kind != "theory", x_name]
        if len(x_data):
            curve = curve[(curve[x_name] >= x_data.min() / 2)
                          & (curve[x_name] <= min(x_data.max() * 2, 0.9 if along == "ratio"
                                                  else 1.0))]
        if len(curve):
            (line,) = ax.plot(curve[x_name], curve.gaussian_limit, color=THEORY_COLOR,
                              linewidth=1.2)
            handles["Gaussian limit"] = line
            (line,) = ax.plot(curve[x_name], curve.linear_optimum, color=LINEAR_COLOR,
                              linestyle="--", linewidth=1.0)
            handles["optimal linear (1 − m/n) v"] = line
            if along == "p":
                law = curve[curve.p < curve.ratio]
                (line,) = ax.plot(law.p, law.high_sparsity, color=THEORY_COLOR,
                                  linestyle=":", linewidth=1.0)
                handles["(p²/6)(n/m − 1) ln(1/p)"] = line
        ax.set_xscale("log")
        ax.set_yscale("log")
        if along == "ratio":
            ax.set_title(f"p = {value:g}")
            ax.set_xlabel("m / n")
        else:
            ax.set_title(f"m / n ≈ {value:g}")
            ax.set_xlabel("p (probability a feature is on)")
        ax.set_ylabel("loss (fresh samples)")
        ax.grid(True, which="major", alpha=0.3)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=min(4, len(handles)), frameon=False)
    style.save_figure(fig, out_path)
    return fig


def plot_persianrug_loss_vs_ratio(data: PersianRugData, out_path):
    """Loss against m/n, one panel per p: trained models per n, the rug, the Gaussian limit
    and the optimal linear map."""
    return _loss_panels(data, out_path, "ratio")


def plot_persianrug_loss_vs_p(data: PersianRugData, out_path):
    """Loss against p, one panel per m/n, with the high-sparsity law."""
    return _loss_panels(data, out_path, "p")


def plot_persianrug_symmetry(data: PersianRugData, out_path):
    """Heat maps over (p, m/n) of the symmetry statistics of the trained models, one column
    per n and one colour scale per statistic (log scale)."""
    trained = data.table[data.table.kind == "trained"]
    if not len(trained):
        raise InputFileError("persianrug_symmetry needs trained models among the inputs")
    ns = sorted(trained.n.unique())
    ps = np.sort(trained.p.unique())
    ratios = np.sort(trained.ratio_target.unique())
    fig = style.new_figure(2.4 * len(ns) + 1.2, 1.9 * len(SYMMETRY) + 0.3)
    axes = fig.subplots(len(SYMMETRY), len(ns), squeeze=False)
    for row, (label, function) in enumerate(SYMMETRY):
        grids = []
        for n in ns:
            grid = np.full((ratios.size, ps.size), np.nan)
            mine = trained[trained.n == n]
            values = function(mine).to_numpy(dtype=np.float64)
            for (r, p), value in zip(zip(mine.ratio_target, mine.p), values):
                i, j = np.searchsorted(ratios, r), np.searchsorted(ps, p)
                grid[i, j] = value if np.isnan(grid[i, j]) else np.nanmean([grid[i, j], value])
            grids.append(grid)
        finite = np.concatenate([g[np.isfinite(g) & (g > 0)] for g in grids])
        norm = (LogNorm(vmin=finite.min(), vmax=max(finite.max(), finite.min() * 1.0001))
                if finite.size else Normalize(0, 1))
        for col, (n, grid) in enumerate(zip(ns, grids)):
            ax = axes[row, col]
            image = ax.imshow(np.where(grid > 0, grid, np.nan), origin="lower", aspect="auto",
                              cmap=style.SEQUENTIAL_CMAP, norm=norm)
            for i in range(ratios.size):
                for j in range(ps.size):
                    if np.isfinite(grid[i, j]):
                        ax.text(j, i, f"{grid[i, j]:.2g}", ha="center", va="center",
                                fontsize=7, color="white" if norm(grid[i, j]) < 0.6
                                else "black")
            ax.grid(False)
            ax.set_xticks(range(ps.size), [f"{p:g}" for p in ps])
            ax.set_yticks(range(ratios.size), [f"{r:g}" for r in ratios])
            if row == 0:
                ax.set_title(f"trained, n = {n}")
            if row == len(SYMMETRY) - 1:
                ax.set_xlabel("p")
            if col == 0:
                ax.set_ylabel("m / n")
        fig.colorbar(image, ax=axes[row, :].tolist(), label=label, shrink=0.9)
    style.save_figure(fig, out_path)
    return fig


def _weights_cell(data: PersianRugData):
    """The (trained row, rug row) pair shown: a trained model with a rug at the same (n, m,
    p, seed), preferring the largest n and the cell nearest m/n = 0.25, p = 0.1."""
    table = data.table
    trained = table[table.kind == "trained"]
    rugs = table[table.kind == "rug"]
    pairs = trained.merge(rugs, on=["n", "m", "p", "seed"], suffixes=("", "_rug"))
    if not len(pairs):
        raise InputFileError("persianrug_weights needs a trained model and a rug at the same "
                             "(n, m, p, seed)")
    score = (-pairs.n.to_numpy() * 1e6 + np.abs(np.log(pairs.ratio / 0.25))
             + np.abs(np.log(pairs.p / 0.1)))
    best = pairs.iloc[int(np.argmin(score))]
    trained_row = trained[(trained.model_id == best.model_id)
                          & (trained.source == best.source)].iloc[0]
    rug_row = rugs[(rugs.model_id == best.model_id_rug)
                   & (rugs.source == best.source_rug)].iloc[0]
    return trained_row, rug_row


def _array(data: PersianRugData, row, name: str) -> np.ndarray:
    key = (row.source, f"{row.model_id}.{name}")
    if key not in data.weights:
        raise InputFileError(f"the weights of {row.model_id} ({name}) are not among the "
                             f"inputs (weights.npz of {row.source})")
    return np.asarray(data.weights[key])


def plot_persianrug_weights(data: PersianRugData, out_path):
    """The rug's W (the XOR pattern) beside a trained W at the same (n, m, p): the top-left
    30 x 30 block with the bias column, a 256 x 256 block, and histograms of the diagonal and
    off-diagonal entries.  Both are shown as effective maps y = ReLU(W x + b) (the rug's
    a W, a b)."""
    from percolation_tms.persianrug.rug import rug_matrix

    trained_row, rug_row = _weights_cell(data)
    n = int(trained_row.n)
    w_in = _array(data, trained_row, "W_in").astype(np.float64)
    w_out = _array(data, trained_row, "W_out").astype(np.float64)
    trained_w = w_out @ w_in
    trained_b = _array(data, trained_row, "b").astype(np.float64)
    a, b = float(rug_row.a), float(rug_row.b)
    block = min(BLOCK_LARGE, n)
    rug_w = a * rug_matrix(n, _array(data, rug_row, "rows"), block=n if n <= 2048 else block)
    rug_b = np.full(n, a * b)
    models = (("Persian rug", rug_w, rug_b), ("trained", trained_w, trained_b))
    fig = style.new_figure(9.0, 9.6)
    grid = fig.add_gridspec(3, 4, width_ratios=[1, 0.08, 1, 0.08], height_ratios=[1, 1.15, 0.8])
    small = min(BLOCK_SMALL, n)
    norm_small = style.symmetric_norm(*(w[:small, :small] for _, w, _ in models),
                                      *(bias[:small] for _, _, bias in models), quantile=0.99)
    norm_large = style.symmetric_norm(*(w[:block, :block] for _, w, _ in models),
                                      quantile=0.99)
    top, middle = [], []
    for col, (name, w, bias) in enumerate(models):
        ax = fig.add_subplot(grid[0, 2 * col])
        image = ax.imshow(w[:small, :small], cmap=style.DIVERGING_CMAP, norm=norm_small)
        ax.set_title(f"{name}: W[:{small}, :{small}]")
        ax.grid(False)
        ax_b = fig.add_subplot(grid[0, 2 * col + 1])
        ax_b.imshow(bias[:small, None], cmap=style.DIVERGING_CMAP, norm=norm_small,
                    aspect="auto")
        ax_b.set_xticks([0], ["b"])
        ax_b.set_yticks([])
        ax_b.grid(False)
        top += [ax, ax_b]
        ax = fig.add_subplot(grid[1, 2 * col:2 * col + 2])
        big = ax.imshow(w[:block, :block], cmap=style.DIVERGING_CMAP, norm=norm_large,
                        interpolation="nearest")
        ax.set_title(f"{name}: W[:{block}, :{block}]")
        ax.grid(False)
        middle.append(ax)
    fig.colorbar(image, ax=top, label="W_ij, b_i", shrink=0.8)
    fig.colorbar(big, ax=middle, label="W_ij", shrink=0.8)
    for col, (part, label) in enumerate((("diag", "diagonal W_ii"),
                                         ("off", "off-diagonal W_ij"))):
        ax = fig.add_subplot(grid[2, 2 * col:2 * col + 2])
        for (name, w, _), color in zip(models, (RUG_COLOR, TRAINED_COLORS[0])):
            size = w.shape[0]
            values = (np.diagonal(w) if part == "diag"
                      else w[~np.eye(size, dtype=bool)].ravel())
            span = values.max() - values.min()
            if span <= 1e-12 * max(1.0, abs(values.max())):
                ax.axvline(values[0], color=color, linewidth=2, label=f"{name} (all equal)")
            else:
                ax.hist(values, bins=80, color=color, alpha=0.55, label=name, density=True)
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        if part == "off":
            ax.set_yscale("log")
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"n = {n}, m = {int(trained_row.m)}, p = {trained_row.p:g}: trained loss "
                 f"{trained_row.loss:.3g}, rug loss {rug_row.loss:.3g} (a = {a:.3g})")
    style.save_figure(fig, out_path)
    return fig
