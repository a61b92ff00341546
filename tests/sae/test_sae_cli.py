"""The train-sae and sae-synthetic commands end to end on a small generated dataset."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from percolation_tms.cli import main
from percolation_tms.sae import encode
from percolation_tms.sae.outputs import load_weights, read_config

POINT = ["point", "kind", "dict_ratio", "n_latents", "l1", "k", "l0_coefficient"]
METRICS = POINT + ["seed", "epochs", "batch_size", "lr", "standardize", "final_loss", "mse",
                   "fvu", "mean_l0", "dead_fraction", "explained_variance",
                   "n_scored_features", "mean_pearson", "mean_f1", "mean_f1_max",
                   "mean_absorption"]
RECOVERY = POINT + ["feature", "depth", "n_points", "best_latent", "pearson", "f1", "f1_latent",
                    "f1_max"]
SUMMARY = POINT + ["group", "bin_low", "bin_high", "size_band", "size_low", "size_high",
                   "n_features", "mean_pearson", "mean_f1", "mean_f1_max"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    assert main(["-q", "generate", "--mode", "distribution", "--size", "3000", "--dim", "16",
                 "--seed", "0", "--outdir", str(out)]) == 0
    return out / "percolation_dataset_size3000_dim16_seed0.npz"


def train(dataset, out, *extra):
    return main(["-q", "train-sae", "--dataset", str(dataset), "--epochs", "2", "--out",
                 str(out), *extra])


def test_train_sae_writes_the_documented_files(dataset, tmp_path):
    assert train(dataset, tmp_path / "a", "--kind", "relu", "--l1", "1,3",
                 "--dict-ratios", "2,4") == 0
    metrics = pd.read_csv(tmp_path / "a" / "metrics.csv")
    assert list(metrics.columns) == METRICS
    assert list(zip(metrics["dict_ratio"], metrics["l1"], metrics["n_latents"])) == [
        (2, 1, 32), (2, 3, 32), (4, 1, 64), (4, 3, 64)]
    assert (metrics["fvu"].between(0, 1.5)).all() and (metrics["mean_pearson"] > 0).all()
    # More L1 pressure, fewer active latents.
    assert metrics["mean_l0"][1] < metrics["mean_l0"][0]

    features = sparse.load_npz(str(dataset).replace(".npz", "_gt_features.npz"))
    depth = np.load(str(dataset).replace(".npz", "_graph.npz"))["depth"][3000:]
    recovery = pd.read_csv(tmp_path / "a" / "recovery.csv")
    assert list(recovery.columns) == RECOVERY
    assert len(recovery) == 4 * features.shape[1]  # every feature, at every sweep point
    first = recovery[recovery["point"] == 0]
    np.testing.assert_array_equal(first["feature"], np.arange(features.shape[1]))
    np.testing.assert_array_equal(first["n_points"], np.diff(features.tocsc().indptr))
    np.testing.assert_array_equal(first["depth"], depth)
    for name in ("recovery_by_depth.csv", "recovery_by_frequency.csv"):
        table = pd.read_csv(tmp_path / "a" / name)
        assert list(table.columns) == SUMMARY
        # Every feature once among the rows over all sizes, and once among the size bands.
        for part in (table[table["size_band"] == "all"], table[table["size_band"] != "all"]):
            if len(part):
                assert part.groupby("point")["n_features"].sum().tolist() == (
                    [features.shape[1]] * 4)

    configs, info = read_config(tmp_path / "a" / "config.json")
    assert [c.l1 for c in configs] == [1, 3, 1, 3] and info["scoring"]["min_feature_points"] == 1
    saes = load_weights(tmp_path / "a" / "weights.npz")
    assert [sae.W_dec.shape for sae in saes] == [(16, 32), (16, 32), (16, 64), (16, 64)]
    np.testing.assert_allclose(np.linalg.norm(saes[3].W_dec, axis=0), 1.0)
    X = np.load(dataset)["X"]
    encoding = encode(saes[2], X)
    assert encoding.fvu == pytest.approx(metrics["fvu"][2], rel=1e-12)
    assert encoding.mean_l0 == pytest.approx(metrics["mean_l0"][2], rel=1e-12)

    # Same command, same bytes in every result file; measured times live in timings.json.
    assert train(dataset, tmp_path / "b", "--kind", "relu", "--l1", "1,3",
                 "--dict-ratios", "2,4") == 0
    for name in ("metrics.csv", "weights.npz", "config.json", "recovery.csv",
                 "recovery_by_depth.csv", "recovery_by_frequency.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    timings = json.loads((tmp_path / "a" / "timings.json").read_text())
    assert len(timings["train_seconds"]) == 4 and all(t > 0 for t in timings["train_seconds"])


def test_train_sae_scores_the_selected_features(dataset, tmp_path):
    assert train(dataset, tmp_path, "--kind", "topk", "--k", "2", "--dict-ratios", "1",
                 "--min-feature-points", "10", "--max-features", "5",
                 "--feature-order", "frequent") == 0
    recovery = pd.read_csv(tmp_path / "recovery.csv")
    counts = np.diff(sparse.load_npz(str(dataset).replace(".npz", "_gt_features.npz"))
                     .tocsc().indptr)
    assert len(recovery) == 5
    np.testing.assert_array_equal(np.sort(recovery["n_points"])[::-1], np.sort(counts)[::-1][:5])
    assert pd.read_csv(tmp_path / "metrics.csv")["n_scored_features"].tolist() == [5]


def test_sae_synthetic_writes_mean_max_cosine_similarity(tmp_path):
    assert main(["-q", "sae-synthetic", "--n-samples", "3000", "--dim", "8", "--n-features",
                 "12", "--mean-active", "2", "--kind", "topk", "--k", "2",
                 "--dict-ratios", "1,2", "--epochs", "3", "--out", str(tmp_path)]) == 0
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics["n_latents"].tolist() == [8, 16]
    assert metrics["mmcs"].between(0, 1).all()
    recovery = pd.read_csv(tmp_path / "recovery.csv")
    assert {"best_atom", "max_cosine"} <= set(recovery.columns) and len(recovery) == 24
    means = recovery.groupby("point")["max_cosine"].mean().to_numpy()
    np.testing.assert_allclose(means, metrics["mmcs"], rtol=1e-12)
    dictionary = np.load(tmp_path / "dictionary.npz")
    assert dictionary["dictionary"].shape == (12, 8) and dictionary["probability"].shape == (12,)
    _, info = read_config(tmp_path / "config.json")
    assert info["data"]["synthetic"]["n_features"] == 12


@pytest.mark.parametrize("args, message", [
    (["--kind", "relu"], "give --l1"),
    (["--kind", "topk"], "give --k"),
    (["--kind", "topk", "--k", "2", "--l1", "1"], "l1 values apply to kind 'relu'"),
    (["--kind", "relu", "--l1", "1", "--dict-ratios", "0"], "dict_ratio must be"),
    (["--kind", "relu", "--l1", "1", "--min-feature-points", "0"], "min_points must be"),
    (["--kind", "topk", "--k", "40", "--dict-ratios", "2"], "k=40 exceeds the dictionary size"),
])
def test_bad_arguments_exit_2_with_a_message(dataset, tmp_path, capsys, args, message):
    assert train(dataset, tmp_path / "out", *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "metrics.csv").exists()


def test_missing_files_exit_2_naming_the_file(dataset, tmp_path, capsys):
    assert train(tmp_path / "absent.npz", tmp_path / "out", "--kind", "relu", "--l1", "1") == 2
    assert "absent.npz" in capsys.readouterr().err
    # A dataset without its graph file has no depths to score by.
    for name in ("", "_gt_features", "_gt_metadata"):
        shutil.copy(str(dataset).replace(".npz", f"{name}.npz"),
                    tmp_path / f"percolation_dataset_size3000_dim16_seed0{name}.npz")
    copied = tmp_path / "percolation_dataset_size3000_dim16_seed0.npz"
    assert train(copied, tmp_path / "out", "--kind", "relu", "--l1", "1") == 2
    assert "_graph.npz" in capsys.readouterr().err


@pytest.mark.parametrize("kind, sweep", [("matryoshka", ["--k", "2.5"]),
                                         ("jumprelu", ["--l0-coefficient", "0.2"]),
                                         ("topk", ["--k", "3"]), ("relu", ["--l1", "1"])])
def test_architecture_settings_reach_the_config_through_the_options(kind, sweep):
    """config.yaml's sae.architecture -> the options of one kind -> the same SAEConfig."""
    from pathlib import Path

    import yaml

    from percolation_tms import settings
    from percolation_tms.cli import build_parser
    from percolation_tms.sae import SAEConfig
    from percolation_tms.sae.cli import _configs
    from percolation_tms.sae.config import ARCHITECTURE_SETTINGS, architecture_settings

    values = {"aux_coefficient": 0.5, "aux_k": 7, "dead_window": 30, "threshold_lr": 0.2,
              "width_fractions": [0.25, 1.0], "matryoshka_aux": False, "sparsity": "step",
              "tanh_scale": 3.0, "bandwidth": 0.5, "threshold_init": 0.1}
    assert set(values) == set(ARCHITECTURE_SETTINGS)
    chosen = architecture_settings(kind, values)
    args = build_parser().parse_args(["train-sae", "--dataset", "x.npz", "--kind", kind,
                                      *sweep, *settings.to_options(chosen).split()])
    config = _configs(args)[0]
    expected = {name: tuple(v) if isinstance(v, list) else v for name, v in chosen.items()}
    assert {name: getattr(config, name) for name in expected} == expected
    for name in set(ARCHITECTURE_SETTINGS) - set(chosen):  # the others keep their defaults
        assert getattr(config, name) == getattr(SAEConfig(kind=kind, k=config.k, l1=config.l1,
                                                          l0_coefficient=config.l0_coefficient),
                                                name)
    repo = Path(__file__).resolve().parents[2]
    defaults = yaml.safe_load((repo / "config.yaml").read_text())["sae"]["architecture"]
    assert set(defaults) == set(ARCHITECTURE_SETTINGS)
    with pytest.raises(ValueError, match="unknown SAE architecture settings"):
        architecture_settings(kind, {"bandwith": 1.0})


def test_scoring_a_large_sae_logs_its_steps(tmp_path, capsys, monkeypatch):
    """Scoring that takes long (points x latents >= LOG_SCORING_SIZE) says what it is doing;
    a small one stays silent."""
    from percolation_tms import _progress
    from percolation_tms.sae import sweep

    monkeypatch.setattr(_progress, "_quiet", False)
    args = ["sae-synthetic", "--structure", "hierarchical", "--n-samples", "2000",
            "--kind", "topk", "--k", "4", "--dict-ratios", "1", "--epochs", "1"]
    assert main([*args, "--out", str(tmp_path / "small")]) == 0
    assert "encoding 2,000 points" not in capsys.readouterr().err
    monkeypatch.setattr(sweep, "LOG_SCORING_SIZE", 0)
    assert main([*args, "--out", str(tmp_path / "large")]) == 0
    err = capsys.readouterr().err
    for step in ("encoding 2,000 points with 64 latents", "recovery of [0-9]+ features",
                 "absorption in activation space", "ground-truth absorption",
                 r"MCC \(one-to-one matching\) and latent F1"):
        assert re.search(f"{step} done in", err), (step, err)
