"""``percolation-tms plot``: one figure per call; wiring mistakes exit 2 with a message."""

from figures_fakes import assert_png_and_pdf, write_stats, write_toy_run

from percolation_tms.cli import main
from percolation_tms.figures.cli import FIGURES


def test_plot_writes_the_figure_and_its_pdf(tmp_path):
    paths = write_stats(tmp_path / "in", seed=0, size=600)
    out = tmp_path / "figures" / "degrees.png"
    assert main(["-q", "plot", "degrees", "--inputs", *map(str, paths), "--out", str(out)]) == 0
    assert_png_and_pdf(out)


def test_plot_reports_wrong_inputs_and_writes_nothing(tmp_path, capsys):
    paths = write_toy_run(tmp_path / "run", "tied")
    out = tmp_path / "figures" / "sizes.png"
    assert main(["-q", "plot", "cluster_sizes", "--inputs", *map(str, paths),
                 "--out", str(out)]) == 2
    assert "percolation-tms plot: error:" in capsys.readouterr().err
    assert not out.parent.exists()


def test_plot_refuses_an_output_that_is_not_png(tmp_path, capsys):
    paths = write_stats(tmp_path / "in", seed=0, size=600)
    out = tmp_path / "degrees.pdf"
    assert main(["-q", "plot", "degrees", "--inputs", *map(str, paths), "--out", str(out)]) == 2
    assert "should end in .png" in capsys.readouterr().err
    assert not out.exists()


def test_every_registered_figure_has_a_plot_function():
    import importlib

    for name, (module, reader, what) in FIGURES.items():
        assert callable(getattr(importlib.import_module(module), f"plot_{name}"))
        reader_module, reader_name = reader.split(":")
        assert callable(getattr(importlib.import_module(reader_module), reader_name)) and what
