"""One home per setting: every config.yaml key that sets a stage's setting has that setting's
name and its dataclass default; the few keys that only the workflow has are listed here with
the reason."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import yaml
from conftest import REPO


# config section (path in config.yaml) -> Section: the dataclass whose fields its keys set;
# the keys only the workflow has, and the settings whose workflow default differs on purpose
# (each with the reason); the settings the defaults are resolved for (a dataclass whose
# __post_init__ fills some defaults in from others).
@dataclasses.dataclass(frozen=True)
class Section:
    config_class: str
    workflow_only: dict = dataclasses.field(default_factory=dict)
    different_default: dict = dataclasses.field(default_factory=dict)
    resolved_for: dict = dataclasses.field(default_factory=dict)


TOY = "percolation_tms.toymodels.config:ToyConfig"
SAE = "percolation_tms.sae.config:SAEConfig"
SWEEP = "percolation_tms.sae.config:SweepConfig"
SCORING = "percolation_tms.sae.cli:ScoringConfig"
SYNTHETIC = "percolation_tms.sae.synthetic:SyntheticConfig"
HIERARCHY = "percolation_tms.sae.hierarchy:HierarchyConfig"
SECTIONS = {
    ("percolation",): Section("percolation_tms.dataset.config:DatasetConfig", {
        "datasets": "the (mode, sizes, dims, seeds) grid: one dataset per combination",
        "create_prob": "the value for the groups in custom mode (the command requires one "
                       "there and refuses it elsewhere)",
        "compress": "an option of the output files, not of the dataset",
        "statistics": "its own section (describe)",
    }),
    ("percolation", "statistics"): Section("percolation_tms.stats.config:DescribeConfig"),
    ("toy_models", "synthetic"): Section(
        TOY, {"models": "one job per model kind"},
        {"seeds": "the workflow trains three seeds per sparsity, the command one"}),
    ("toy_models", "percolation"): Section(
        TOY, {"models": "one job per model kind", "dataset": "which dataset's features"},
        {"n_hidden": "the workflow's 40 features get 10 hidden dimensions, the command's "
                     "default is the synthetic sweep's 5",
         "seeds": "the workflow trains three seeds, the command one"},
        {"percolation_features": "features.npz", "n_features": 40}),
    ("sae", "percolation"): Section(
        SAE + "," + SWEEP + "," + SCORING,
        {"dataset": "which dataset", "kinds": "one job per kind"},
        {"epochs": "two epochs over 100k points in the workflow; the command's default is 5",
         "dict_ratios": "the workflow sweeps 0.5, 2 and 8 d",
         "l1": "the sweeps' values", "k": "the sweeps' values",
         "l0_coefficient": "the sweeps' values",
         "min_feature_points": "the workflow scores the features an SAE of that size can hold "
                               "(>= 64 points); the command scores every feature"}),
    ("sae", "synthetic"): Section(
        SAE + "," + SWEEP + "," + SYNTHETIC, {"kinds": "one job per kind"},
        {"dict_ratios": "the dictionary-size sweep", "l1": "the sweeps' values",
         "k": "the sweeps' values", "l0_coefficient": "the sweeps' values",
         "n_samples": "the command derives the size from the structure",
         "dim": "the command derives it from the structure",
         "n_features": "the command derives it from the structure"}),
    ("sae", "hierarchy"): Section(
        SAE + "," + SWEEP + "," + HIERARCHY, {"kinds": "one job per kind"},
        {"dict_ratios": "width 128 = 2 d", "l1": "the sweeps' values",
         "k": "the sweeps' values", "l0_coefficient": "the sweeps' values",
         "epochs": "20 passes over 50,000 points", "n_samples": "50,000 points keep the "
                                                               "default run short"}),
    ("sae", "architecture"): Section(SAE),
    ("toy_models", "phase_diagram"): Section(
        "percolation_tms.toymodels.config:PhaseDiagramConfig"),
    ("persian_rug",): Section("percolation_tms.persianrug.config:PersianRugConfig"),
    ("basins", "volume"): Section("percolation_tms.basins.config:BasinConfig"),
    ("basins", "llc"): Section("percolation_tms.basins.config:LLCConfig"),
}


def _schema_section(schema: dict, path: tuple[str, ...]) -> dict:
    node = schema
    for key in path:
        node = node["properties"][key]
    return node["properties"]


def _dataclass(reference: str):
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


def _same(schema_default, dataclass_default) -> bool:
    if isinstance(dataclass_default, tuple) and not isinstance(schema_default, list):
        schema_default = [schema_default]  # a scalar in config.yaml for a one-setting list
    if isinstance(dataclass_default, tuple):
        dataclass_default = list(dataclass_default)
    return schema_default == dataclass_default


@pytest.mark.parametrize("path", list(SECTIONS), ids=[".".join(p) for p in SECTIONS])
def test_every_key_is_a_setting_with_the_dataclass_default(path):
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    section = SECTIONS[path]
    classes = [_dataclass(reference) for reference in section.config_class.split(",")]
    fields = {field.name: field for cls in reversed(classes)
              for field in dataclasses.fields(cls)}
    # the defaults as the dataclass resolves them (e.g. importance 1.0 with percolation
    # features), where it can be built from defaults alone
    resolved = classes[0](**section.resolved_for) if len(classes) == 1 and all(
        f.default is not dataclasses.MISSING or f.name in section.resolved_for
        for f in fields.values()) else None
    keys = _schema_section(schema, path)
    for key, node in keys.items():
        if key in section.workflow_only:
            continue
        where = ".".join((*path, key))
        assert key in fields, (f"config key {where} is not a field of {section.config_class} "
                               "(one name per setting), nor listed as workflow-only here")
        if key in section.different_default or key in section.resolved_for:
            continue
        default = getattr(resolved, key) if resolved is not None else fields[key].default
        if default is dataclasses.MISSING:
            continue  # a required setting: the workflow always sets it
        assert _same(node.get("default"), default), (
            f"{where}: schema default {node.get('default')!r}, {section.config_class} "
            f"default {default!r}")
    listed = set(section.workflow_only) | set(section.different_default)
    stale = listed - set(keys)
    assert not stale, f"listed here but not in the schema: {sorted(stale)}"
