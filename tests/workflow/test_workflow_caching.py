"""What a rerun redoes after a complete run of the tiny config, read from dry-run job lists.

Each test changes one setting through an extra config file (merged over the tiny config) and
checks which jobs a dry-run would start; nothing is run, so the tests share one finished run.
"""

from __future__ import annotations

import yaml
from conftest import planned_jobs, planned_rules

PERCOLATION_RULES = {"generate_graph", "embed", "label", "export", "describe", "aggregate"}
# the figures of the synthetic toy-model sweep
TOY_PLOTS = {"plot_tms_wtw", "plot_tms_weights", "plot_tms_represented",
             "plot_tms_feature_dimensionality", "plot_tms_loss"}
# what reads the synthetic toy-model sweep in the basin stage, and its figures
BASIN_SWEEP = {"basin_cutoff_scan": 1, "plot_basin_volume_sparsity": 1, "plot_llc_sparsity": 1,
               "plot_basin_cutoff_scan": 1}
# the figures of one dataset setting (mode, size, dim)
SETTING_PLOTS = {"plot_cluster_sizes", "plot_degrees", "plot_hierarchy", "plot_embedding",
                 "plot_feature_frequency", "plot_baselines"}


def changed(workdir, name, override) -> str:
    """Write ``override`` as an extra config file; returns the --configfile argument."""
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(override))
    return path.name


def test_rerun_with_nothing_changed_does_nothing(tiny_run):
    assert planned_jobs(tiny_run) == []


def test_changing_the_sparsities_reruns_only_toy_training_and_what_follows(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    models = config["toy_models"]["synthetic"]["models"]
    extra = changed(tiny_run, "sparsities",
                    {"toy_models": {"synthetic": {"sparsities": [0, 0.5, 0.99]}}})
    rules = planned_rules(tiny_run, "--configfile", extra)
    assert rules == ({"train_toy_synthetic": len(models), "basin_volume_synthetic": len(models),
                      "llc_synthetic": len(models)} | {plot: 1 for plot in TOY_PLOTS}
                     | BASIN_SWEEP)


def test_changing_the_dim_reruns_embedding_and_what_follows_not_the_graphs(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    groups = config["percolation"]["datasets"]
    for group in groups:
        group["dims"] = [8]
    n_datasets = sum(len(g["sizes"]) * len(g["seeds"]) for g in groups)
    extra = changed(tiny_run, "dims", {"percolation": {"datasets": groups}})
    n_settings = sum(len(g["sizes"]) for g in groups)
    rules = planned_rules(tiny_run, "--configfile", extra)
    assert rules == ({"embed": n_datasets, "export": n_datasets, "describe": n_datasets,
                      "aggregate": 1} | {plot: n_settings for plot in SETTING_PLOTS})


def test_adding_a_seed_runs_only_that_seeds_jobs(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    groups = config["percolation"]["datasets"]
    new_seed = max(groups[0]["seeds"]) + 1
    groups[0]["seeds"] = groups[0]["seeds"] + [new_seed]
    extra = changed(tiny_run, "seed", {"percolation": {"datasets": groups}})
    jobs = planned_jobs(tiny_run, "--configfile", extra)
    per_dataset = [(rule, w) for rule, w in jobs if "seed" in w]
    assert {rule for rule, _ in per_dataset} == {
        "generate_graph", "embed", "label", "export", "describe"}
    sizes, dims = len(groups[0]["sizes"]), len(groups[0]["dims"])
    assert len(per_dataset) == sizes * (2 + 3 * dims)  # graph and labels are per size only
    assert all(w["seed"] == str(new_seed) and w["mode"] == groups[0]["mode"]
               for _, w in per_dataset)
    # what combines the seeds is redone: the table and that setting's figures; nothing else
    others = [(rule, w) for rule, w in jobs if "seed" not in w]
    assert sorted(rule for rule, _ in others) == sorted(
        ["aggregate", *sorted(SETTING_PLOTS) * (sizes * dims)])
    assert all(w["mode"] == groups[0]["mode"] for rule, w in others if rule != "aggregate")


def test_adding_a_model_seed_reruns_only_the_toy_training(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    seeds = config["toy_models"]["synthetic"]["seeds"]
    extra = changed(tiny_run, "model_seed",
                    {"toy_models": {"synthetic": {"seeds": seeds + [max(seeds) + 1]}}})
    rules = planned_rules(tiny_run, "--configfile", extra)
    models = config["toy_models"]["synthetic"]["models"]
    assert rules == ({"train_toy_synthetic": len(models), "basin_volume_synthetic": len(models),
                      "llc_synthetic": len(models)} | {plot: 1 for plot in TOY_PLOTS}
                     | BASIN_SWEEP)
