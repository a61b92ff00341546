"""`snakemake --report results/report.html` after the tiny run: one self-contained HTML file with
every figure, each captioned, and the summary tables."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO, snakemake

pytestmark = pytest.mark.slow


def report_entry(html: str, path: str) -> dict:
    """The report's record of the result file ``path`` (the report keeps them as JSON)."""
    key = f'"{path}": '
    assert key in html, f"{path} is not in the report"
    entry, _ = json.JSONDecoder().raw_decode(html, html.index(key) + len(key))
    return entry


def first_words(caption_file) -> str:
    """The caption's opening words, as they appear in the rendered HTML."""
    return " ".join(caption_file.read_text().split()[:4])


@pytest.fixture(scope="module")
def report_html(tiny_run) -> str:
    snakemake(tiny_run, "--report", "results/report.html")
    return (tiny_run / "results/report.html").read_text()


def test_report_is_self_contained(report_html):
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=\"https?:", report_html)


def test_every_figure_is_in_the_report_with_its_caption(tiny_run, report_html):
    figures = sorted((tiny_run / "results/figures").rglob("*.png"))
    assert figures
    for png in figures:
        entry = report_entry(report_html, str(png.relative_to(tiny_run)))
        assert entry["data_uri"].startswith("data:image/png")
        caption = REPO / "workflow/report" / f"{png.stem}.rst"
        assert first_words(caption) in " ".join(entry["caption"].split())


def test_summary_tables_are_in_the_report_with_their_captions(report_html):
    for table, caption in (("summary.csv", "statistics_summary.rst"),
                           ("by_setting.csv", "statistics_by_setting.rst")):
        entry = report_entry(report_html, f"results/statistics/{table}")
        assert entry["data_uri"].startswith("data:text/csv")
        assert first_words(REPO / "workflow/report" / caption) in " ".join(
            entry["caption"].split())
