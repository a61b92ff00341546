"""The train-toy and phase-diagram commands: files and keys of docs/file-formats.md, error
cases, and a model trained on the features of a generated dataset."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from percolation_tms.cli import main
from percolation_tms.io import save_sparse
from percolation_tms.toymodels.config import ToyConfig

FAST = ["--steps", "200", "--batch-size", "128", "--eval-batch-size", "2000",
        "--history-every", "50"]


def test_train_toy_writes_the_documented_files(tmp_path):
    out = tmp_path / "run"
    assert main(["-q", "train-toy", "--model", "untied", "--n-features", "6", "--n-hidden",
                 "2", "--sparsities", "0,0.9", "--importance", "0.9,log100", "--seeds", "0,5",
                 *FAST, "--out", str(out)]) == 0
    n_instances, n, m = 8, 6, 2
    with np.load(out / "weights.npz") as weights:
        assert weights["W"].shape == (n_instances, m, n)
        assert weights["W_dec"].shape == (n_instances, n, m)
        assert weights["b"].shape == (n_instances, n)
        assert weights["loss_history"].shape == (n_instances, 4)
        assert weights["history_steps"].tolist() == [50, 100, 150, 200]
        assert weights["sparsity"].tolist() == [0.0] * 4 + [0.9] * 4
        assert weights["seed"].tolist() == [0, 5] * 4
        assert weights["importance"].shape == (n_instances, n)
    with np.load(out / "measurements.npz") as arrays:
        for key, shape in {"WtW": (n_instances, n, n), "b": (n_instances, n),
                           "feature_norm": (n_instances, n), "represented": (n_instances, n),
                           "dims_per_feature": (n_instances,),
                           "feature_dimensionality": (n_instances, n),
                           "interference": (n_instances, n), "eval_loss": (n_instances,),
                           "sparsity": (n_instances,), "seed": (n_instances,)}.items():
            assert arrays[key].shape == shape, key
        assert arrays["represented"].dtype == bool
    table = pd.read_csv(out / "metrics.csv")
    # run_id first: every file of a run records the run's identity (docs/file-formats.md)
    assert list(table.columns) == ["run_id", "instance", "model", "sparsity", "seed",
                                   "importance", "metric", "feature", "value"]
    assert set(table.model) == {"untied"} and set(table.importance) == {"0.9", "log100"}
    assert table[table.metric == "loss"].feature.isna().all()
    config = ToyConfig.load(out / "config.json")
    assert config.model == "untied" and config.importance == (0.9, "log100")


def test_every_file_of_a_run_records_its_identity(tmp_path):
    out = tmp_path / "run"
    assert main(["-q", "train-toy", "--n-features", "4", "--n-hidden", "2", "--sparsities",
                 "0,0.9", "--seeds", "3", *FAST, "--out", str(out)]) == 0
    config = ToyConfig.load(out / "config.json")
    recorded = json.loads((out / "config.json").read_text())["run_id"]
    assert recorded == config.run_id and len(recorded) == 16
    for name in ("weights.npz", "measurements.npz"):
        with np.load(out / name) as arrays:
            assert str(arrays["run_id"]) == recorded and str(arrays["model"]) == "tied", name
            assert arrays["sparsity"].tolist() == [0.0, 0.9] and arrays["seed"].tolist() == [3, 3]
            assert arrays["importance"].shape == (2, 4)
    assert set(pd.read_csv(out / "metrics.csv").run_id) == {recorded}
    # another setting, another identity
    assert main(["-q", "train-toy", "--n-features", "4", "--n-hidden", "2", "--sparsities",
                 "0,0.9", "--seeds", "4", *FAST, "--out", str(tmp_path / "other")]) == 0
    assert ToyConfig.load(tmp_path / "other" / "config.json").run_id != recorded


def test_output_files_are_named_one_by_one(tmp_path):
    files = {"weights": tmp_path / "a" / "w.npz", "measurements": tmp_path / "b" / "m.npz",
             "metrics": tmp_path / "c" / "table.csv", "config": tmp_path / "d" / "run.json"}
    options = [item for name, path in files.items() for item in (f"--{name}", str(path))]
    assert main(["-q", "train-toy", "--n-features", "3", "--n-hidden", "1", "--sparsities",
                 "0.5", *FAST, *options]) == 0
    assert all(path.is_file() for path in files.values())
    # --out fills in the default names of the files not given
    assert main(["-q", "train-toy", "--n-features", "3", "--n-hidden", "1", "--sparsities",
                 "0.5", *FAST, "--out", str(tmp_path / "e"), "--metrics",
                 str(tmp_path / "table.csv")]) == 0
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == [
        "config.json", "measurements.npz", "weights.npz"]
    assert (tmp_path / "table.csv").is_file()


def test_without_output_paths_nothing_is_trained(tmp_path, capsys):
    assert main(["train-toy", *FAST, "--weights", str(tmp_path / "w.npz")]) == 2
    assert "--measurements" in capsys.readouterr().err
    assert not (tmp_path / "w.npz").exists()


def test_k_is_the_old_name_of_n_features(tmp_path, capsys):
    features = tmp_path / "f_gt_features.npz"
    save_sparse(features, sparse.csr_matrix(np.eye(12)))
    for option, out in (("--k", "old"), ("--n-features", "new")):
        assert main(["-q", "train-toy", "--percolation-features", str(features), option, "5",
                     *FAST, "--out", str(tmp_path / out)]) == 0
    old, new = (ToyConfig.load(tmp_path / out / "config.json") for out in ("old", "new"))
    assert old == new and old.n_features == 5 and old.importance == (1.0,)
    assert main(["train-toy", "--percolation-features", str(features), "--k", "5",
                 "--n-features", "6", *FAST, "--out", str(tmp_path / "both")]) == 2
    assert "differs from --k 5" in capsys.readouterr().err


def test_percolation_features_from_the_command_line(tmp_path):
    rng = np.random.default_rng(0)
    dense = (rng.random((200, 12)) < 0.1) * rng.normal(size=(200, 12))
    path = tmp_path / "toy_gt_features.npz"
    save_sparse(path, sparse.csr_matrix(dense))
    out = tmp_path / "run"
    assert main(["-q", "train-toy", "--percolation-features", str(path), "--n-features", "8",
                 "--feature-selection", "frequent", "--n-hidden", "3", *FAST,
                 "--out", str(out)]) == 0
    with np.load(out / "measurements.npz") as arrays:
        frequency = (dense != 0).mean(axis=0)
        np.testing.assert_allclose(arrays["feature_frequency"],
                                   frequency[arrays["feature_column"]])
        assert np.all(np.diff(arrays["feature_frequency"]) <= 0)
        assert arrays["feature_depth"].tolist() == [-1] * 8
        assert arrays["WtW"].shape == (1, 8, 8)
        assert arrays["sparsity"][0] == pytest.approx(1 - arrays["feature_frequency"].mean())


@pytest.mark.parametrize("arguments, message", [
    (["--sparsities", "0,1"], r"sparsity must be in \[0, 1\), got 1.0"),
    (["--sparsities", "0.5,-0.1"], r"sparsity must be in \[0, 1\)"),
    (["--n-hidden", "0"], "n_hidden must be a positive integer"),
    (["--n-features", "-3"], "n_features must be a positive integer"),
    (["--steps", "0"], "steps must be a positive integer"),
    (["--batch-size", "0"], "batch_size must be a positive integer"),
    (["--k", "3"], "--k applies only with --percolation-features"),
    (["--percolation-features", "{missing}", "--n-features", "2"], "does not exist"),
    (["--percolation-features", "{garbage}", "--n-features", "2"], "not a readable sparse"),
    (["--percolation-features", "{features}", "--n-features", "13"],
     "k = 13 is larger than the 12 feature columns"),
    (["--percolation-features", "{features}"], "needs --k"),
    (["--percolation-features", "{features}", "--n-features", "2", "--sparsities", "0.5"],
     "do not apply with --percolation-features"),
])
def test_invalid_arguments_exit_2_and_write_nothing(tmp_path, capsys, arguments, message):
    features = tmp_path / "f_gt_features.npz"
    save_sparse(features, sparse.csr_matrix(np.eye(12)))
    garbage = tmp_path / "g_gt_features.npz"
    garbage.write_text("nonsense")
    arguments = [a.format(missing=tmp_path / "none.npz", garbage=garbage, features=features)
                 for a in arguments]
    out = tmp_path / "run"
    assert main(["train-toy", *FAST, *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("percolation-tms train-toy: error:") and re.search(message, error)
    assert not out.exists()


def test_malformed_lists_are_usage_errors(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train-toy", "--sparsities", "0,high", "--out", str(tmp_path)])
    assert exit_info.value.code == 2


def test_phase_diagram_command(tmp_path):
    assert main(["-q", "phase-diagram", "--grid-size", "7", "--steps", "100", "--seeds", "0",
                 "--out", str(tmp_path)]) == 0
    with np.load(tmp_path / "phase_diagram.npz") as data:
        assert data["candidate_names"].tolist() == ["feature_1_only", "feature_2_only",
                                                    "superposition"]
        assert data["candidate_loss"].shape == (3, 7, 7)
        assert data["phase"].shape == (7, 7)
        points = data["trained_importance_ratio"].shape
        for key in ("trained_sparsity", "trained_phase", "predicted_phase"):
            assert data[key].shape == points
        recorded = json.loads(str(data["config"]))  # the file records its settings
        assert (recorded["grid_size"], recorded["steps"], recorded["seeds"]) == (7, 100, [0])
    assert main(["phase-diagram", "--grid-size", "1", "--out", str(tmp_path)]) == 2
    explicit = tmp_path / "elsewhere" / "diagram.npz"
    assert main(["-q", "phase-diagram", "--grid-size", "3", "--steps", "20", "--seeds", "0",
                 "--phase-diagram", str(explicit)]) == 0
    assert explicit.is_file()


@pytest.mark.slow
def test_trains_on_a_generated_dataset(tmp_path):
    assert main(["-q", "generate", "--mode", "distribution", "--size", "20000", "--dim", "8",
                 "--seed", "0", "--outdir", str(tmp_path / "data")]) == 0
    features = tmp_path / "data" / "percolation_dataset_size20000_dim8_seed0_gt_features.npz"
    out = tmp_path / "run"
    assert main(["-q", "train-toy", "--percolation-features", str(features),
                 "--n-features", "30", "--n-hidden", "6", "--steps", "1000", "--seeds", "0,1",
                 "--eval-batch-size", "20000", "--out", str(out)]) == 0
    with np.load(out / "measurements.npz") as arrays:
        depth = arrays["feature_depth"]
        assert depth[0] == 0 and np.all(depth >= 0)  # column 0: the largest cluster's root
        matrix = sparse.load_npz(features)
        frequency = np.asarray((matrix[:, :30] != 0).mean(axis=0)).ravel()
        np.testing.assert_allclose(arrays["feature_frequency"], frequency)
        assert np.all(np.isfinite(arrays["eval_loss"]))
        assert arrays["represented"].sum() > 0
