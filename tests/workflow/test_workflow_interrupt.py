"""A run killed with SIGKILL in the middle of a job leaves no output that Snakemake takes for
complete, and the rerun ends with results identical to those of an uninterrupted run."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import copy_workflow, snakemake

pytestmark = pytest.mark.slow

# The job to interrupt: writing a dataset's four files (export), once the graphs exist.
INTERRUPTED_OUTPUTS = "results/datasets/"


def targets(workdir: Path) -> list[str]:
    """What the interrupted run builds: every dataset and its statistics, and the synthetic
    toy models (the figures and SAEs are left out to keep the test short)."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    return ["results/statistics/by_setting.csv"] + [
        f"results/toymodels/synthetic/{model}/weights.npz"
        for model in config["toy_models"]["synthetic"]["models"]]


def incomplete_outputs(workdir: Path) -> list[str]:
    """Outputs of the jobs Snakemake has started and not finished (its markers are files named
    by the URL-safe base64 of the output path)."""
    markers = workdir / ".snakemake" / "incomplete"
    if not markers.is_dir():
        return []
    return sorted(base64.urlsafe_b64decode(marker.name).decode()
                  for marker in markers.iterdir() if marker.is_file()
                  and marker.name != "migration_underway")


def kill_when_running(workdir: Path, outputs_prefix: str, timeout: float = 300) -> list[str]:
    """Start a run and kill it and all its jobs with SIGKILL as soon as a job writing under
    ``outputs_prefix`` has started; returns the outputs left marked incomplete."""
    process = subprocess.Popen([sys.executable, "-m", "snakemake", *targets(workdir),
                                "--cores", "2"], cwd=workdir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not any(p.startswith(outputs_prefix) for p in incomplete_outputs(workdir)):
            if process.poll() is not None:
                pytest.fail("the run ended before the job to interrupt started")
            if time.monotonic() > deadline:
                pytest.fail("the job to interrupt did not start in time")
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return incomplete_outputs(workdir)


def result_files(workdir: Path) -> dict[str, Path]:
    """Every result file by its path under results/, without logs, benchmarks, the report and
    the hidden temporary files of writes that a kill interrupted."""
    results = workdir / "results"
    return {str(path.relative_to(results)): path for path in results.rglob("*")
            if path.is_file() and not path.name.startswith(".")
            and path.relative_to(results).parts[0] not in ("logs", "benchmarks")
            and path.suffix != ".html"}


def assert_same_content(path: Path, reference: Path) -> None:
    """Bit for bit; an .npz (a zip archive) also records each member's time of writing, so
    its arrays are compared instead, each to the bit."""
    if path.suffix == ".npz":
        with np.load(path) as got, np.load(reference) as expected:
            assert sorted(got.files) == sorted(expected.files), path
            for key in expected.files:
                assert got[key].dtype == expected[key].dtype, (path, key)
                assert got[key].shape == expected[key].shape, (path, key)
                assert got[key].tobytes() == expected[key].tobytes(), (path, key)
    else:
        assert path.read_bytes() == reference.read_bytes(), path


def test_killed_run_reruns_to_identical_results(tiny_run, tmp_path):
    workdir = copy_workflow(tmp_path / "killed")
    left_incomplete = kill_when_running(workdir, INTERRUPTED_OUTPUTS)
    assert any(p.startswith(INTERRUPTED_OUTPUTS) for p in left_incomplete)

    snakemake(workdir, "--unlock")  # the killed run could not remove its lock
    # Nothing the killed jobs left is taken for complete.  A plain dry-run either plans the
    # killed jobs again (outputs missing) or stops at the first job it finds with incomplete
    # outputs, naming them (when two jobs were killed, only the first one's); asked to rerun
    # incomplete jobs, it plans every killed job again.
    dry_run = snakemake(workdir, "--dry-run", check=False)
    said = dry_run.stdout + dry_run.stderr
    if dry_run.returncode != 0:
        assert "Incomplete files:" in said, said
        named = [word for word in said.split("Incomplete files:")[1].split()
                 if word.startswith("results/")]
        assert named and set(named) <= set(left_incomplete), (named, left_incomplete)
    else:
        for output in left_incomplete:
            assert output in said
    planned = snakemake(workdir, *targets(workdir), "--dry-run", "--rerun-incomplete")
    for output in left_incomplete:
        assert output in planned.stdout + planned.stderr

    snakemake(workdir, *targets(workdir), "--cores", "2", "--rerun-incomplete")
    assert incomplete_outputs(workdir) == []
    rerun, reference = result_files(workdir), result_files(tiny_run)
    assert {str(Path("results") / name) for name in rerun} >= set(targets(workdir))
    assert set(rerun) <= set(reference)
    for name, path in rerun.items():
        assert_same_content(path, reference[name])
