"""Helpers for the workflow tests: a copy of the workflow in a temporary folder, snakemake runs
in it, and the jobs a dry-run would start.

The workflow is copied (Snakefile, config.yaml, workflow/) so that runs never touch the
checkout's results/; its config.yaml is replaced by the tiny test config `.test/config.yaml`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_CONFIG = REPO / ".test" / "config.yaml"


def copy_workflow(dest: Path) -> Path:
    """The workflow in ``dest`` with the tiny test config as its config.yaml."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    shutil.copytree(REPO / "workflow", dest / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(TEST_CONFIG, dest / "config.yaml")
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 600
              ) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir``; with ``check``, fail the test showing its output."""
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir,
                            capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}")
    return result


_JOB_HEADER = re.compile(r"^(?:local)?rule (\w+):$")
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")


def planned_jobs(workdir: Path, *args: str) -> list[tuple[str, dict[str, str]]]:
    """The jobs ``snakemake --dry-run`` would start: (rule, wildcards) pairs, ``all`` left out."""
    result = snakemake(workdir, "--dry-run", *args)
    jobs = []
    for line in (result.stdout + result.stderr).splitlines():
        header = _JOB_HEADER.match(line)
        if header:
            jobs.append((header.group(1), {}))
            continue
        wildcards = _WILDCARDS.match(line)
        if wildcards and jobs:
            jobs[-1][1].update(pair.split("=", 1) for pair in wildcards.group(1).split(", "))
    return [(rule, wildcards) for rule, wildcards in jobs if rule != "all"]


def planned_rules(workdir: Path, *args: str) -> dict[str, int]:
    """Number of jobs per rule that a dry-run would start (``all`` left out)."""
    counts: dict[str, int] = {}
    for rule, _ in planned_jobs(workdir, *args):
        counts[rule] = counts.get(rule, 0) + 1
    return counts


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A complete run of the tiny test config (shared by the tests that only read it)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny_run"))
    snakemake(workdir, "--cores", "2")
    return workdir
