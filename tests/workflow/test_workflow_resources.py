"""The dataset jobs ask the scheduler for the memory the package estimates (one estimate for
the workflow and for the generate command's check)."""

from __future__ import annotations

import math
import re

import yaml
from conftest import copy_workflow, snakemake

from percolation_tms.dataset.memory import estimate_peak_bytes

STAGE_OF_RULE = {"generate_graph": "generate_graph", "embed": "embed", "label": "label",
                 "export": "export", "describe": "describe"}


def planned_resources(stdout: str):
    """(rule, wildcards, resources) of every job of a dry-run."""
    jobs = []
    for line in stdout.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line):
            jobs.append([m.group(1), {}, {}])
        elif jobs and (m := re.match(r"^\s+wildcards: (.*)$", line)):
            jobs[-1][1].update(pair.split("=", 1) for pair in m.group(1).split(", "))
        elif jobs and (m := re.match(r"^\s+resources: (.*)$", line)):
            jobs[-1][2].update(pair.split("=", 1) for pair in m.group(1).split(", "))
    return jobs


def test_dataset_jobs_ask_for_twice_the_estimated_peak(tmp_path):
    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    dtype = config["percolation"]["dtype"]
    result = snakemake(workdir, "--dry-run")
    checked = set()
    for rule, wildcards, resources in planned_resources(result.stdout + result.stderr):
        if rule not in STAGE_OF_RULE:
            continue
        size, dim = int(wildcards["size"]), int(wildcards.get("dim", 0))
        peak = estimate_peak_bytes(wildcards["mode"], size, dim, dtype, STAGE_OF_RULE[rule])
        assert int(resources["mem_mb"]) == math.ceil(2 * peak / 2**20), (rule, wildcards)
        checked.add(rule)
    assert checked == set(STAGE_OF_RULE)
