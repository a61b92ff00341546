"""Figures of the sparse-autoencoder stage, drawn from the tables ``train-sae`` and
``sae-synthetic`` wrote (never retraining or rescoring).

``read_sae_runs`` reads the ``--inputs`` of the plot command: the files of one or more sweep
folders (one per dataset seed, say).  Sweep points are matched across folders by their setting
(kind, dictionary ratio, l1, k); with several folders each figure shows their mean with a band
of one standard deviation, each folder faint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from percolation_tms import io
from percolation_tms.figures import style

SETTING = ["kind", "dict_ratio", "l1", "k"]  # what identifies a sweep point across runs
MIN_FEATURES = 5  # depths / frequency bins with fewer features (on average) are not drawn
TABLES = {"metrics.csv": "metrics", "recovery_by_depth.csv": "by_depth",
          "recovery_by_frequency.csv": "by_frequency", "recovery.csv": "recovery"}


@dataclass(frozen=True)
class SAERun:
    """The tables of one sweep folder (None when not among the inputs) and its config.json
    without the per-point settings (``info``, empty when not given)."""

    folder: Path
    metrics: pd.DataFrame
    by_depth: pd.DataFrame | None
    by_frequency: pd.DataFrame | None
    recovery: pd.DataFrame | None
    info: dict


def read_sae_runs(paths: Sequence[str | os.PathLike]) -> tuple[SAERun, ...]:
    """Group the given files by folder (one sweep each, in order of first mention) and read
    them: ``metrics.csv`` is required in every folder; ``recovery_by_depth.csv``,
    ``recovery_by_frequency.csv``, ``recovery.csv`` and ``config.json`` as the figure needs."""
    from percolation_tms.sae.outputs import read_config

    folders: dict[Path, dict] = {}
    for path in map(Path, paths):
        tables = folders.setdefault(path.parent, {})
        if path.name in TABLES:
            if not path.is_file():
                raise io.InputFileError(f"SAE table {str(path)!r} does not exist")
            try:
                tables[TABLES[path.name]] = pd.read_csv(path)
            except Exception as exc:
                raise io.InputFileError(f"SAE table {str(path)!r} is unreadable ({exc})") from exc
        elif path.name == "config.json":
            tables["info"] = read_config(path)[1]
        else:
            raise io.InputFileError(f"{str(path)!r} is not an SAE sweep file (expected one of "
                                    f"{sorted(TABLES) + ['config.json']})")
    runs = []
    for folder, tables in folders.items():
        if "metrics" not in tables:
            raise io.InputFileError(f"the inputs from {str(folder)!r} lack its metrics.csv")
        runs.append(SAERun(folder, tables["metrics"], tables.get("by_depth"),
                           tables.get("by_frequency"), tables.get("recovery"),
                           tables.get("info", {})))
    return tuple(runs)


# ---------------------------------------------------------------------------- helpers
def _settings(frames: Sequence[pd.DataFrame]) -> list[tuple]:
    """The sweep settings present in any frame, by dictionary size then sparsity pressure."""
    settings = pd.concat([f[SETTING] for f in frames]).drop_duplicates()
    return [tuple(row) for row in settings.sort_values(["kind", "dict_ratio", "l1", "k"])
            .itertuples(index=False)]


def _label(setting: tuple, with_ratio: bool) -> str:
    kind, ratio, l1, k = setting
    text = f"λ = {l1:g}" if kind == "relu" else f"k = {k:g}"
    return f"{text}, m = {ratio:g}d" if with_ratio else text


def _styles(settings: list[tuple]) -> dict[tuple, dict]:
    """Colour by sparsity setting (ordered: viridis), marker and line style by dictionary size."""
    pressures = sorted({s[2] if s[0] == "relu" else -s[3] for s in settings})
    ratios = sorted({s[1] for s in settings})
    cmap = mpl.colormaps[style.SEQUENTIAL_CMAP]
    markers, lines = "osD^v", ["-", "--", ":", "-."]
    out = {}
    for s in settings:
        rank = pressures.index(s[2] if s[0] == "relu" else -s[3])
        r = ratios.index(s[1])
        out[s] = {"color": cmap(0.85 * rank / max(len(pressures) - 1, 1)),
                  "marker": markers[r % len(markers)], "linestyle": lines[r % len(lines)],
                  "label": _label(s, len(ratios) > 1)}
    return out


def _select(frame: pd.DataFrame, setting: tuple) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in zip(SETTING, setting):
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def _on_grid(frames: Sequence[pd.DataFrame], x_column: str, y_column: str
             ) -> tuple[np.ndarray, np.ndarray]:
    """(x (P,) the union of the frames' x values, Y (K, P) with NaN where a frame lacks x)."""
    x = np.unique(np.concatenate([f[x_column].to_numpy(dtype=float) for f in frames]))
    y = np.full((len(frames), x.size), np.nan)
    for row, frame in enumerate(frames):
        y[row, np.searchsorted(x, frame[x_column].to_numpy(dtype=float))] = frame[y_column]
    return x, y


def _runs_note(runs: Sequence[SAERun]) -> str:
    return "" if len(runs) == 1 else f" (mean ± std over {len(runs)} runs, each faint)"


def _need(runs: Sequence[SAERun], attribute: str, file_name: str) -> list[pd.DataFrame]:
    missing = [str(run.folder) for run in runs if getattr(run, attribute) is None]
    if missing:
        raise ValueError(f"this figure needs {file_name} of every sweep; missing in {missing}")
    return [getattr(run, attribute) for run in runs]


# ---------------------------------------------------------------------------- recovery
def _draw_settings(axes, tables, settings, styles, shown) -> None:
    """Mean Pearson and mean F1 against x, one line per sweep setting, on two axes."""
    for setting in settings:
        frames = [_select(t, setting) for t in tables]
        for ax, column in zip(axes, ("mean_pearson", "mean_f1")):
            x, y = _on_grid(frames, "x", column)
            keep = np.isin(x, shown)
            st = styles[setting]
            style.plot_seeds(ax, x[keep], y[:, keep], st["color"], label=st["label"],
                             marker=st["marker"])


def _best_setting(runs: Sequence[SAERun], settings: list[tuple]) -> tuple:
    """The sweep setting with the highest mean_pearson, averaged over runs."""
    scores = [np.nanmean([_select(run.metrics, s)["mean_pearson"].mean() for run in runs])
              for s in settings]
    return settings[int(np.nanargmax(scores))]


def _draw_size_bands(ax_pearson, ax_count, tables, setting) -> None:
    """For one setting, mean Pearson (and the number of features) against depth, one line per
    size band of the features."""
    rows = [_select(t, setting) for t in tables]
    rows = [r[r["size_band"] != "all"] for r in rows]
    bands = pd.concat(rows)[["size_low", "size_band"]].drop_duplicates().sort_values("size_low")
    cmap = mpl.colormaps[style.SEQUENTIAL_CMAP]
    for i, (low, name) in enumerate(bands.itertuples(index=False)):
        frames = [r[r["size_low"] == low] for r in rows]
        color = cmap(0.9 * i / max(len(bands) - 1, 1))
        count_x, count_y = _on_grid(frames, "x", "n_features")
        shown = count_x[np.nanmean(count_y, axis=0) >= MIN_FEATURES]
        if shown.size == 0:
            continue
        x, y = _on_grid(frames, "x", "mean_pearson")
        keep = np.isin(x, shown)
        style.plot_seeds(ax_pearson, x[keep], y[:, keep], color, label=f"{name} points",
                         marker=".")
        style.plot_seeds(ax_count, count_x, count_y, color, log=True, marker=".")


def _recovery_figure(runs: Sequence[SAERun], by: str, out_path) -> Figure:
    tables = _need(runs, "by_depth" if by == "depth" else "by_frequency",
                   f"recovery_by_{by}.csv")
    if by == "frequency":  # x: the geometric centre of each power-of-two bin of points
        tables = [t.assign(x=np.sqrt(t["bin_low"] * t["bin_high"])) for t in tables]
        overall = tables
    else:
        tables = [t.assign(x=t["group"]) for t in tables]
        overall = [t[t["size_band"] == "all"] for t in tables]
    settings = _settings(overall)
    styles = _styles(settings)
    counts = [_select(t, settings[0]) for t in overall]  # the same features at every setting
    count_x, count_y = _on_grid(counts, "x", "n_features")
    shown = count_x[np.nanmean(count_y, axis=0) >= MIN_FEATURES]
    xlabel = ("depth (0 = a cluster's root latent)" if by == "depth"
              else "points covered by the feature")
    if by == "depth":
        fig = style.new_figure(11.0, 7.6)
        (ax_band, ax_pearson), (ax_f1, ax_count) = fig.subplots(2, 2)
        best = _best_setting(runs, settings)
        _draw_size_bands(ax_band, ax_count, tables, best)
        ax_band.set_ylabel("mean best Pearson correlation")
        ax_band.set_title(f"(a) by size of the feature, {styles[best]['label']}")
        ax_band.legend(loc="best", title="features covering")
        ax_band.set_ylim(bottom=min(0.0, ax_band.get_ylim()[0]))
        letters = "bcd"
        axes = (ax_band, ax_pearson, ax_f1, ax_count)
    else:
        fig = style.new_figure(12.0, 4.0)
        ax_pearson, ax_f1, ax_count = fig.subplots(1, 3)
        style.plot_seeds(ax_count, count_x, count_y, style.GREY, log=True)
        letters = "abc"
        axes = (ax_pearson, ax_f1, ax_count)
        for ax in axes:
            ax.set_xscale("log", base=2)
    _draw_settings((ax_pearson, ax_f1), overall, settings, styles, shown)
    for ax in axes:
        ax.set_xlabel(xlabel)
    ax_pearson.set_ylabel("mean best Pearson correlation")
    ax_pearson.set_title(f"({letters[0]}) all features: best latent's correlation with "
                         "membership")
    ax_f1.set_ylabel("mean F1 of 'activation > 0'")
    ax_f1.set_title(f"({letters[1]}) all features: the same latent as a detector")
    ax_count.set_yscale("log")
    ax_count.set_ylabel("ground-truth features scored")
    per = "depth and size" if by == "depth" else "bin"
    ax_count.set_title(f"({letters[2]}) features per {per}")
    ax_pearson.set_ylim(bottom=min(0.0, ax_pearson.get_ylim()[0]))
    ax_f1.set_ylim(bottom=0.0)
    ax_pearson.legend(loc="best")
    fig.suptitle(f"Recovery of the ground-truth features by {by}{_runs_note(runs)}; "
                 f"groups with < {MIN_FEATURES} features not drawn")
    style.save_figure(fig, out_path)
    return fig


def plot_sae_recovery_depth(runs: Sequence[SAERun], out_path) -> Figure:
    """Recovery of ground-truth features against their depth in the hierarchy: (a) for the
    sweep setting of best mean recovery, one line per size band of the features (depth and size
    are entangled); (b) mean best-latent Pearson correlation and (c) F1 over all features, one
    line per sweep setting; (d) the number of features per depth and size band."""
    return _recovery_figure(runs, "depth", out_path)


def plot_sae_recovery_frequency(runs: Sequence[SAERun], out_path) -> Figure:
    """The same against the number of points a feature covers (power-of-two bins)."""
    return _recovery_figure(runs, "frequency", out_path)


# ---------------------------------------------------------------------------- trade-off
def plot_sae_tradeoff(runs: Sequence[SAERun], out_path) -> Figure:
    """Fraction of variance unexplained and mean recovery against mean L0 across the sweep:
    one curve per dictionary size through its sparsity settings."""
    metrics = [run.metrics for run in runs]
    settings = _settings(metrics)
    styles = _styles(settings)
    has_recovery = all("mean_pearson" in m for m in metrics)
    fig = style.new_figure(10.0 if has_recovery else 5.5, 4.2)
    axes = fig.subplots(1, 2 if has_recovery else 1, squeeze=False)[0]
    columns = ["fvu", "mean_pearson"][:len(axes)]
    for ratio in sorted({s[1] for s in settings}):
        mine = [s for s in settings if s[1] == ratio]
        stats = []
        for setting in mine:
            rows = pd.concat([_select(m, setting) for m in metrics])
            stats.append([rows["mean_l0"].mean(), rows["mean_l0"].std(ddof=0)]
                         + [v for c in columns for v in (rows[c].mean(), rows[c].std(ddof=0))])
        stats = np.array(stats)
        order = np.argsort(stats[:, 0])
        for panel, ax in enumerate(axes):
            ax.plot(stats[order, 0], stats[order, 2 + 2 * panel], color=style.GREY,
                    linestyle=styles[mine[0]]["linestyle"], linewidth=1.0, zorder=1,
                    label=f"m = {ratio:g}d")
            for i, setting in enumerate(mine):
                st = styles[setting]
                ax.errorbar(stats[i, 0], stats[i, 2 + 2 * panel], xerr=stats[i, 1],
                            yerr=stats[i, 3 + 2 * panel], color=st["color"],
                            marker=st["marker"], linestyle="none", zorder=2)
                ax.annotate(_label(setting, False), (stats[i, 0], stats[i, 2 + 2 * panel]),
                            textcoords="offset points", xytext=(4, 4), fontsize=7.5)
    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.set_xlabel("mean L0 (active latents per point)")
        ax.legend(loc="best")
    axes[0].set_ylabel("fraction of variance unexplained")
    axes[0].set_title("(a) reconstruction against sparsity")
    if has_recovery:
        axes[1].set_ylabel("mean best Pearson correlation (all scored features)")
        axes[1].set_title("(b) recovery of the ground truth against sparsity")
    fig.suptitle(f"Sparsity / reconstruction trade-off across the sweep{_runs_note(runs)}")
    style.save_figure(fig, out_path)
    return fig


# ---------------------------------------------------------------------------- known dictionary
def plot_sae_mmcs(runs: Sequence[SAERun], out_path) -> Figure:
    """Known-dictionary data: (a) mean max cosine similarity against dictionary size, one line
    per sparsity setting (the seed's classic plot); (b) for the best setting, every true
    direction's max cosine similarity, sorted, one line per dictionary size."""
    metrics = [run.metrics for run in runs]
    if not all("mmcs" in m for m in metrics):
        raise ValueError("plot sae_mmcs needs the metrics.csv of sae-synthetic runs (with an "
                         "mmcs column)")
    recovery = runs[0].recovery
    if recovery is None or "max_cosine" not in recovery:
        raise ValueError(f"plot sae_mmcs needs the recovery.csv of the sae-synthetic run in "
                         f"{str(runs[0].folder)!r}")
    fig = style.new_figure(10.5, 4.2)
    ax_mmcs, ax_rank = fig.subplots(1, 2)
    settings = _settings(metrics)
    sparsities = sorted({s[:1] + s[2:] for s in settings})  # (kind, l1, k)
    cmap = mpl.colormaps[style.SEQUENTIAL_CMAP]
    best, best_value = None, -np.inf
    for i, (kind, l1, k) in enumerate(sparsities):
        frames = [m[(m["kind"] == kind) & (m["l1"] == l1) & (m["k"] == k)] for m in metrics]
        x, y = _on_grid(frames, "dict_ratio", "mmcs")
        color = cmap(0.85 * i / max(len(sparsities) - 1, 1))
        style.plot_seeds(ax_mmcs, x, y, color, label=_label((kind, 0, l1, k), False))
        if np.nanmean(y) > best_value:
            best, best_value = (kind, l1, k), np.nanmean(y)
    n_true = runs[0].info.get("data", {}).get("synthetic", {}).get("n_features")
    dim = runs[0].info.get("data", {}).get("synthetic", {}).get("dim")
    if n_true and dim:
        ax_mmcs.axvline(n_true / dim, color=style.GREY, linestyle=":", linewidth=1.0)
        ax_mmcs.annotate("m = true directions", (n_true / dim, 0.02), rotation=90,
                         xycoords=("data", "axes fraction"), fontsize=7.5, color=style.GREY,
                         xytext=(3, 0), textcoords="offset points")
    ax_mmcs.set_xscale("log", base=2)
    ax_mmcs.set_xlabel("dictionary size m / d")
    ax_mmcs.set_ylabel("mean max cosine similarity")
    ax_mmcs.set_ylim(0.0, 1.02)
    ax_mmcs.legend(loc="lower right")
    ax_mmcs.set_title("(a) recovery of the true directions")

    mine = recovery[(recovery["kind"] == best[0]) & (recovery["l1"] == best[1])
                    & (recovery["k"] == best[2])]
    ratios = sorted(mine["dict_ratio"].unique())
    for i, ratio in enumerate(ratios):
        values = np.sort(mine.loc[mine["dict_ratio"] == ratio, "max_cosine"].to_numpy())[::-1]
        ax_rank.plot(np.arange(1, values.size + 1), values,
                     color=cmap(0.85 * i / max(len(ratios) - 1, 1)), label=f"m = {ratio:g}d")
    ax_rank.set_xlabel("true direction, ranked by its max cosine similarity")
    ax_rank.set_ylabel("max cosine similarity with a decoder column")
    ax_rank.set_ylim(0.0, 1.02)
    ax_rank.legend(loc="lower left")
    ax_rank.set_title(f"(b) every direction, {_label((best[0], 0) + best[1:], False)}"
                      + (" (first run)" if len(runs) > 1 else ""))
    fig.suptitle(f"Sparse autoencoders on data with a known dictionary{_runs_note(runs)}")
    style.save_figure(fig, out_path)
    return fig
