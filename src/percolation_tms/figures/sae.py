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
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter, ScalarFormatter

from percolation_tms import io
from percolation_tms.figures import style

SETTING = ["kind", "dict_ratio", "l1", "k", "l0_coefficient"]  # a sweep point across runs
MIN_FEATURES = 5  # depths / frequency bins with fewer features (on average) are not drawn
TABLES = {"metrics.csv": "metrics", "recovery_by_depth.csv": "by_depth",
          "recovery_by_frequency.csv": "by_frequency", "recovery.csv": "recovery",
          "absorption_by_depth.csv": "absorption_by_depth"}
KIND_ORDER = ["relu", "topk", "batchtopk", "jumprelu", "matryoshka"]
KIND_LABELS = {"relu": "ReLU + L1", "topk": "TopK", "batchtopk": "BatchTopK",
               "jumprelu": "JumpReLU", "matryoshka": "Matryoshka BatchTopK"}


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
    absorption_by_depth: pd.DataFrame | None = None


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
                # An empty file: a table the sweep did not compute (no hierarchy).
                tables[TABLES[path.name]] = (pd.read_csv(path) if path.stat().st_size
                                             else None)
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
        metrics = tables["metrics"]
        if "l0_coefficient" not in metrics:  # sweeps written before JumpReLU existed
            metrics = metrics.assign(l0_coefficient=0.0)
        runs.append(SAERun(folder, metrics, _with_l0(tables.get("by_depth")),
                           _with_l0(tables.get("by_frequency")), _with_l0(tables.get("recovery")),
                           tables.get("info", {}), tables.get("absorption_by_depth")))
    return tuple(runs)


# ---------------------------------------------------------------------------- helpers
def _with_l0(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is not None and "l0_coefficient" not in frame:
        return frame.assign(l0_coefficient=0.0)
    return frame


def _settings(frames: Sequence[pd.DataFrame]) -> list[tuple]:
    """The sweep settings present in any frame, by dictionary size then sparsity pressure."""
    settings = pd.concat([f[SETTING] for f in frames]).drop_duplicates()
    return [tuple(row) for row in settings.sort_values(SETTING).itertuples(index=False)]


def _pressure(setting: tuple) -> float:
    """Sparsity pressure of a setting, larger = sparser (for colour order)."""
    kind, _, l1, k, l0 = setting
    return l1 if kind == "relu" else l0 if kind == "jumprelu" else -k


def _label(setting: tuple, with_ratio: bool) -> str:
    kind, ratio, l1, k, l0 = setting
    text = (f"λ = {l1:g}" if kind == "relu" else f"λ0 = {l0:g}" if kind == "jumprelu"
            else f"k = {k:g}")
    text = f"{KIND_LABELS.get(kind, kind)}, {text}"
    return f"{text}, m = {ratio:g}d" if with_ratio else text


def _styles(settings: list[tuple]) -> dict[tuple, dict]:
    """Marker and line style by dictionary size; colour by sparsity setting (ordered:
    viridis) for one kind, by kind when several are compared (their sparsity settings are not
    on one scale)."""
    pressures = sorted({_pressure(s) for s in settings})
    ratios = sorted({s[1] for s in settings})
    by_kind = len({s[0] for s in settings}) > 1
    cmap = mpl.colormaps[style.SEQUENTIAL_CMAP]
    markers, lines = "osD^v", ["-", "--", ":", "-."]
    out = {}
    for s in settings:
        rank = pressures.index(_pressure(s))
        r = ratios.index(s[1])
        color = (_kind_color(s[0]) if by_kind
                 else cmap(0.85 * rank / max(len(pressures) - 1, 1)))
        out[s] = {"color": color, "marker": markers[r % len(markers)],
                  "linestyle": lines[r % len(lines)], "label": _label(s, len(ratios) > 1)}
    return out


def _settings_legend(ax, settings: list[tuple], styles: dict) -> None:
    """One legend entry per setting, or, for several kinds at several dictionary sizes, one
    per kind (colour) and one per size (marker): a short legend for many lines."""
    kinds = list(dict.fromkeys(s[0] for s in settings))
    ratios = sorted({s[1] for s in settings})
    if len(kinds) == 1 or len(ratios) == 1:
        ax.legend(loc="best", fontsize=7.5)
        return
    handles = []
    for kind in kinds:
        first = next(s for s in settings if s[0] == kind)
        handles.append(Line2D([], [], color=styles[first]["color"],
                                        label=_label(first, False)))
    for ratio in ratios:
        first = next(s for s in settings if s[1] == ratio)
        handles.append(Line2D([], [], color=style.GREY, linestyle="none",
                                        marker=styles[first]["marker"],
                                        label=f"m = {ratio:g}d"))
    ax.legend(handles=handles, loc="best", fontsize=7.5, ncol=2)


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
    """The mean-over-runs note, when the runs repeat the same sweep (seeds, datasets); runs of
    different kinds are simply drawn side by side."""
    points = {tuple(map(tuple, run.metrics[SETTING].to_numpy().tolist())) for run in runs}
    return ("" if len(runs) == 1 or len(points) > 1
            else f" (mean ± std over {len(runs)} runs, each faint)")


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
    _settings_legend(ax_pearson, settings, styles)
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
    one curve per kind and dictionary size through its sparsity settings.  One kind: each
    point is labelled with its setting; several: colour by kind, marker by size (legend)."""
    metrics = [run.metrics for run in runs]
    settings = _settings(metrics)
    styles = _styles(settings)
    several_kinds = len({s[0] for s in settings}) > 1
    has_recovery = all("mean_pearson" in m for m in metrics)
    fig = style.new_figure(10.0 if has_recovery else 5.5, 4.2)
    axes = fig.subplots(1, 2 if has_recovery else 1, squeeze=False)[0]
    columns = ["fvu", "mean_pearson"][:len(axes)]
    curves = dict.fromkeys((s[0], s[1]) for s in settings)  # (kind, ratio), in order
    for kind, ratio in curves:
        mine = [s for s in settings if s[:2] == (kind, ratio)]
        stats = []
        for setting in mine:
            rows = pd.concat([_select(m, setting) for m in metrics])
            stats.append([rows["mean_l0"].mean(), rows["mean_l0"].std(ddof=0)]
                         + [v for c in columns for v in (rows[c].mean(), rows[c].std(ddof=0))])
        stats = np.array(stats)
        order = np.argsort(stats[:, 0])
        first = styles[mine[0]]
        for panel, ax in enumerate(axes):
            if len(mine) > 1:
                ax.plot(stats[order, 0], stats[order, 2 + 2 * panel],
                        color=first["color"] if several_kinds else style.GREY,
                        linestyle=first["linestyle"], linewidth=1.0, zorder=1,
                        label=None if several_kinds else f"m = {ratio:g}d")
            for i, setting in enumerate(mine):
                st = styles[setting]
                ax.errorbar(stats[i, 0], stats[i, 2 + 2 * panel], xerr=stats[i, 1],
                            yerr=stats[i, 3 + 2 * panel], color=st["color"],
                            marker=st["marker"], linestyle="none", zorder=2)
                if not several_kinds:
                    ax.annotate(_label(setting, False),
                                (stats[i, 0], stats[i, 2 + 2 * panel]),
                                textcoords="offset points", xytext=(4, 4), fontsize=7.5)
    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        low, high = ax.get_xlim()
        # minor tick labels only within a decade (beyond, 5 6 7 8 9 20 30 ... run together)
        ax.xaxis.set_minor_formatter(ScalarFormatter() if high / low < 10 else NullFormatter())
        ax.set_xlabel("mean L0 (active latents per point)")
    if several_kinds:
        _settings_legend(axes[-1], settings, styles)
    else:
        for ax in axes:
            if ax.get_legend_handles_labels()[0]:
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
    sparsities = sorted({s[:1] + s[2:] for s in settings})  # (kind, l1, k, l0)
    cmap = mpl.colormaps[style.SEQUENTIAL_CMAP]
    best, best_value = None, -np.inf
    for i, (kind, l1, k, l0) in enumerate(sparsities):
        frames = [m[(m["kind"] == kind) & (m["l1"] == l1) & (m["k"] == k)
                    & (m["l0_coefficient"] == l0)] for m in metrics]
        frames = [f for f in frames if len(f)]
        x, y = _on_grid(frames, "dict_ratio", "mmcs")
        color = cmap(0.85 * i / max(len(sparsities) - 1, 1))
        style.plot_seeds(ax_mmcs, x, y, color, label=_label((kind, 0, l1, k, l0), False))
        if np.nanmean(y) > best_value:
            best, best_value = (kind, l1, k, l0), np.nanmean(y)
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
                    & (recovery["k"] == best[2]) & (recovery["l0_coefficient"] == best[3])]
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


# ---------------------------------------------------------------------------- architectures
MATCHED_L0 = 8.0  # the L0 the architectures are compared at (the default k)


def _kind_color(kind: str) -> str:
    return style.CYCLE[KIND_ORDER.index(kind) % len(style.CYCLE)] if kind in KIND_ORDER \
        else style.GREY


def _split_runs(runs: Sequence[SAERun]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics of the known-dictionary runs, metrics of the percolation runs), all kinds."""
    synthetic, percolation = [], []
    for run in runs:
        data = run.info.get("data", {})
        (synthetic if "synthetic" in data else percolation).append(run.metrics)
    return (pd.concat(synthetic, ignore_index=True) if synthetic else pd.DataFrame(),
            pd.concat(percolation, ignore_index=True) if percolation else pd.DataFrame())


def _kinds(frame: pd.DataFrame) -> list[str]:
    present = set(frame["kind"]) if len(frame) else set()
    return [k for k in KIND_ORDER if k in present] + sorted(present - set(KIND_ORDER))


def _closest_to_matched(frame: pd.DataFrame) -> pd.DataFrame:
    """Per kind and seed, the sweep point whose mean L0 is closest to MATCHED_L0 (ties: the
    first)."""
    keys = [c for c in ("kind", "seed", "dict_ratio") if c in frame]
    index = (frame.assign(gap=(frame["mean_l0"] - MATCHED_L0).abs())
             .groupby(keys, sort=False)["gap"].idxmin())
    return frame.loc[index.to_numpy()]


def plot_sae_architectures(runs: Sequence[SAERun], out_path) -> Figure:
    """Every architecture at matched L0.  Top row (hierarchical known dictionary): latent F1,
    MCC and explained variance against mean L0, one line per kind through its sparsity sweep
    (k, or the L1 / L0 coefficient), seeds pooled (mean ± std).  Bottom row (percolation
    data): mean best Pearson correlation and mean F1 of the scored features and explained
    variance against dictionary size, each kind at the sweep point closest to L0 = 8."""
    synthetic, percolation = _split_runs(runs)
    if synthetic.empty and percolation.empty:
        raise ValueError("plot sae_architectures needs metrics.csv and config.json of "
                         "sae-synthetic or train-sae runs")
    fig = style.new_figure(13.0, 7.8)
    axes = fig.subplots(2, 3)
    top = [("latent_f1", "latent F1 (mean over latents)"), ("mcc", "MCC (one-to-one)"),
           ("explained_variance", "explained variance")]
    for ax, (column, title) in zip(axes[0], top):
        if synthetic.empty or column not in synthetic:
            ax.set_axis_off()
            continue
        for kind in _kinds(synthetic):
            rows = synthetic[synthetic["kind"] == kind]
            group = [c for c in ("l1", "k", "l0_coefficient") if c in rows]
            stats = rows.groupby(group).agg(l0=("mean_l0", "mean"), y=(column, "mean"),
                                            ye=(column, "std")).sort_values("l0")
            ax.errorbar(stats["l0"], stats["y"], yerr=stats["ye"].fillna(0.0), marker="o",
                        color=_kind_color(kind), label=KIND_LABELS.get(kind, kind),
                        capsize=2, linewidth=1.2, markersize=4)
        ax.axvline(MATCHED_L0, color=style.GREY, linestyle=":", linewidth=1.0)
        ax.set_xscale("log")
        ax.set_xticks([2, 4, 8, 16, 32])
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("mean L0 (active latents per point)")
        ax.set_ylabel(title)
        ax.set_title(f"({'abc'[top.index((column, title))]}) hierarchical known dictionary: "
                     f"{title.split(' (')[0]}", fontsize=9)
    if not synthetic.empty:
        axes[0][0].legend(loc="best", fontsize=7.5)
    bottom = [("mean_pearson", "mean best Pearson correlation"),
              ("mean_f1", "mean F1 of 'activation > 0'"),
              ("explained_variance", "explained variance")]
    for i, (ax, (column, title)) in enumerate(zip(axes[1], bottom)):
        if percolation.empty or column not in percolation:
            ax.set_axis_off()
            continue
        matched = _closest_to_matched(percolation)
        for kind in _kinds(matched):
            rows = matched[matched["kind"] == kind]
            stats = rows.groupby("dict_ratio").agg(y=(column, "mean"), ye=(column, "std"),
                                                   l0=("mean_l0", "mean")).sort_index()
            ax.errorbar(stats.index, stats["y"], yerr=stats["ye"].fillna(0.0), marker="o",
                        color=_kind_color(kind), capsize=2, linewidth=1.2, markersize=4,
                        label=f"{KIND_LABELS.get(kind, kind)} (L0 {stats['l0'].mean():.1f})")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel("dictionary size m / d")
        ax.set_ylabel(title)
        ax.set_title(f"({'def'[i]}) percolation data: {title}", fontsize=9)
    if not percolation.empty:
        axes[1][0].legend(loc="best", fontsize=7.5)
    fig.suptitle("Sparse autoencoder architectures at matched sparsity (dotted: L0 = "
                 f"{MATCHED_L0:g})")
    style.save_figure(fig, out_path)
    return fig


DEPTH_BINS = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)  # percolation depths, binned


def _binned_depth(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Means of ``column`` over depth bins (edges DEPTH_BINS, lower edge inclusive), weighted
    by the pairs of each depth, per kind and point; x = the bin's lower edge."""
    edges = np.asarray(DEPTH_BINS)
    low = edges[np.searchsorted(edges, table["parent_depth"].to_numpy(), side="right") - 1]
    frame = table.assign(bin=low, w=table[column] * table["n_pairs"])
    grouped = frame.groupby(["kind", "point", "bin"]).agg(w=("w", "sum"), n=("n_pairs", "sum"))
    grouped[column] = grouped["w"] / grouped["n"]
    return grouped.reset_index().rename(columns={"bin": "parent_depth"})


def plot_sae_absorption(runs: Sequence[SAERun], out_path) -> Figure:
    """Feature absorption by depth of the parent, per architecture, each kind at its sweep
    point closest to L0 = 8: (a) ground-truth absorption on the hierarchical known dictionary
    (SAEBench's fraction, parents pooled over their children), (b) activation-space
    absorption on the same data; on percolation data at the largest dictionary, depths binned
    in powers of two: (c) activation-space absorption, (d) the share of a child's points where
    the parent's latent is silent while the child's fires (pooled over pairs)."""
    panels = {"synthetic": [], "percolation": []}
    for run in runs:
        if run.absorption_by_depth is None or run.absorption_by_depth.empty:
            continue
        where = "synthetic" if "synthetic" in run.info.get("data", {}) else "percolation"
        metrics = run.metrics
        if where == "percolation":
            metrics = metrics[metrics["dict_ratio"] == metrics["dict_ratio"].max()]
        matched = _closest_to_matched(metrics)
        table = run.absorption_by_depth.merge(matched[["point"]], on="point")
        table = table[table["size_band"] == "all"]
        if where == "percolation":
            table = _binned_depth(table, "mean_absorption").merge(
                _binned_depth(table, "pooled_absorbed")[["kind", "point", "parent_depth",
                                                         "pooled_absorbed"]],
                on=["kind", "point", "parent_depth"])
        panels[where].append(table)
    if not panels["synthetic"] and not panels["percolation"]:
        raise ValueError("plot sae_absorption needs absorption_by_depth.csv, metrics.csv and "
                         "config.json of sweeps on hierarchical data")
    fig = style.new_figure(12.0, 7.6)
    axes = fig.subplots(2, 2).ravel()
    specs = [("synthetic", "gt_parent_fraction", ("(a) known dictionary: ground-truth "
              "absorption fraction")),
             ("synthetic", "mean_absorption", ("(b) known dictionary: activation-space "
              "absorption")),
             ("percolation", "mean_absorption", ("(c) percolation, largest dictionary: "
              "activation-space absorption")),
             ("percolation", "pooled_absorbed", ("(d) percolation: child's points where only "
              "the child's latent fires"))]
    for ax, (where, column, title) in zip(axes, specs):
        frames = panels[where]
        if not frames or column not in frames[0]:
            ax.set_axis_off()
            continue
        table = pd.concat(frames, ignore_index=True)
        for kind in _kinds(table):
            rows = table[table["kind"] == kind]
            stats = rows.groupby("parent_depth").agg(y=(column, "mean"), ye=(column, "std"))
            ax.errorbar(stats.index, stats["y"], yerr=stats["ye"].fillna(0.0), marker="o",
                        color=_kind_color(kind), label=KIND_LABELS.get(kind, kind), capsize=2,
                        linewidth=1.2, markersize=4)
        ax.axhline(0.0, color=style.GREY, linewidth=0.8)
        if where == "percolation":
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xticks([b for b in DEPTH_BINS if b <= table["parent_depth"].max()])
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.set_xlabel("depth of the parent feature (bins from 0, 1, 2-3, 4-7, ...)")
        else:
            ax.set_xticks(sorted(table["parent_depth"].unique()))
            ax.set_xlabel("depth of the parent feature (0 = root)")
        ax.set_ylabel("absorption" if column != "pooled_absorbed" else "share of points")
        ax.set_title(title, fontsize=9)
        ax.legend(loc="best", fontsize=7.5)
    fig.suptitle(f"Feature absorption by depth, each architecture at L0 closest to "
                 f"{MATCHED_L0:g}")
    style.save_figure(fig, out_path)
    return fig
