"""percolation.datasets[].shards: a dataset built as shard jobs has the same files as the
dataset built by the stage jobs (the tiny run), and the shard jobs replace the stage jobs."""

import numpy as np
import yaml
from conftest import copy_workflow, planned_rules, snakemake

STEM = "results/datasets/distribution/percolation_dataset_size3000_dim16_seed0"


def sharded_workflow(dest, shards):
    workdir = copy_workflow(dest)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["percolation"]["datasets"][0]["shards"] = shards
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


def test_shard_jobs_replace_the_stage_jobs(tmp_path):
    rules = planned_rules(sharded_workflow(tmp_path, 3), "--cores", "2")
    # Two distribution seeds go through 3 shards each; the one_cluster dataset stays whole.
    assert rules["plan_shards"] == 2 and rules["generate_shard"] == 6
    assert rules["generate_graph"] == 1 and rules["embed"] == 1 and rules["label"] == 1


def test_sharded_dataset_files_equal_the_unsharded_ones(tiny_run, tmp_path):
    workdir = sharded_workflow(tmp_path, 3)
    snakemake(workdir, "--cores", "2", f"{STEM}.npz")
    assert (workdir / "results/shards/distribution/size3000_dim16_seed0/shard00002.npz").exists()
    for suffix in ("", "_gt_features", "_gt_metadata", "_graph"):
        sharded = np.load(workdir / f"{STEM}{suffix}.npz")
        whole = np.load(tiny_run / f"{STEM}{suffix}.npz")
        assert sharded.files == whole.files
        for key in whole.files:
            np.testing.assert_array_equal(sharded[key], whole[key])
