"""A bad config stops the run before any job starts, with a message that names the key."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO, copy_workflow, snakemake

ONE_GROUP = {"mode": "distribution", "sizes": [100], "dims": [4], "seeds": [0]}

# (what is wrong, config overriding the tiny test config, lines the error must contain)
BAD_CONFIGS = [
    ("unknown top-level key", {"toy_model": {}},
     ["- unknown key toy_model", "did you mean toy_models?",
      "allowed in the top level: basins, percolation, persian_rug, sae, toy_models"]),
    ("unknown nested key", {"percolation": {"n_points": 10}},
     ["- unknown key percolation.n_points", "allowed in percolation: binary, compress,"]),
    ("misspelt nested key", {"toy_models": {"synthetic": {"stepz": 10}}},
     ["- unknown key toy_models.synthetic.stepz", "did you mean toy_models.synthetic.steps?"]),
    ("unknown key in a dataset group", {"percolation": {"datasets": [ONE_GROUP | {"dim": 3}]}},
     ["- unknown key percolation.datasets[0].dim",
      "did you mean percolation.datasets[0].dims?"]),
    ("wrong type", {"toy_models": {"synthetic": {"steps": "many"}}},
     ["- toy_models.synthetic.steps = 'many': should be an integer, not a string"]),
    ("sparsity 1.5", {"toy_models": {"synthetic": {"sparsities": [0.5, 1.5]}}},
     ["- toy_models.synthetic.sparsities[1] = 1.5: should be < 1"]),
    ("size 0", {"percolation": {"datasets": [ONE_GROUP | {"sizes": [0]}]}},
     ["- percolation.datasets[0].sizes[0] = 0: should be >= 1"]),
    ("unknown mode", {"percolation": {"datasets": [ONE_GROUP | {"mode": "bethe"}]}},
     ["- percolation.datasets[0].mode = 'bethe': should be one of ",
      "one of one_cluster, distribution, custom"]),
    ("empty seed list", {"percolation": {"datasets": [ONE_GROUP | {"seeds": []}]}},
     ["- percolation.datasets[0].seeds = []: should have at least 1 item"]),
    ("empty model-seed list", {"toy_models": {"percolation": {"seeds": []}}},
     ["- toy_models.percolation.seeds = []: should have at least 1 item"]),
    ("missing key of a dataset group", {"percolation": {"datasets": [{"mode": "custom"}]}},
     ["- percolation.datasets[0]: missing required key sizes"]),
    ("many problems at once", {"percolation": {"dtype": "float16", "compress": "yes",
                                               "statistics": {"knn_k": 0, "a": 1, "b": 2}},
                               "sae": {"percolation": {"dataset": {"size": -1}},
                                       "synthetic": {"kinds": [], "c": 1, "d": 2}}},
     ["- percolation.dtype = 'float16': should be one of float64, float32",
      "did you mean float64?", "... and "]),
]

# The whole output of a run stopped by a bad config (snakemake's own lines included).
MAX_LINES = 12


@pytest.mark.parametrize("override, names_key", [case[1:] for case in BAD_CONFIGS],
                         ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_stops_before_any_job(tmp_path, override, names_key):
    workdir = copy_workflow(tmp_path)
    (workdir / "bad.yaml").write_text(yaml.safe_dump(override))
    result = snakemake(workdir, "--cores", "1", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    lines = message.strip().splitlines()
    assert len(lines) <= MAX_LINES, message
    assert "Error validating config file:" in message
    for text in names_key:
        assert text in message, message
    assert "Traceback" not in message
    assert not (workdir / "results").exists()


def _configs_to_fill():
    test_config = yaml.safe_load((REPO / ".test/config.yaml").read_text())
    return {"empty": {}, "datasets only": {"percolation": {"datasets": [ONE_GROUP]}},
            "the repository's": yaml.safe_load((REPO / "config.yaml").read_text()),
            "the tests'": test_config,
            "partial sections": {"toy_models": {"synthetic": {"steps": 5}}, "sae": {}}}


@pytest.mark.parametrize("name", list(_configs_to_fill()))
def test_defaults_are_filled_as_snakemakes_validate_fills_them(name):
    import copy

    from snakemake.utils import validate as snakemake_validate

    from percolation_tms import workflow_config

    schema = REPO / "workflow/schemas/config.schema.yaml"
    config = _configs_to_fill()[name]
    ours, theirs = copy.deepcopy(config), copy.deepcopy(config)
    assert workflow_config.validate(ours, schema) is ours
    snakemake_validate(theirs, str(schema), set_default=True)
    assert ours == theirs
    assert ours != config or name == "the repository's"


def test_the_message_stays_short_with_many_problems():
    from percolation_tms import workflow_config

    schema = REPO / "workflow/schemas/config.schema.yaml"
    config = {"percolation": {f"key{i}": i for i in range(30)},
              "toy_models": {"synthetic": {"sparsities": [2.0] * 5, "steps": -1}}}
    with pytest.raises(workflow_config.ConfigError) as caught:
        workflow_config.validate(config, schema)
    lines = str(caught.value).splitlines()
    assert len(lines) <= workflow_config.MAX_LINES
    assert lines[-1].startswith("  ... and ")


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
