"""Every Persian Rug figure is drawn, as PNG and PDF, from a tiny real run of the stage."""

import pytest
from figures_fakes import assert_png_and_pdf

from percolation_tms.cli import main
from percolation_tms.figures import persianrug
from percolation_tms.figures.registry import FIGURES
from percolation_tms.io import InputFileError

NAMES = ["persianrug_loss_vs_ratio", "persianrug_loss_vs_p", "persianrug_symmetry",
         "persianrug_weights"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("persianrug")
    common = ["--n-features", "32,64", "--large-n-features", "128", "--ratios", "0.25,0.5",
              "--probabilities", "0.05,0.3", "--steps", "20", "--eval-samples", "300",
              "--rug-draws", "1", "--ks-samples", "100"]
    paths = []
    for part in ("trained", "rug", "theory"):
        assert main(["-q", "persian-rug", *common, "--kinds", part, "--out",
                     str(out / part)]) == 0
        paths += [out / part / name for name in ("results.csv", "curves.csv", "weights.npz",
                                                 "config.json")]
    return paths


@pytest.mark.parametrize("name", NAMES)
def test_every_figure_is_drawn_from_the_registry(files, tmp_path, name):
    figure = FIGURES[name]
    data = figure.read_function()(files)
    figure.plot_function()(data, tmp_path / f"{name}.png")
    assert_png_and_pdf(tmp_path / f"{name}.png")
    assert figure.caption.name == f"{name}.rst"


def test_reader_merges_kinds_and_refuses_strangers(files, tmp_path):
    data = persianrug.read_persianrug(files)
    assert set(data.table.kind) == {"trained", "rug", "theory"}
    stranger = tmp_path / "x.txt"
    stranger.write_text("hello")
    with pytest.raises(InputFileError, match="not a persian-rug file"):
        persianrug.read_persianrug([stranger])
    with pytest.raises(InputFileError, match="no persian-rug results"):
        persianrug.read_persianrug([p for p in files if p.name == "curves.csv"])


def test_weights_figure_needs_a_matching_pair(files, tmp_path):
    only_rug = [p for p in files if "trained" not in str(p)]
    data = persianrug.read_persianrug(only_rug)
    with pytest.raises(InputFileError, match="same"):
        persianrug.plot_persianrug_weights(data, tmp_path / "w.png")
