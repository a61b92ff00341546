"""One home per setting: every config.yaml key that sets a stage's setting has that setting's
name and its dataclass default; the few keys that only the workflow has are listed here with
the reason."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import yaml
from conftest import REPO

# config section (path in config.yaml) -> (the dataclass whose fields its keys set,
#                                          {key: why the workflow has it and the dataclass not})
SECTIONS = {
    ("percolation",): ("percolation_tms.dataset.config:DatasetConfig", {
        "datasets": "the (mode, sizes, dims, seeds) grid: one dataset per combination",
        "create_prob": "the value for the groups in custom mode (the command requires one "
                       "there and refuses it elsewhere)",
        "compress": "an option of the output files, not of the dataset",
        "statistics": "its own section (describe)",
    }),
    ("percolation", "statistics"): ("percolation_tms.stats.config:DescribeConfig", {}),
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
    reference, workflow_only = SECTIONS[path]
    fields = {field.name: field for field in dataclasses.fields(_dataclass(reference))}
    keys = _schema_section(schema, path)
    for key, node in keys.items():
        if key in workflow_only:
            continue
        where = ".".join((*path, key))
        assert key in fields, (f"config key {where} is not a field of {reference} (one name "
                               "per setting), nor listed as workflow-only here")
        default = fields[key].default
        if default is dataclasses.MISSING:
            continue  # a required setting: the workflow always sets it
        assert _same(node.get("default"), default), (
            f"{where}: schema default {node.get('default')!r}, {reference} default {default!r}")
    stale = set(workflow_only) - set(keys)
    assert not stale, f"listed as workflow-only but not in the schema: {sorted(stale)}"
