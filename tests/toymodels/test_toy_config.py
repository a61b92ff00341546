"""ToyConfig: validation, JSON round trip, expansion into instances, importance settings."""

import argparse
import dataclasses

import numpy as np
import pytest

from percolation_tms import settings
from percolation_tms.toymodels.config import (
    PERCOLATION_IMPORTANCE,
    SECTION4_SPARSITIES,
    SYNTHETIC_IMPORTANCE,
    PhaseDiagramConfig,
    ToyConfig,
    importance_vector,
    instances,
)


def test_defaults_are_the_section4_sweep():
    config = ToyConfig()
    assert (config.model, config.n_features, config.n_hidden) == ("tied", 20, 5)
    assert config.sparsities == (0.0, 0.7, 0.9, 0.99, 0.999)
    assert (config.steps, config.batch_size, config.lr, config.weight_decay) == (
        10_000, 1024, 1e-3, 0.01)


@pytest.mark.parametrize("changes, message", [
    ({"model": "mlp"}, "model must be one of"),
    ({"n_features": 0}, "n_features must be a positive integer"),
    ({"n_hidden": -1}, "n_hidden must be a positive integer"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"sparsities": (0.5, 1.0)}, r"sparsity must be in \[0, 1\), got 1.0"),
    ({"sparsities": (-0.1,)}, r"sparsity must be in \[0, 1\)"),
    ({"sparsities": ()}, "sparsities must not be empty"),
    ({"sparsities": (), "feature_probability": (0.5,) * 3}, "must have n_features = 20"),
    ({"sparsities": (), "feature_probability": (0.0,) * 20}, r"in \(0, 1\]"),
    ({"sparsities": (0.5,), "feature_probability": (0.5,) * 20},
     "either sparsities or feature_probability"),
    ({"importance": 0.7}, "sequence of settings"),
    ({"importance": (0.0,)}, "importance ratio must be positive"),
    ({"importance": ("log10",)}, "importance setting must be"),
    ({"importance": ((1.0, 2.0),)}, "needs n_features = 20 weights"),
    ({"seeds": ()}, "seeds must not be empty"),
    ({"seeds": (1, 1)}, "seeds must not repeat"),
    ({"seeds": (-1,)}, "non-negative"),
    ({"lr": 0.0}, "lr must be positive"),
    ({"weight_decay": -1.0}, "weight_decay must be >= 0"),
    ({"beta2": 1.0}, r"beta2 must be in \[0, 1\)"),
    ({"percolation_features": "f.npz", "n_features": 4, "sparsities": (0.5,)},
     "do not apply with percolation_features"),
    ({"feature_selection": "random"}, "feature_selection must be one of"),
    ({"feature_values": "float"}, "feature_values must be one of"),
])
def test_invalid_settings_are_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        ToyConfig(**changes)


def test_json_round_trip(tmp_path):
    config = ToyConfig(model="untied", sparsities=(0.0, 0.99), seeds=(3, 1),
                       importance=(0.9, "log100", tuple(np.linspace(1, 0.1, 20))))
    config.save(tmp_path / "config.json")
    assert ToyConfig.load(tmp_path / "config.json") == config
    with pytest.raises(ValueError, match="unknown ToyConfig keys"):
        ToyConfig.from_dict({**config.to_dict(), "learning_rate": 1})


def test_instances_nest_sparsity_then_importance_then_seed():
    grid = instances(ToyConfig(n_features=4, sparsities=(0.0, 0.9), importance=(0.5, 1.0),
                               seeds=(7, 8, 9)))
    assert grid.sparsity.tolist() == [0.0] * 6 + [0.9] * 6
    assert grid.importance_setting.tolist() == [0, 0, 0, 1, 1, 1] * 2
    assert grid.model_seed.tolist() == [7, 8, 9] * 4
    np.testing.assert_allclose(grid.probability[7], 0.1)
    np.testing.assert_allclose(grid.importance[0], [1, 0.5, 0.25, 0.125])
    assert grid.importance_label[:4] == ("0.5", "0.5", "0.5", "1.0")


def test_feature_probability_is_one_setting():
    probability = (1.0, 0.5, 0.1, 0.1)
    grid = instances(ToyConfig(n_features=4, sparsities=(), feature_probability=probability))
    np.testing.assert_allclose(grid.probability, [probability])
    assert grid.sparsity[0] == pytest.approx(1 - np.mean(probability))


def test_importance_settings():
    np.testing.assert_allclose(importance_vector(0.7, 3), [1, 0.7, 0.49])
    np.testing.assert_allclose(importance_vector("log100", 3), [1, 0.1, 0.01])
    np.testing.assert_allclose(importance_vector((3.0, 2.0, 1.0), 3), [3, 2, 1])


def test_defaults_that_depend_on_the_input_are_resolved_once():
    synthetic = ToyConfig()
    assert synthetic.importance == SYNTHETIC_IMPORTANCE == (0.7,)
    assert synthetic.sparsities == SECTION4_SPARSITIES
    assert ToyConfig(n_features=3, feature_probability=(1.0, 0.5, 0.1)).sparsities == ()
    percolation = ToyConfig(percolation_features="f_gt_features.npz", n_features=7)
    assert percolation.importance == PERCOLATION_IMPORTANCE == (1.0,)
    assert percolation.sparsities == () and percolation.n_features == 7
    with pytest.raises(ValueError, match="percolation_features needs n_features"):
        ToyConfig(percolation_features="f_gt_features.npz")
    # the resolved values are what is saved, and a saved config reads back equal
    assert ToyConfig.from_dict(percolation.to_dict()) == percolation


@pytest.mark.parametrize("changes, message", [
    ({"seeds": 3}, "seeds must be a sequence of seeds"),
    ({"lr": float("nan")}, "lr must be positive"),
    ({"eps": -1.0}, "eps must be positive"),
    ({"beta1": True}, r"beta1 must be in \[0, 1\)"),
])
def test_more_invalid_settings_are_value_errors_naming_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        ToyConfig(**changes)


def test_run_id_is_a_hash_of_the_settings():
    assert ToyConfig().run_id == ToyConfig().run_id
    assert ToyConfig(seeds=(1,)).run_id != ToyConfig().run_id
    assert ToyConfig(model="untied").run_id != ToyConfig().run_id


def test_a_config_file_whose_run_id_does_not_match_is_refused(tmp_path):
    path = tmp_path / "config.json"
    ToyConfig().save(path)
    text = path.read_text().replace(ToyConfig().run_id, "0" * 16)
    path.write_text(text)
    with pytest.raises(ValueError, match="records run_id"):
        ToyConfig.load(path)


@pytest.mark.parametrize("cls", [ToyConfig, PhaseDiagramConfig])
def test_every_command_line_setting_is_an_option_with_its_dataclass_default(cls):
    parser = argparse.ArgumentParser()
    settings.add_arguments(parser, cls)
    options = {action.dest: action for action in parser._actions if action.dest != "help"}
    for field in dataclasses.fields(cls):
        if field.metadata.get("cli", True):
            assert field.name in options, field.name
            assert options[field.name].default is argparse.SUPPRESS
    # no option given: the dataclass's defaults, nothing else
    assert settings.from_arguments(cls, parser.parse_args([])) == cls()


@pytest.mark.parametrize("changes, message", [
    ({"grid_size": 1}, "grid_size must be at least 2"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"seeds": ()}, "seeds must not be empty"),
    ({"lr": 0.0}, "lr must be positive"),
    ({"trained_points": ((0.5, 1.0),)}, r"sparsities in \[0, 1\)"),
])
def test_invalid_phase_diagram_settings_are_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        PhaseDiagramConfig(**changes)
