"""One look for every figure: fonts, colour-blind-safe palettes, colour maps, and saving.

Figures are ``matplotlib.figure.Figure`` objects made by :func:`new_figure`, never pyplot
figures: nothing global stays open between figures, and ``savefig`` renders PNG with the Agg
backend whatever backend the environment selects.  :func:`save_figure` writes the PNG and a PDF
of the same figure beside it, both atomically.

Conventions shared by every figure (the sparse-autoencoder figures included):

* categorical colours from the Okabe-Ito palette (:data:`OKABE_ITO`), one fixed colour per toy
  model kind (:func:`model_color`);
* ordered quantities on ``viridis`` (:data:`SEQUENTIAL_CMAP`);
* signed matrices (W^T W, weights, biases) on :data:`DIVERGING_CMAP` (ColorBrewer RdBu, zero
  pure white) with symmetric limits (:func:`symmetric_norm`): negative red, positive blue, as in
  the seed's W^T W figure;
* several seeds: each seed a thin faint line, their mean a bold line with a band of one standard
  deviation (:func:`plot_seeds`).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure

from percolation_tms import io
from percolation_tms.figures import prepare

DPI = 200  # PNG resolution; the issue asks for at least 150

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
# Colour cycle: the strongest contrasts first; yellow last because it is faint on white.
CYCLE = [OKABE_ITO[name] for name in ("blue", "vermillion", "bluish_green", "orange",
                                      "reddish_purple", "sky_blue", "black", "yellow")]
GREY = "#888888"
LIGHT_GREY = "#CCCCCC"

# Ten distinguishable colours for "the ten largest clusters": Paul Tol's colour-blind-safe
# "muted" scheme (nine colours) plus black; Okabe-Ito has only eight.
CATEGORICAL_10 = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77",
                  "#CC6677", "#882255", "#AA4499", "#000000"]

MODEL_COLORS = {
    "tied": OKABE_ITO["blue"],
    "untied": OKABE_ITO["vermillion"],
    "hidden_relu": OKABE_ITO["bluish_green"],
    "linear": OKABE_ITO["black"],
}

SEQUENTIAL_CMAP = "viridis"
# ColorBrewer's colour-blind-safe RdBu (red negative, blue positive) with its light grey centre
# (#f7f7f7) replaced by pure white, so that zero is exactly the background colour; an odd number
# of levels puts one level exactly at the centre.
DIVERGING_CMAP = LinearSegmentedColormap.from_list("RdBu_white_zero", [
    "#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#ffffff",
    "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"], N=255)

SEED_ALPHA = 0.35
SEED_LINEWIDTH = 0.8
SPREAD_ALPHA = 0.2

STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "none",
    "image.cmap": SEQUENTIAL_CMAP,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    # Embed fonts as TrueType so the PDF's text stays text (searchable, editable).
    "pdf.fonttype": 42,
}


def apply_style() -> None:
    """Set the house style in matplotlib's rcParams (idempotent; every figure calls it)."""
    mpl.rcParams.update(STYLE)


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A styled figure of ``width`` x ``height`` inches with constrained layout."""
    apply_style()
    kwargs.setdefault("layout", "constrained")
    return Figure(figsize=(width, height), **kwargs)


def count_label(n: int, noun: str) -> str:
    """``3 seeds``, ``1 seed``, ``12,000 clusters``: a count for titles and legends."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def model_color(model: str, index: int = 0) -> str:
    """The fixed colour of a toy model kind; unknown kinds take colours from the cycle."""
    return MODEL_COLORS.get(model, CYCLE[index % len(CYCLE)])


def symmetric_limit(*arrays: np.ndarray, quantile: float = 1.0) -> float:
    """The ``quantile`` of the finite absolute values in ``arrays`` (by default their maximum);
    1.0 if there is none or it is 0."""
    finite = np.concatenate([np.abs(a[np.isfinite(a)]).ravel() for a in map(np.asarray, arrays)])
    limit = float(np.quantile(finite, quantile)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def symmetric_norm(*arrays: np.ndarray, limit: float | None = None,
                   quantile: float = 1.0) -> Normalize:
    """A colour norm from -limit to +limit, so zero sits at the centre of a diverging map.

    The limit is ``limit`` if given, else :func:`symmetric_limit` of ``arrays``; with
    ``quantile`` < 1 a few extreme values saturate instead of washing out the rest (say so with
    ``extend`` on the colour bar, see :func:`colorbar_extend`).
    """
    limit = symmetric_limit(*arrays, quantile=quantile) if limit is None else float(limit)
    return Normalize(vmin=-limit, vmax=limit)


def colorbar_extend(norm: Normalize, *arrays: np.ndarray) -> str:
    """``"both"`` if some value of ``arrays`` lies outside the norm's symmetric limits, so the
    colour bar shows arrows for the saturated values; else ``"neither"``."""
    return "both" if symmetric_limit(*arrays) > norm.vmax else "neither"


def plot_seeds(ax, x: np.ndarray, values: np.ndarray, color: str, label: str | None = None,
               log: bool = False, marker: str = "o"):
    """Draw each seed's curve faintly and their mean bold with a one-standard-deviation band.

    x : array of shape (P,); values : array of shape (K seeds, P), NaN where a seed lacks a point.
    ``log`` takes mean and spread of log10(values) (a geometric mean and a multiplicative
    spread), which is what a log-scaled y axis shows.  Returns the mean's line.
    """
    values = np.atleast_2d(values)
    if values.shape[0] > 1:
        for row in values:
            ax.plot(x, row, color=color, alpha=SEED_ALPHA, linewidth=SEED_LINEWIDTH)
    center, lower, upper = prepare.mean_and_spread(values, log=log)
    if values.shape[0] > 1:
        ax.fill_between(x, lower, upper, color=color, alpha=SPREAD_ALPHA, linewidth=0)
    (line,) = ax.plot(x, center, color=color, marker=marker, label=label)
    return line


def save_figure(fig: Figure, out_path: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``fig`` to ``out_path`` (PNG at :data:`DPI`) and to the same stem with ``.pdf``.

    Both files are written atomically, so an interrupted run never leaves a half-written figure.
    The PDF carries no creation date, so the same figure always gives the same bytes (the PNG
    has none to begin with).  Returns the two paths.
    """
    png = Path(out_path)
    if png.suffix.lower() != ".png":
        raise ValueError(f"figure output {str(png)!r} should end in .png "
                         "(the PDF is written beside it)")
    pdf = png.with_suffix(".pdf")
    with io.atomic_open(png) as handle:
        fig.savefig(handle, format="png", dpi=DPI)
    with io.atomic_open(pdf) as handle:
        fig.savefig(handle, format="pdf", metadata={"CreationDate": None})
    return png, pdf
