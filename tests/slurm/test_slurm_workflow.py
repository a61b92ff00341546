"""The workflow on a real SLURM cluster: every job runs as a SLURM job, and the results are the
same bytes as those of a local run.

The tiny test config (.test/config.yaml) runs twice, each time in its own copy of the workflow:
once locally (``snakemake --cores 2``) and once through the slurm profile on the single-node
cluster of ``slurm_cluster.py``. The data files of the two runs (.npz, .npy, .csv under results/)
must be identical byte for byte (.npz files array by array, each array's stored bytes, since the
zip entries carry their write time; wall-clock timings live in .json/.tsv files, not compared).
Figures are not compared: PNG and PDF files
embed creation times and renderer details, and they are drawn from the data files compared.

Needs root (the cluster's daemons, apt-get); skipped only when not root or when apt-get cannot
install SLURM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from slurm_cluster import ClusterUnavailable, ensure_slurm, slurm_cluster

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
DATA_SUFFIXES = {".npz", ".npy", ".csv"}
# Snakemake ignores SIGTERM while jobs run, so `timeout` follows up with SIGKILL (-k).
SNAKEMAKE_TIMEOUT_SECONDS = 1200
# What the test cluster needs beyond the profile: it has no accounting database, so sacct
# cannot answer and job states come from squeue (the cluster keeps finished jobs for
# MinJobAge = 300 s, at least 3x the 2 s before the first status check, as the plugin needs);
# short status intervals for jobs of a few seconds; and the per-job SLURM logs kept for the
# checks below (the plugin deletes those of successful jobs by default).
TEST_CLUSTER_OPTIONS = (
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "2",
    "--seconds-between-status-checks", "2",
    "--slurm-keep-successful-logs",
)

# A job as snakemake prints it: "rule embed:" (submitted) or "localrule all:" (run in the
# snakemake process itself), then indented lines, among them "wildcards: size=3000, seed=0".
JOB_HEADER = re.compile(r"^(local)?rule (\w+):$")
JOB_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")


@pytest.fixture(scope="module")
def cluster():
    try:
        ensure_slurm()
    except ClusterUnavailable as reason:
        pytest.skip(f"no SLURM cluster on this machine: {reason}")
    # Four times the machine's CPUs: the jobs of the tiny config take seconds and SLURM's
    # polling takes longer, so running several side by side keeps the test short.
    with slurm_cluster(cpus=4 * (os.cpu_count() or 1)) as running:
        yield running


def copy_workflow(dest: Path) -> Path:
    """The workflow in ``dest``, with the tiny test config as its config.yaml."""
    dest.mkdir(parents=True)
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    shutil.copytree(REPO / "workflow", dest / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / ".test" / "config.yaml", dest / "config.yaml")
    return dest


def run_snakemake(workdir: Path, *args: str, env: dict[str, str]) -> str:
    """Run snakemake in ``workdir``; fail the test with its output unless it succeeds."""
    command = ["timeout", "-k", "30", str(SNAKEMAKE_TIMEOUT_SECONDS),
               sys.executable, "-m", "snakemake", *args]
    result = subprocess.run(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=SNAKEMAKE_TIMEOUT_SECONDS + 60, check=False)
    if result.returncode != 0:
        # timeout exits with 124 after SIGTERM, 137 after SIGKILL
        ended = (f"timed out after {SNAKEMAKE_TIMEOUT_SECONDS} s" if result.returncode in (124, 137)
                 else f"exited with {result.returncode}")
        pytest.fail(f"snakemake {' '.join(args)} {ended}:\n{result.stdout}")
    return result.stdout


def jobs_in_output(text: str) -> list[tuple[bool, str, str]]:
    """(ran locally, rule, wildcards) of every job snakemake printed in ``text``."""
    jobs = []
    for line in text.splitlines():
        header = JOB_HEADER.match(line)
        if header:
            jobs.append([header.group(1) is not None, header.group(2), ""])
            continue
        wildcards = JOB_WILDCARDS.match(line)
        if wildcards and jobs:
            jobs[-1][2] = wildcards.group(1)
    return [tuple(job) for job in jobs]


def files_under_results(workdir: Path) -> list[str]:
    results = workdir / "results"
    return sorted(str(path.relative_to(results)) for path in results.rglob("*") if path.is_file())


def file_content(path: Path) -> object:
    """The file's bytes; for an .npz the bytes of each array (an .npy inside the zip archive),
    since the archive's own entries carry the time they were written."""
    if path.suffix == ".npz":
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    return path.read_bytes()


def test_workflow_on_slurm_runs_every_job_as_a_slurm_job_with_local_results(cluster, tmp_path):
    local = copy_workflow(tmp_path / "local")
    on_slurm = copy_workflow(tmp_path / "slurm")

    local_output = run_snakemake(local, "--cores", "2", env=dict(os.environ))
    slurm_output = run_snakemake(
        on_slurm, "--workflow-profile", "workflow/profiles/slurm", *TEST_CLUSTER_OPTIONS,
        env=cluster.env)

    # The same jobs ran, and on SLURM none but the target rule `all` (no action) ran locally.
    expected = Counter((rule, wildcards) for _, rule, wildcards in jobs_in_output(local_output)
                       if rule != "all")
    assert sum(expected.values()) > 0, f"the local run printed no jobs:\n{local_output}"
    slurm_run_jobs = jobs_in_output(slurm_output)
    ran_locally = [(rule, wildcards) for local_job, rule, wildcards in slurm_run_jobs if local_job]
    assert ran_locally == [("all", "")], slurm_output
    submitted = Counter((rule, wildcards) for local_job, rule, wildcards in slurm_run_jobs
                        if not local_job)
    assert submitted == expected, slurm_output

    # SLURM's side: one completed SLURM job per snakemake job, all of one run, each with a log
    # written by slurmd in which snakemake ran exactly that job (the plugin's job step prints
    # it as it hands it to srun, and the snakemake inside the srun step as it runs it).
    slurm_jobs = cluster.jobs()
    assert len(slurm_jobs) == sum(expected.values()), slurm_jobs
    assert {job["state"] for job in slurm_jobs} == {"COMPLETED"}, slurm_jobs
    assert len({job["name"] for job in slurm_jobs}) == 1, slurm_jobs
    slurm_logs = {path.stem: path
                  for path in (on_slurm / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert sorted(slurm_logs) == sorted(job["id"] for job in slurm_jobs)
    jobs_in_slurm_logs = Counter()
    for job in slurm_jobs:
        logged = jobs_in_output(slurm_logs[job["id"]].read_text())
        jobs_of_log = {(rule, wildcards) for _, rule, wildcards in logged}
        assert len(jobs_of_log) == 1 and any(ran for ran, _, _ in logged), (job, logged)
        rule, wildcards = jobs_of_log.pop()
        assert re.fullmatch(rf"rule_{rule}(_wildcards_.+)?", job["comment"]), (job, logged)
        jobs_in_slurm_logs[(rule, wildcards)] += 1
    assert jobs_in_slurm_logs == expected

    # The same files (results, figures, logs, benchmarks), and the same data in the data files,
    # byte for byte (timings left out).
    assert files_under_results(on_slurm) == files_under_results(local)
    data = [name for name in files_under_results(local) if Path(name).suffix in DATA_SUFFIXES]
    assert data, "the local run wrote no data files under results/"
    differing = [name for name in data
                 if file_content(on_slurm / "results" / name)
                 != file_content(local / "results" / name)]
    assert not differing, f"data files that differ between the local and the SLURM run: {differing}"
