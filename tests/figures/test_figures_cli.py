"""``percolation-tms plot``: one figure per call; wiring mistakes exit 2 with a message."""

from pathlib import Path

from figures_fakes import assert_png_and_pdf, write_stats, write_toy_run

from percolation_tms.cli import main
from percolation_tms.figures.registry import CAPTION_DIR, FIGURES


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


def test_every_registered_figure_has_a_plot_function_and_a_reader():
    for name, figure in FIGURES.items():
        assert figure.name == name
        assert callable(figure.plot_function())
        assert callable(figure.read_function()) and figure.reads


def test_every_registered_figure_has_a_caption_and_every_caption_a_figure():
    top = Path(__file__).resolve().parents[2]
    for figure in FIGURES.values():
        caption = top / figure.caption
        assert caption.is_file() and caption.read_text().strip(), f"no caption for {figure.name}"
    # the captions of the report that are not figures (tables, the report's front page)
    others = {"workflow", "statistics_summary", "statistics_by_setting"}
    orphans = {p.stem for p in (top / CAPTION_DIR).glob("*.rst")} - set(FIGURES) - others
    assert not orphans, f"captions without a registered figure: {sorted(orphans)}"


def test_the_workflow_draws_every_registered_figure():
    top = Path(__file__).resolve().parents[2]
    rules = "\n".join(p.read_text() for p in (top / "workflow" / "rules").glob("*.smk"))
    for figure in FIGURES.values():
        assert f'FIGURE_INPUTS["{figure.inputs}"]' in rules, (
            f"{figure.name}: no workflow rule file fills FIGURE_INPUTS[{figure.inputs!r}]")
