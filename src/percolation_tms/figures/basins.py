"""Figures of the basin stage: ln P and the LLC against sparsity, competing k-gons, the cutoff
scan.  They read the tables of basin-volume, llc and basin-kgon (``docs/file-formats.md``,
"Basins") and draw them; every number plotted is a column of those tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from percolation_tms import filenames
from percolation_tms.figures import prepare, style
from percolation_tms.figures.toymodels import sparsity_axis  # the toy sweeps' x axis
from percolation_tms.io import InputFileError

_KINDS = {filenames.BASIN_VOLUMES: "volumes", filenames.BASIN_LLC: "llc",
          filenames.BASIN_KGON: "kgon", filenames.BASIN_SLOPES: "slopes"}


def read_basins(paths) -> dict[str, pd.DataFrame]:
    """The basin tables among ``paths``, by file name (volumes.csv, slopes.csv, llc.csv,
    kgon.csv); several files of one kind (one per model kind) are concatenated."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for path in map(Path, paths):
        kind = _KINDS.get(path.name)
        if kind is None:
            raise InputFileError(f"{str(path)!r} is not a basin table (expected one of "
                                 f"{sorted(_KINDS)})")
        try:
            frames.setdefault(kind, []).append(pd.read_csv(path))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputFileError(f"cannot read {str(path)!r} ({exc})") from exc
    return {kind: pd.concat(parts, ignore_index=True) for kind, parts in frames.items()}


def _need(data: dict, *kinds: str) -> None:
    missing = [k for k in kinds if k not in data]
    if missing:
        raise InputFileError(f"this figure needs the {', '.join(missing)} table(s) among "
                             f"--inputs")


def _by_sparsity(table: pd.DataFrame, column: str):
    """(x = 1/(1-S), per-seed matrix (seeds, sparsities)) of one model kind's column."""
    pivot = table.pivot_table(index="seed", columns="sparsity", values=column, aggfunc="mean")
    return prepare.inverse_density(pivot.columns.to_numpy()), pivot.to_numpy()


def plot_basin_volume_sparsity(data: dict, out_path):
    """-ln P, -ln Vol and features represented against sparsity, per model kind."""
    _need(data, "volumes")
    volumes = data["volumes"]
    fig = style.new_figure(6.4, 9.0)
    ax_p, ax_v, ax_f = fig.subplots(3, 1, sharex=True)
    for k, (model, table) in enumerate(volumes.groupby("model", sort=True)):
        color = style.model_color(model, k)
        x, info = _by_sparsity(table, "log_prob")
        n_seeds = info.shape[0]
        label = f"{model} (D = {int(table['n_params'].iloc[0])}, " \
                f"{style.count_label(n_seeds, 'seed')})"
        style.plot_seeds(ax_p, x, -info, color, label=label)
        _, prior = _by_sparsity(table, "log_prior_at_anchor")
        ax_p.plot(x, -prior.mean(axis=0), color=color, linestyle=":", linewidth=1.2)
        _, vol = _by_sparsity(table, "log_volume")
        style.plot_seeds(ax_v, x, -vol, color, label=model)
        _, rep = _by_sparsity(table, "features_represented")
        style.plot_seeds(ax_f, x, rep, color, label=model)
    row = volumes.iloc[0]
    ax_p.set_ylabel("information  −ln P  (nats)")
    ax_p.set_title(f"Basin of the trained weights under the Gaussian prior σ = "
                   f"{row['sigma']:.3g}, cutoff {row['cutoff_rel']:g} × loss\n"
                   f"(log-mean-exp of {int(row['n_directions'])} rays; dotted: −ln p(θ), "
                   f"the prior density's part)", fontsize="medium")
    ax_p.legend(loc="best", fontsize="small")
    ax_v.set_ylabel("−ln Vol(S)  (uniform prior)")
    ax_v.set_title("Volume part alone (no prior): −ln Vol", fontsize="medium")
    ax_f.set_ylabel(f"features represented\nof n = {int(row['n_features'])}")
    ax_f.axhline(int(row["n_hidden"]), color=style.GREY, linestyle="--", linewidth=1)
    ax_f.set_title(f"Superposition: features represented (dashed: m = {int(row['n_hidden'])})",
                   fontsize="medium")
    sparsity = np.unique(volumes["sparsity"])
    sparsity_axis(ax_p, sparsity)
    sparsity_axis(ax_v, sparsity, label_top=False)
    sparsity_axis(ax_f, sparsity, label_top=False)
    ax_p.set_xlabel("")
    ax_v.set_xlabel("")
    style.save_figure(fig, out_path)
    return fig


def plot_llc_sparsity(data: dict, out_path):
    """The SGLD LLC against sparsity per model kind, with the quadratic expectation."""
    _need(data, "llc")
    llc = data["llc"]
    fig = style.new_figure(6.4, 6.6)
    ax_l, ax_r = fig.subplots(2, 1)
    for k, (model, table) in enumerate(llc.groupby("model", sort=True)):
        color = style.model_color(model, k)
        x, values = _by_sparsity(table, "llc_mean")
        label = f"{model} (D/2 = {table['half_dim'].iloc[0]:g}, " \
                f"{style.count_label(values.shape[0], 'seed')})"
        style.plot_seeds(ax_l, x, values, color, label=label)
        _, quad = _by_sparsity(table, "llc_quadratic")
        ax_l.plot(x, quad.mean(axis=0), color=color, linestyle="--", linewidth=1.2)
        ax_r.errorbar(table["features_represented"], table["llc_mean"],
                      yerr=table["llc_sem"], fmt="o", color=color, markersize=4,
                      alpha=0.8, label=model)
    row = llc.iloc[0]
    ax_l.set_ylabel("local learning coefficient  λ̂")
    ax_l.set_title(f"SGLD: {int(row['n_chains'])} chains × {int(row['n_draws'])} draws, "
                   f"nβ = {row['nbeta']:.0f}, γ = {row['localization']:g}\n"
                   "dashed: the value of a quadratic basin with the same Gauss–Newton "
                   "eigenvalues", fontsize="medium")
    ax_l.legend(fontsize="small")
    sparsity_axis(ax_l, np.unique(llc["sparsity"]))
    ax_r.set_xlabel("features represented")
    ax_r.set_ylabel("λ̂ (± s.e. over chains)")
    ax_r.set_title("LLC against features represented (every instance)", fontsize="medium")
    ax_r.legend(fontsize="small")
    style.save_figure(fig, out_path)
    return fig


def plot_kgon_volume(data: dict, out_path):
    """ln(freq_k / freq_top) against ln P_k - ln P_top and against the LLC difference."""
    _need(data, "kgon")
    kgon = data["kgon"]
    fig = style.new_figure(9.0, 4.8)
    ax_v, ax_l = fig.subplots(1, 2, sharey=True)
    for k, (sparsity, table) in enumerate(kgon.groupby("sparsity", sort=True)):
        color = style.CYCLE[k % len(style.CYCLE)]
        label = f"S = {sparsity:g} ({int(table['count'].sum())} seeds)"
        for ax, column, error in ((ax_v, "log_prob_diff", "log_prob_sem"),
                                  (ax_l, "llc_diff", "llc_sem")):
            ax.errorbar(table[column], table["log_frequency_ratio"], xerr=table[error],
                        fmt="o", color=color, markersize=6, label=label)
            for row in table.itertuples():
                # sparsities stacked apart: the most frequent polygons all sit at (0, 0)
                ax.annotate(f"{row.polygon_k}-gon ({row.count})",
                            (getattr(row, column), row.log_frequency_ratio),
                            xytext=(6, 6 + 12 * k), textcoords="offset points",
                            fontsize="small", color=color)
    ax_v.margins(x=0.15, y=0.2)
    low, high = ax_v.get_xlim()
    y_low, y_high = ax_v.get_ylim()
    line = np.array([max(low, y_low), min(high, y_high)])
    ax_v.plot(line, line, color=style.GREY, linestyle="--", linewidth=1,
              label="volume hypothesis: slope 1")
    ax_v.set_xlabel("ln P$_k$ − ln P$_{top}$  (mean over the k-gons)")
    ax_v.set_ylabel("ln(freq$_k$ / freq$_{top}$)")
    ax_v.set_title("Frequency against basin volume", fontsize="medium")
    # one legend, below both panels: inside, some polygon always sits under it
    fig.legend(*ax_v.get_legend_handles_labels(), fontsize="small", ncols=3,
               loc="outside lower center")
    ax_l.axvline(0, color=style.LIGHT_GREY, linewidth=1)
    ax_l.margins(x=0.15)
    ax_l.set_xlabel("λ̂$_k$ − λ̂$_{top}$")
    ax_l.set_title("Frequency against LLC", fontsize="medium")
    model = kgon["model"].iloc[0]
    fig.suptitle(f"Competing k-gons: {model}, n = {int(kgon['n_features'].iloc[0])}, m = 2 "
                 "(top: the most frequent polygon at each sparsity)", fontsize="medium")
    style.save_figure(fig, out_path)
    return fig


def plot_basin_cutoff_scan(data: dict, out_path):
    """Slope d ln P / d ln eps of the scan against D/2 and the LLC, per sparsity."""
    _need(data, "slopes")
    slopes = data["slopes"].sort_values("sparsity")
    fig = style.new_figure(6.4, 4.6)
    ax = fig.subplots()
    x = prepare.inverse_density(slopes["sparsity"].to_numpy())
    ax.plot(x, slopes["slope_log_volume"], "o-", color=style.OKABE_ITO["blue"],
            label="slope of ln Vol (uniform prior)")
    ax.plot(x, slopes["slope_log_prob"], "s--", color=style.OKABE_ITO["sky_blue"],
            label="slope of ln P (Gaussian prior)")
    ax.plot(x, slopes["half_dim"], color=style.GREY, linestyle=":", label="D / 2")
    if "llc" in data:
        llc = data["llc"]
        llc = llc[llc["model"].isin(slopes["model"]) & llc["instance"].isin(slopes["instance"])]
        llc = llc.sort_values("sparsity")
        ax.errorbar(prepare.inverse_density(llc["sparsity"].to_numpy()), llc["llc_mean"],
                    yerr=llc["llc_std"], fmt="^-", color=style.OKABE_ITO["vermillion"],
                    label="SGLD λ̂ (± sd over chains)")
        ax.plot(prepare.inverse_density(llc["sparsity"].to_numpy()),
                llc["llc_quadratic_posterior"], "v:", color=style.OKABE_ITO["orange"],
                label="½ Σ nβh/(nβh + γ)  (Gauss–Newton)")
    row = slopes.iloc[0]
    ax.set_yscale("log")
    ax.set_ylabel("exponent")
    ax.set_title(f"Cutoff scan: {row['model']}, seed {int(row['seed'])}, ε from "
                 f"{row['cutoff_rel_min']:g} to {row['cutoff_rel_max']:g} × loss "
                 f"({int(row['n_cutoffs'])} cutoffs)", fontsize="medium")
    ax.legend(fontsize="small")
    sparsity_axis(ax, np.unique(slopes["sparsity"]))
    style.save_figure(fig, out_path)
    return fig
