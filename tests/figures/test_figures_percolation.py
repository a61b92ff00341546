"""Every percolation figure is drawn, as PNG and PDF, from describe-shaped synthetic statistics."""

import numpy as np
import pytest
from figures_fakes import assert_png_and_pdf, write_stats

from percolation_tms import io
from percolation_tms.figures import inputs, percolation

FIGURES = ["cluster_sizes", "degrees", "hierarchy", "embedding", "feature_frequency",
           "baselines"]


@pytest.fixture(scope="module")
def stats(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stats")
    return inputs.read_percolation_stats([p for seed in (4, 1, 7)
                                          for p in write_stats(folder, seed)])


@pytest.fixture(scope="module")
def drawn(stats, tmp_path_factory):
    """Every figure drawn once from three seeds: {name: (figure, png path)}."""
    folder = tmp_path_factory.mktemp("figures")
    return {name: (getattr(percolation, f"plot_{name}")(stats, folder / f"{name}.png"),
                   folder / f"{name}.png") for name in FIGURES}


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_writes_png_and_pdf(drawn, name):
    assert_png_and_pdf(drawn[name][1])


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_draws_a_single_seed(tmp_path, name):
    stats = inputs.read_percolation_stats(write_stats(tmp_path / "in", seed=0, size=600))
    getattr(percolation, f"plot_{name}")(stats, tmp_path / f"{name}.png")
    assert_png_and_pdf(tmp_path / f"{name}.png")


def test_cluster_sizes_legend_gives_the_fitted_exponent(stats, drawn):
    fig = drawn["cluster_sizes"][0]
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    pooled = np.concatenate(stats.arrays("cluster_sizes"))
    tail = pooled[pooled >= 10]
    tau = 1 + tail.size / np.log(tail / 10).sum()
    assert f"τ̂ = {tau:.2f} ± {(tau - 1) / np.sqrt(tail.size):.2f}" in legend
    assert "each of 3 seeds" in legend and "s$^{-5/2}$" in legend
    assert fig.axes[0].get_xscale() == fig.axes[0].get_yscale() == "log"


def test_baselines_show_the_mean_over_seeds(stats, drawn):
    mean_line = drawn["baselines"][0].axes[1].get_lines()[-1]  # plot_seeds draws the mean last
    expected = np.exp(np.mean(np.log(np.vstack(stats.arrays("knn_mse"))), axis=0))
    assert np.allclose(mean_line.get_ydata(), expected)


def test_embedding_colours_the_ten_largest_clusters(drawn):
    legend = drawn["embedding"][0].axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0] == "smaller clusters" and labels[1].startswith("#1: ") and len(labels) <= 11


def test_hierarchy_draws_seeds_whose_size_bins_differ(tmp_path):
    paths = write_stats(tmp_path / "in", seed=0) + write_stats(tmp_path / "in", seed=1)
    arrays = io.load_arrays(paths[2])
    arrays["height_size_bins"] = arrays["height_size_bins"][:-1]  # one bin fewer for seed 1
    arrays["height_mean_by_size"] = arrays["height_mean_by_size"][:-1]
    io.save_arrays(paths[2], **arrays)
    fig = percolation.plot_hierarchy(inputs.read_percolation_stats(paths), tmp_path / "h.png")
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["seed 0", "seed 1"]
