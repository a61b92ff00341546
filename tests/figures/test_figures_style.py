"""The shared figure style: colour norms, seeds drawn faint with their mean, saving PNG + PDF."""

import numpy as np
import pytest
from matplotlib.image import imread

from percolation_tms.figures import style


def test_save_figure_writes_png_at_high_resolution_and_pdf_beside_it(tmp_path):
    fig = style.new_figure(4.0, 3.0)
    fig.add_subplot().plot([1, 2, 3], [3, 1, 2])
    png, pdf = style.save_figure(fig, tmp_path / "sub" / "line.png")
    assert png == tmp_path / "sub" / "line.png" and pdf == tmp_path / "sub" / "line.pdf"
    height, width = imread(png).shape[:2]
    assert (width, height) == (4 * style.DPI, 3 * style.DPI) and style.DPI >= 150
    assert pdf.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in png.parent.iterdir()) == ["line.pdf", "line.png"]  # no temp left


def test_the_same_figure_gives_the_same_bytes_at_any_time(tmp_path, monkeypatch):
    # matplotlib dates a PDF from SOURCE_DATE_EPOCH when it is set: two different "times"
    # must still give identical files.
    saved = []
    for when, name in (("1000000000", "a"), ("1700000000", "b")):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", when)
        fig = style.new_figure(3.0, 2.0)
        fig.add_subplot().plot([1, 2, 3], [3, 1, 2])
        saved.append(style.save_figure(fig, tmp_path / f"{name}.png"))
    (png_a, pdf_a), (png_b, pdf_b) = saved
    assert pdf_a.read_bytes() == pdf_b.read_bytes()
    assert png_a.read_bytes() == png_b.read_bytes()


def test_save_figure_refuses_a_name_that_is_not_png(tmp_path):
    with pytest.raises(ValueError, match="should end in .png"):
        style.save_figure(style.new_figure(2, 2), tmp_path / "x.pdf")


def test_symmetric_norm_is_centred_on_zero():
    norm = style.symmetric_norm(np.array([[-0.2, 0.5], [np.nan, 0.1]]), np.array([-0.7]))
    assert (norm.vmin, norm.vmax) == (-0.7, 0.7) and norm(0.0) == 0.5
    assert style.symmetric_norm(np.zeros(3)).vmax == 1.0
    assert style.symmetric_norm(np.ones(2), limit=2.0).vmin == -2.0


def test_a_quantile_limit_saturates_the_extremes_and_says_so():
    values = np.concatenate([np.linspace(-1.0, 1.0, 1001), [-50.0, 40.0]])
    norm = style.symmetric_norm(values, quantile=0.99)
    assert norm.vmin == -norm.vmax and 0.95 < norm.vmax <= 1.0
    assert style.colorbar_extend(norm, values) == "both"
    assert style.colorbar_extend(style.symmetric_norm(values), values) == "neither"


def test_diverging_map_is_white_at_zero_red_below_blue_above():
    assert style.DIVERGING_CMAP(0.5) == (1.0, 1.0, 1.0, 1.0)
    red, _, blue, _ = style.DIVERGING_CMAP(0.0)
    assert red > blue
    red, _, blue, _ = style.DIVERGING_CMAP(1.0)
    assert blue > red


def test_plot_seeds_draws_each_seed_and_the_mean_with_its_band():
    fig = style.new_figure(3, 3)
    ax = fig.add_subplot()
    values = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    line = style.plot_seeds(ax, np.arange(3), values, color="#0072B2", label="mean")
    assert np.allclose(line.get_ydata(), [2.0, 3.0, 4.0])
    assert len(ax.lines) == 3 and len(ax.collections) == 1  # two seeds, the mean, one band
    ax2 = fig.add_subplot()
    style.plot_seeds(ax2, np.arange(3), values[:1], color="#0072B2")
    assert len(ax2.lines) == 1 and len(ax2.collections) == 0  # one seed: no faint copy, no band


def test_model_colors_are_fixed_and_distinct():
    colors = [style.model_color(m) for m in ("tied", "untied", "linear", "hidden_relu")]
    assert len(set(colors)) == 4
    assert style.model_color("something_new", 1) == style.CYCLE[1]
