"""Every basin figure is drawn, as PNG and PDF, from the tables of tiny basin runs."""

import sys
from pathlib import Path

import pytest
from figures_fakes import assert_png_and_pdf

from percolation_tms.cli import main
from percolation_tms.figures import basins
from percolation_tms.figures.registry import FIGURES
from percolation_tms.io import InputFileError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "basins"))
from basin_runs import basin_outputs

NAMES = ["basin_volume_sparsity", "llc_sparsity", "kgon_volume", "basin_cutoff_scan"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return basin_outputs(tmp_path_factory.mktemp("basin_tables"))


def _inputs(name, paths):
    if name in ("basin_volume_sparsity", "llc_sparsity"):
        return [paths[k] for k in ("volumes_tied", "volumes_untied", "llc_tied", "llc_untied")]
    if name == "kgon_volume":
        return [paths["kgon"], paths["volumes_tied"], paths["llc_tied"]]
    return [paths["slopes"], paths["llc_tied"]]


@pytest.mark.parametrize("name", NAMES)
def test_every_basin_figure_is_drawn_through_plot(tables, tmp_path, name):
    assert FIGURES[name].module == "percolation_tms.figures.basins"
    assert FIGURES[name].caption.name == f"{name}.rst"
    out = tmp_path / f"{name}.png"
    assert main(["-q", "plot", name, "--inputs", *map(str, _inputs(name, tables)),
                 "--out", str(out)]) == 0
    assert_png_and_pdf(out)


def test_reader_refuses_unknown_files_and_missing_tables(tables, tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("a\n1\n")
    with pytest.raises(InputFileError, match="not a basin table"):
        basins.read_basins([bad])
    data = basins.read_basins([tables["llc_tied"]])
    with pytest.raises(InputFileError, match="volumes"):
        basins.plot_basin_volume_sparsity(data, tmp_path / "x.png")
