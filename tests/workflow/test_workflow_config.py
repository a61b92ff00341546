"""A bad config stops the run before any job starts, with a message that names the key."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO, copy_workflow, snakemake

ONE_GROUP = {"mode": "distribution", "sizes": [100], "dims": [4], "seeds": [0]}

# (what is wrong, config overriding the tiny test config, text the error must contain)
BAD_CONFIGS = [
    ("unknown top-level key", {"toy_model": {}}, "'toy_model' was unexpected"),
    ("unknown nested key", {"percolation": {"n_points": 10}}, "'n_points' was unexpected"),
    ("unknown key in a dataset group", {"percolation": {"datasets": [ONE_GROUP | {"dim": 3}]}},
     "'dim' was unexpected"),
    ("wrong type", {"toy_models": {"synthetic": {"steps": "many"}}}, "['steps']"),
    ("sparsity 1.5", {"toy_models": {"synthetic": {"sparsities": [0.5, 1.5]}}},
     "['sparsities'][1]"),
    ("size 0", {"percolation": {"datasets": [ONE_GROUP | {"sizes": [0]}]}}, "['sizes'][0]"),
    ("unknown mode", {"percolation": {"datasets": [ONE_GROUP | {"mode": "bethe"}]}},
     "['mode']"),
    ("empty seed list", {"percolation": {"datasets": [ONE_GROUP | {"seeds": []}]}},
     "['seeds']"),
    ("empty model-seed list", {"toy_models": {"percolation": {"seeds": []}}}, "['seeds']"),
]


@pytest.mark.parametrize("override, names_key", [case[1:] for case in BAD_CONFIGS],
                         ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_stops_before_any_job(tmp_path, override, names_key):
    workdir = copy_workflow(tmp_path)
    (workdir / "bad.yaml").write_text(yaml.safe_dump(override))
    result = snakemake(workdir, "--cores", "1", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "Error validating config file" in message
    assert names_key in message
    assert not (workdir / "results").exists()


def test_schema_fills_defaults_of_left_out_keys(tmp_path):
    """A config that sets only the datasets is complete once validated: every other key
    takes its default (a dry-run plans the toy-model jobs with the default model kinds)."""
    workdir = copy_workflow(tmp_path)
    (workdir / "config.yaml").write_text(yaml.safe_dump(
        {"percolation": {"datasets": [ONE_GROUP]}}))
    result = snakemake(workdir, "--dry-run", "--printshellcmds")
    assert "--model tied" in result.stdout and "--model untied" in result.stdout
    assert "--steps 10000" in result.stdout


def _resolve(schema: dict, node: dict) -> dict:
    """``node`` with the definition it refers to ($ref) merged under its own keys."""
    if "$ref" not in node:
        return node
    target = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**_resolve(schema, target), **{k: v for k, v in node.items() if k != "$ref"}}


def _objects_and_keys(schema: dict, node: dict, path: str = "config"):
    """Every object schema and every key (path, its schema, whether it is required) below."""
    node = _resolve(schema, node)
    if node.get("type") == "object":
        yield path, node, None
        for key, child in node.get("properties", {}).items():
            yield f"{path}.{key}", _resolve(schema, child), key in node.get("required", [])
            yield from _objects_and_keys(schema, child, f"{path}.{key}")
    if "items" in node:
        yield from _objects_and_keys(schema, node["items"], f"{path}[]")


def test_schema_types_describes_and_defaults_every_key():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    keys = 0
    for path, node, required in _objects_and_keys(schema, schema):
        if required is None:  # an object: no key outside its properties
            assert node.get("additionalProperties") is False, path
            continue
        keys += 1
        assert {"type", "anyOf", "enum", "const"} & node.keys(), f"{path} has no type"
        assert node.get("description"), f"{path} has no description"
        assert required or "default" in node, f"{path} has no default"
    assert keys > 50
