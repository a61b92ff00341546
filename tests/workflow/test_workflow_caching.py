"""What a rerun redoes after a complete run of the tiny config, read from dry-run job lists.

Each test changes one setting through an extra config file (merged over the tiny config) and
checks which jobs a dry-run would start; nothing is run, so the tests share one finished run.
"""

from __future__ import annotations

import yaml

from conftest import planned_jobs, planned_rules

PERCOLATION_RULES = {"generate_graph", "embed", "label", "export", "describe", "aggregate"}


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
    assert rules["train_toy_synthetic"] == len(models)
    assert not PERCOLATION_RULES & rules.keys()
    assert "train_toy_percolation" not in rules and "phase_diagram" not in rules
    assert all(rule == "train_toy_synthetic" or rule.startswith("plot_") for rule in rules)


def test_changing_the_dim_reruns_embedding_and_what_follows_not_the_graphs(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    groups = config["percolation"]["datasets"]
    for group in groups:
        group["dims"] = [8]
    n_datasets = sum(len(g["sizes"]) * len(g["seeds"]) for g in groups)
    extra = changed(tiny_run, "dims", {"percolation": {"datasets": groups}})
    rules = planned_rules(tiny_run, "--configfile", extra)
    assert "generate_graph" not in rules and "label" not in rules
    assert rules["embed"] == rules["export"] == rules["describe"] == n_datasets
    assert rules["aggregate"] == 1
    assert not {"train_toy_synthetic", "train_toy_percolation", "phase_diagram"} & rules.keys()


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
    assert len(per_dataset) == 5 * len(groups[0]["sizes"]) * len(groups[0]["dims"])
    assert all(w["seed"] == str(new_seed) and w["mode"] == groups[0]["mode"]
               for _, w in per_dataset)
    # what combines the seeds is redone; nothing else
    others = {rule for rule, w in jobs if "seed" not in w}
    assert "aggregate" in others
    assert all(rule == "aggregate" or rule.startswith("plot_") for rule in others)


def test_adding_a_model_seed_reruns_only_the_toy_training(tiny_run):
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    seeds = config["toy_models"]["synthetic"]["seeds"]
    extra = changed(tiny_run, "model_seed",
                    {"toy_models": {"synthetic": {"seeds": seeds + [max(seeds) + 1]}}})
    rules = planned_rules(tiny_run, "--configfile", extra)
    assert rules["train_toy_synthetic"] == len(config["toy_models"]["synthetic"]["models"])
    assert all(rule == "train_toy_synthetic" or rule.startswith("plot_") for rule in rules)
