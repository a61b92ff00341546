"""describe and aggregate: the columns and arrays the figures and the report read."""

import numpy as np
import pandas as pd
import pytest

from percolation_tms.cli import main
from percolation_tms.dataset import generate, save_dataset
from percolation_tms.stats import measures
from percolation_tms.stats.describe import aggregate, describe

SUMMARY_COLUMNS = ["mode", "size", "dim", "seed", "n_clusters", "n_latents", "largest_cluster",
                   "exponent", "exponent_sigma", "exponent_n_tail", "degree_kl", "y_mean",
                   "y_std", "x_var_mean", "x_var_rel_std", "x_mean_abs_mean", "mse_mean",
                   "mse_ridge", "mse_knn", "knn_k", "mean_tree_height", "max_tree_height"]


@pytest.fixture(scope="module")
def described(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stats")
    rows = []
    for seed in (0, 1):
        paths = save_dataset(generate("distribution", 8000, 16, seed), folder)
        summary, arrays = folder / f"s{seed}.csv", folder / f"a{seed}.npz"
        assert main(["-q", "describe", "--dataset", str(paths.main), "--out-summary",
                     str(summary), "--out-arrays", str(arrays), "--knn-min-cluster", "100"]) == 0
        rows.append((summary, arrays))
    return rows


def test_summary_row_and_arrays(described):
    summary, arrays = described[0]
    row = pd.read_csv(summary)
    assert len(row) == 1 and set(SUMMARY_COLUMNS) <= set(row.columns)
    ds = generate("distribution", 8000, 16, 0)
    assert row.loc[0, "n_clusters"] == ds.graph.n_clusters
    assert row.loc[0, "largest_cluster"] == ds.graph.cluster_sizes[0]
    alpha = measures.size_exponent(ds.graph.cluster_sizes)[0]
    assert row.loc[0, "exponent"] == pytest.approx(alpha)
    data = np.load(arrays)
    np.testing.assert_array_equal(data["cluster_sizes"], ds.graph.cluster_sizes)
    assert data["degree_counts"].sum() == (ds.metadata.cluster_size >= 100).sum()
    assert data["height_counts"].sum() == 8000
    assert data["pca_xy"].shape == (5000, 2)
    assert data["feature_frequency"].sum() == ds.features.nnz
    assert np.all(np.diff(data["feature_frequency"]) <= 0)
    assert data["baseline_names"].tolist() == ["mean", "ridge", "knn"]
    assert np.all(np.diff(data["knn_train_sizes"]) > 0)
    # PCA ranks: cluster rank 0 is the largest cluster.
    ranks = measures.cluster_ranks(ds.metadata.cluster_id)
    assert ranks[0] == 0 and ranks[-1] == ds.graph.n_clusters - 1


def test_seeds_of_one_size_share_height_bins(described):
    a, b = (np.load(arrays) for _, arrays in described)
    np.testing.assert_array_equal(a["height_size_bins"], b["height_size_bins"])


def test_aggregate_means_and_spreads(described, tmp_path):
    summaries = [str(s) for s, _ in described]
    assert main(["-q", "aggregate", "--summaries", *summaries, "--out", str(tmp_path / "all.csv"),
                 "--out-by-setting", str(tmp_path / "by.csv")]) == 0
    rows, by_setting = pd.read_csv(tmp_path / "all.csv"), pd.read_csv(tmp_path / "by.csv")
    assert len(rows) == 2 and len(by_setting) == 1
    assert by_setting.loc[0, "n_seeds"] == 2
    assert by_setting.loc[0, "exponent_mean"] == pytest.approx(rows["exponent"].mean())
    assert by_setting.loc[0, "y_std_std"] == pytest.approx(rows["y_std"].std())


def test_aggregate_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        aggregate([])
    (tmp_path / "bad.csv").write_text("")
    with pytest.raises(ValueError, match="not a readable CSV"):
        aggregate([tmp_path / "bad.csv"])


def test_describe_needs_the_graph_file(tmp_path):
    paths = save_dataset(generate("distribution", 300, 4, 0), tmp_path)
    paths.graph.unlink()
    with pytest.raises(ValueError, match="graph file"):
        describe(paths.main)


def test_knn_matches_a_brute_force_loop():
    rng = np.random.default_rng(0)
    X, Q = rng.normal(size=(60, 3)), rng.normal(size=(7, 3))
    nb = measures.nearest_neighbours(Q, X, 4)
    for q, row in zip(Q, nb):
        d = ((X - q) ** 2).sum(axis=1)
        assert row.tolist() == np.argsort(d, kind="stable")[:4].tolist()
    self_nb = measures.nearest_neighbours(X, X, 1, exclude_self=True)[:, 0]
    assert np.all(self_nb != np.arange(60))


def test_knn_baseline_queries_at_most_the_cap(tmp_path, monkeypatch):
    # With the cap below the held-out count, the k-NN baseline runs on a seeded subset of
    # exactly that many test points, the same on every run, and its MSE stays close to the
    # uncapped one (a subset of the same held-out points).
    from percolation_tms.stats import describe as describe_module

    paths = save_dataset(generate("one_cluster", 4000, 8, 3), tmp_path)
    uncapped = describe(paths.main, knn_min_cluster=100)[0]["mse_knn"]
    queries = []
    real_mse_knn = measures.mse_knn

    def recording(X_train, y_train, X_test, y_test, k=5):
        queries.append(X_test.shape[0])
        return real_mse_knn(X_train, y_train, X_test, y_test, k)

    monkeypatch.setattr(describe_module, "KNN_MAX_TEST", 150)
    monkeypatch.setattr(measures, "mse_knn", recording)
    capped = [describe(paths.main, knn_min_cluster=100)[0]["mse_knn"] for _ in range(2)]
    runs_first_call = (0, len(queries) // 2)  # the baseline; the scaling curve's calls follow
    assert [queries[i] for i in runs_first_call] == [150, 150]
    assert capped[0] == capped[1]
    assert capped[0] == pytest.approx(uncapped, rel=0.3)
