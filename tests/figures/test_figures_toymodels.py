"""Every toy-model figure is drawn, as PNG and PDF, from toy-stage-shaped synthetic runs."""

import numpy as np
import pytest
from figures_fakes import assert_png_and_pdf, write_phase_diagram, write_toy_run

from percolation_tms.figures import inputs, style, toymodels
from percolation_tms.io import InputFileError

FIGURES = ["tms_wtw", "tms_weights", "tms_represented", "tms_feature_dimensionality", "tms_loss"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """tied and untied, each trained as two seed groups (two runs merged into one model)."""
    folder = tmp_path_factory.mktemp("runs")
    paths = []
    for model in ("untied", "tied"):
        paths += write_toy_run(folder / model / "a", model, seeds=(0, 1))
        paths += write_toy_run(folder / model / "b", model, seeds=(2,))
    return inputs.read_toy_models(paths)


@pytest.fixture(scope="module")
def drawn(models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    return {name: (getattr(toymodels, f"plot_{name}")(models, folder / f"{name}.png"),
                   folder / f"{name}.png") for name in FIGURES}


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_writes_png_and_pdf(drawn, name):
    assert_png_and_pdf(drawn[name][1])


def test_one_model_kind_with_one_seed_is_drawn(tmp_path):
    models = inputs.read_toy_models(write_toy_run(tmp_path / "run", "hidden_relu", seeds=(5,),
                                                  sparsities=(0.0, 0.9)))
    for name in ("tms_wtw", "tms_represented", "tms_feature_dimensionality"):
        getattr(toymodels, f"plot_{name}")(models, tmp_path / f"{name}.png")
        assert_png_and_pdf(tmp_path / f"{name}.png")


def test_heatmaps_use_a_symmetric_diverging_scale_per_model_kind(models, drawn):
    images = [image for ax in drawn["tms_wtw"][0].axes for image in ax.get_images()]
    # Per model kind, in rows: 5 sparsities x (W^T W, b) of its smallest seed.
    assert len(images) == len(models) * 5 * 2
    for row, model in enumerate(models):
        limits = {(image.norm.vmin, image.norm.vmax) for image in images[10 * row:10 * row + 10]}
        assert len(limits) == 1
        vmin, vmax = limits.pop()
        shown = np.concatenate([np.abs(model.arrays[key][model.seed == 0]).ravel()
                                for key in ("WtW", "b")])
        assert vmin == -vmax and np.isclose(vmax, np.quantile(shown, 0.99))
    assert all(image.get_cmap() is style.DIVERGING_CMAP for image in images)


def test_weight_heatmaps_show_w_dec_for_untied_only(drawn):
    labels = [ax.get_xlabel() for ax in drawn["tms_weights"][0].axes if ax.get_images()]
    assert labels.count("W$_{dec}$") == 5 and labels.count("W$^T$") == 10


def test_represented_shows_the_mean_over_seeds(models, drawn):
    ax = drawn["tms_represented"][0].axes[0]
    tied = next(m for m in models if m.model == "tied")
    table = np.zeros((3, 5))
    for i in range(tied.seed.size):
        level = np.flatnonzero(np.unique(tied.sparsity) == tied.sparsity[i])[0]
        table[tied.seed[i], level] = tied.arrays["represented"][i].sum()
    means = [line.get_ydata() for line in ax.get_lines() if line.get_label().startswith("tied")]
    assert len(means) == 1 and np.allclose(means[0], table.mean(axis=0))


def test_phase_diagram_marks_trained_models(tmp_path):
    data = inputs.read_phase_diagram([write_phase_diagram(tmp_path / "phase_diagram.npz")])
    fig = toymodels.plot_tms_phase_diagram(data, tmp_path / "phase.png")
    assert_png_and_pdf(tmp_path / "phase.png")
    markers = fig.axes[0].collections[1:]  # after the phase map: agreeing, then differing models
    assert [len(c.get_offsets()) for c in markers] == [7, 2]
    assert tuple(markers[1].get_facecolors()[1]) == (1.0, 1.0, 1.0, 1.0)  # fits no candidate
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "analytic: feature 1 only" in legend and "analytic: superposition" in legend


def test_percolation_superposition(tmp_path):
    paths = (write_toy_run(tmp_path / "untied", "untied", seeds=(0, 1, 2), sparsities=(0.95,),
                           n_features=12, n_hidden=4, percolation=True)
             + write_toy_run(tmp_path / "tied", "tied", seeds=(0,), sparsities=(0.95,),
                             n_features=12, n_hidden=4, percolation=True))
    fig = toymodels.plot_percolation_superposition(inputs.read_toy_models(paths),
                                                   tmp_path / "perc.png")
    assert_png_and_pdf(tmp_path / "perc.png")
    assert fig.axes[0].get_title(loc="left").startswith("tied: ")  # known kinds come first


def test_percolation_superposition_needs_a_run_on_percolation_features(models, tmp_path):
    with pytest.raises(InputFileError, match="feature_frequency"):
        toymodels.plot_percolation_superposition(models, tmp_path / "perc.png")


def test_represented_names_the_untied_norm(drawn):
    # untied counts use the scale-invariant norm; the figure must say so.
    title = drawn["tms_represented"][0].axes[0].get_title()
    assert "W$_{dec,i}$" in title and "untied" in title
