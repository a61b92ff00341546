"""The real workflow, run end to end on the tiny test config in a temporary folder: every output
exists where docs/workflow.md says, with the contents the file-format contract promises."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import snakemake
from scipy import sparse

from percolation_tms.figures.registry import FIGURES

pytestmark = pytest.mark.slow


def tiny_config(workdir) -> dict:
    return yaml.safe_load((workdir / "config.yaml").read_text())


def datasets(config):
    return [(group["mode"], size, dim, seed)
            for group in config["percolation"]["datasets"]
            for size in group["sizes"] for dim in group["dims"] for seed in group["seeds"]]


def test_dataset_files_load_with_the_users_snippet(tiny_run):
    for mode, size, dim, seed in datasets(tiny_config(tiny_run)):
        stem = tiny_run / f"results/datasets/{mode}/percolation_dataset_size{size}_dim{dim}_seed{seed}"
        # spec section 7: the loader users already run
        res = np.load(f"{stem}.npz")
        X, y = res["X"], res["y"]
        features = sparse.load_npz(f"{stem}_gt_features.npz")
        assert X.shape == (size, dim) and X.dtype == np.float64
        assert y.shape == (size,)
        for key in ("cluster_id", "cluster_size", "latent_tree_height"):
            assert res[key].shape == (size,)
        graph = np.load(f"{stem}_graph.npz")
        n_clusters = graph["cluster_sizes"].shape[0]
        assert features.shape == (size, size - n_clusters)  # every latent is a column
        assert str(graph["mode"]) == mode and int(graph["seed"]) == seed
        metadata = np.load(f"{stem}_gt_metadata.npz")
        np.testing.assert_array_equal(metadata["cluster_size"], res["cluster_size"])


def test_statistics_tables_have_a_row_per_dataset_and_per_setting(tiny_run):
    config = tiny_config(tiny_run)
    expected = sorted(datasets(config))
    summary = pd.read_csv(tiny_run / "results/statistics/summary.csv")
    rows = sorted(summary[["mode", "size", "dim", "seed"]].itertuples(index=False, name=None))
    assert rows == expected
    assert (summary["knn_k"] == config["percolation"]["statistics"]["knn_k"]).all()
    by_setting = pd.read_csv(tiny_run / "results/statistics/by_setting.csv")
    for group in config["percolation"]["datasets"]:
        row = by_setting[(by_setting["mode"] == group["mode"])
                         & (by_setting["size"] == group["sizes"][0])
                         & (by_setting["dim"] == group["dims"][0])]
        assert len(row) == 1 and int(row["n_seeds"].iloc[0]) == len(group["seeds"])
    distribution = summary[summary["mode"] == "distribution"]
    assert (distribution["n_clusters"] > 1).all()
    assert (summary[summary["mode"] == "one_cluster"]["n_clusters"] == 1).all()


def test_toy_models_hold_one_instance_per_sparsity_and_seed(tiny_run):
    synthetic = tiny_config(tiny_run)["toy_models"]["synthetic"]
    n_instances = len(synthetic["sparsities"]) * len(synthetic["seeds"])
    for model in synthetic["models"]:
        run = tiny_run / f"results/toymodels/synthetic/{model}"
        weights = np.load(run / "weights.npz")
        assert weights["W"].shape == (n_instances, synthetic["n_hidden"], synthetic["n_features"])
        assert sorted(set(weights["sparsity"].tolist())) == sorted(synthetic["sparsities"])
        measurements = np.load(run / "measurements.npz")
        assert measurements["eval_loss"].shape == (n_instances,)
        assert np.isfinite(measurements["eval_loss"]).all()
        metrics = pd.read_csv(run / "metrics.csv")
        assert set(metrics["model"]) == {model}
        saved = json.loads((run / "config.json").read_text())
        assert saved["steps"] == synthetic["steps"]


def test_toy_model_on_percolation_features(tiny_run):
    toy = tiny_config(tiny_run)["toy_models"]["percolation"]
    d = toy["dataset"]
    for model in toy["models"]:
        run = (tiny_run / "results/toymodels/percolation" / d["mode"]
               / f"size{d['size']}_dim{d['dim']}_seed{d['seed']}" / model)
        measurements = np.load(run / "measurements.npz")
        assert measurements["feature_column"].shape == (toy["n_features"],)
        assert measurements["represented"].shape == (len(toy["seeds"]), toy["n_features"])


def test_sparse_autoencoders_one_row_per_sweep_point(tiny_run):
    sae = tiny_config(tiny_run)["sae"]
    d = sae["percolation"]["dataset"]
    folder = (tiny_run / "results/sae/percolation" / d["mode"]
              / f"size{d['size']}_dim{d['dim']}_seed{d['seed']}")
    for kind in sae["percolation"]["kinds"]:
        swept = sae["percolation"]["k" if kind == "topk" else "l1"]
        metrics = pd.read_csv(folder / kind / "metrics.csv")
        assert len(metrics) == len(sae["percolation"]["dict_ratios"]) * len(swept)
        assert set(metrics["kind"]) == {kind}
        assert (metrics["n_scored_features"] <= sae["percolation"]["max_features"]).all()
        recovery = pd.read_csv(folder / kind / "recovery.csv")
        assert recovery["pearson"].between(-1, 1).all()
    for kind in sae["synthetic"]["kinds"]:
        metrics = pd.read_csv(tiny_run / "results/sae/synthetic" / kind / "metrics.csv")
        assert sorted(metrics["dict_ratio"]) == sorted(sae["synthetic"]["dict_ratios"])
        assert metrics["mmcs"].between(0, 1).all()


def test_phase_diagram(tiny_run):
    data = np.load(tiny_run / "results/toymodels/phase_diagram/phase_diagram.npz")
    assert data["phase"].shape == (data["importance_ratio"].shape[0], data["sparsity"].shape[0])


def test_every_figure_is_drawn_as_png_and_pdf(tiny_run):
    config = tiny_config(tiny_run)
    settings = {(mode, size, dim) for mode, size, dim, _ in datasets(config)}
    figures = tiny_run / "results/figures"
    # every figure of the registry: per dataset setting, or once per run
    expected = [figures / figure.folder / mode / f"size{size}_dim{dim}" / name
                for name, figure in FIGURES.items() if figure.per_setting
                for mode, size, dim in settings]
    expected += [figures / figure.folder / name
                 for name, figure in FIGURES.items() if not figure.per_setting]
    assert len(expected) >= 30
    for stem in expected:
        png = stem.with_suffix(".png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        assert stem.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert sorted(figures.rglob("*.png")) == sorted(s.with_suffix(".png") for s in expected)


def test_logs_and_benchmarks_live_under_results(tiny_run):
    assert not (tiny_run / "logs").exists() and not (tiny_run / "benchmarks").exists()
    logs = list((tiny_run / "results/logs").rglob("*.log"))
    benchmarks = list((tiny_run / "results/benchmarks").rglob("*.tsv"))
    n_jobs = len(benchmarks)
    assert n_jobs > 0 and len(logs) == n_jobs
    for tsv in benchmarks:
        assert len(pd.read_csv(tsv, sep="\t")["s"]) == 1


def test_a_second_run_does_nothing(tiny_run):
    result = snakemake(tiny_run, "--cores", "2")
    assert "Nothing to be done" in result.stdout + result.stderr
