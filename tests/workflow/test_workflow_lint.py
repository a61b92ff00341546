"""`snakemake --lint` finds nothing to complain about, with the default and the test config."""

from __future__ import annotations

import shutil

from conftest import REPO, copy_workflow, snakemake


def test_lint_is_clean_with_the_tiny_config(tmp_path):
    result = snakemake(copy_workflow(tmp_path), "--lint")
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_lint_is_clean_with_the_default_config(tmp_path):
    workdir = copy_workflow(tmp_path)
    shutil.copy2(REPO / "config.yaml", workdir / "config.yaml")
    result = snakemake(workdir, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr
