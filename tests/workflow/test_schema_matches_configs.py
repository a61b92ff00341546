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
    ("toy_models", "phase_diagram"): Section(
        "percolation_tms.toymodels.config:PhaseDiagramConfig"),
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
    cls = _dataclass(section.config_class)
    fields = {field.name: field for field in dataclasses.fields(cls)}
    # the defaults as the dataclass resolves them (e.g. importance 1.0 with percolation
    # features), where it can be built from defaults alone
    resolved = cls(**section.resolved_for) if all(
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
