"""The SAE figures, drawn from the files of tiny real sweeps."""

import numpy as np
import pytest
from PIL import Image

from percolation_tms.cli import main
from percolation_tms.figures.sae import (
    plot_sae_mmcs,
    plot_sae_recovery_depth,
    plot_sae_recovery_frequency,
    plot_sae_tradeoff,
    read_sae_runs,
)

TABLES = ("metrics.csv", "recovery_by_depth.csv", "recovery_by_frequency.csv")


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """Two train-sae sweeps (dataset seeds 0 and 1) and one sae-synthetic sweep."""
    root = tmp_path_factory.mktemp("sae_sweeps")
    folders = []
    for seed in (0, 1):
        assert main(["-q", "generate", "--mode", "distribution", "--size", "2000", "--dim", "8",
                     "--seed", str(seed), "--outdir", str(root / "data")]) == 0
        folders.append(root / f"seed{seed}")
        assert main(["-q", "train-sae", "--dataset",
                     str(root / "data" / f"percolation_dataset_size2000_dim8_seed{seed}.npz"),
                     "--kind", "relu", "--l1", "0.5,2", "--dict-ratios", "2,4", "--epochs", "1",
                     "--out", str(folders[-1])]) == 0
    assert main(["-q", "sae-synthetic", "--n-samples", "2000", "--dim", "8", "--n-features",
                 "16", "--kind", "topk", "--k", "1,2", "--dict-ratios", "1,2,4", "--epochs", "2",
                 "--out", str(root / "synthetic")]) == 0
    return folders, root / "synthetic"


def assert_figure_written(png, width_inches):
    assert png.with_suffix(".pdf").stat().st_size > 1000
    with Image.open(png) as image:
        assert image.width >= 150 * width_inches  # at least 150 dpi


@pytest.mark.parametrize("plot, width", [(plot_sae_recovery_depth, 12), (plot_sae_tradeoff, 10),
                                         (plot_sae_recovery_frequency, 12)])
def test_dataset_figures_from_one_and_two_seeds(sweeps, tmp_path, plot, width):
    folders, _ = sweeps
    for n_seeds in (1, 2):
        runs = read_sae_runs([f / name for f in folders[:n_seeds] for name in TABLES])
        fig = plot(runs, tmp_path / f"{n_seeds}.png")
        assert_figure_written(tmp_path / f"{n_seeds}.png", width)
        # Every sweep setting is drawn and labelled (two L1 values x two dictionary sizes).
        labels = {text.get_text() for ax in fig.axes for text in
                  (ax.get_legend().get_texts() if ax.get_legend() else [])}
        labels |= {text.get_text() for ax in fig.axes for text in ax.texts}
        assert {"ReLU + L1, λ = 0.5", "ReLU + L1, λ = 2"} <= {
            ", ".join(label.split(", ")[:2]) for label in labels}


def test_mmcs_figure_through_the_plot_command(sweeps, tmp_path):
    _, synthetic = sweeps
    out = tmp_path / "mmcs.png"
    assert main(["-q", "plot", "sae_mmcs", "--inputs", str(synthetic / "metrics.csv"),
                 str(synthetic / "recovery.csv"), str(synthetic / "config.json"),
                 "--out", str(out)]) == 0
    assert_figure_written(out, 10.5)
    fig = plot_sae_mmcs(read_sae_runs([synthetic / "metrics.csv", synthetic / "recovery.csv"]),
                        tmp_path / "again.png")
    mmcs_lines = fig.axes[0].get_lines()
    assert len(mmcs_lines) == 2  # k = 1 and k = 2, each across the three dictionary sizes
    np.testing.assert_array_equal(mmcs_lines[0].get_xdata(), [1, 2, 4])


def test_recovery_figure_through_the_plot_command(sweeps, tmp_path):
    folders, _ = sweeps
    out = tmp_path / "depth.png"
    assert main(["-q", "plot", "sae_recovery_depth", "--inputs",
                 *[str(f / name) for f in folders for name in TABLES], "--out", str(out)]) == 0
    assert_figure_written(out, 12)


def test_missing_or_wrong_inputs_are_named(sweeps, tmp_path, capsys):
    folders, synthetic = sweeps
    cases = [
        (["sae_recovery_frequency", str(folders[0] / "metrics.csv")],
         "needs recovery_by_frequency.csv"),
        (["sae_tradeoff", str(folders[0] / "recovery.csv")], "lack its metrics.csv"),
        (["sae_tradeoff", str(folders[0] / "weights.npz")], "is not an SAE sweep file"),
        (["sae_tradeoff", str(tmp_path / "metrics.csv")], "does not exist"),
        (["sae_mmcs", str(folders[0] / "metrics.csv")], "needs the metrics.csv of sae-synthetic"),
        (["sae_mmcs", str(synthetic / "metrics.csv")], "needs the recovery.csv"),
    ]
    for args, message in cases:
        assert main(["-q", "plot", *args[:1], "--inputs", *args[1:],
                     "--out", str(tmp_path / "x.png")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
