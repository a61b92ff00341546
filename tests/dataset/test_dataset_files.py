"""The file contract (spec section 7), seeds (section 6), filtering, and the commands' errors."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import sparse

from percolation_tms.cli import main
from percolation_tms.dataset import filter_dataset, generate, load_dataset, save_dataset
from percolation_tms.percolation import load_graph


def run_cli(*args):
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    assert run_cli("-q", "generate", "--mode", "distribution", "--size", 5000, "--dim", 16,
                   "--seed", 7, "--outdir", out) == 0
    return out


def test_loader_snippet_of_the_spec_works_unchanged(written, monkeypatch):
    monkeypatch.chdir(written)
    res = np.load("percolation_dataset_size5000_dim16_seed7.npz")
    X, y = res["X"], res["y"]
    features = sparse.load_npz("percolation_dataset_size5000_dim16_seed7_gt_features.npz")
    assert X.shape == (5000, 16) and X.dtype == np.float64 and y.shape == (5000,)
    assert features.shape[0] == 5000 and sparse.issparse(features)
    assert set(res.files) == {"X", "y", "cluster_id", "cluster_size", "latent_tree_height"}
    meta = np.load("percolation_dataset_size5000_dim16_seed7_gt_metadata.npz")
    assert set(meta.files) == {"cluster_id", "cluster_size", "latent_tree_height"}
    # The files equal the in-memory generation with the same seed.
    ds = generate("distribution", 5000, 16, 7)
    np.testing.assert_array_equal(X, ds.X)
    np.testing.assert_array_equal(y, ds.y)
    assert (features != ds.features).nnz == 0


def test_graph_file_rebuilds_clusters_and_hierarchy(written):
    main_file = written / "percolation_dataset_size5000_dim16_seed7.npz"
    data = load_dataset(main_file, need_graph=True)
    graph = data.graph
    raw = np.load(written / "percolation_dataset_size5000_dim16_seed7_graph.npz")
    assert raw["edges"].dtype == np.int64 and raw["edges"].shape == (graph.n_latents, 2)
    assert raw["latent_parent"].shape == (5000 + graph.n_latents,)
    n = 5000
    # Clusters = connected components of the edges; they match the metadata's cluster ids.
    adjacency = sparse.coo_matrix((np.ones(graph.n_latents), (graph.edges[:, 0],
                                                              graph.edges[:, 1])),
                                  shape=(n, n))
    n_components, component = sparse.csgraph.connected_components(adjacency, directed=False)
    assert n_components == graph.n_clusters
    cluster_id = data.metadata.cluster_id
    assert all(len(set(component[cluster_id == c])) == 1 for c in np.unique(cluster_id)[:50])
    # Hierarchy: the ancestors of each point are exactly its feature columns, depth its height.
    for p in range(0, n, 97):
        ancestors, node = [], graph.latent_parent[p]
        while node >= 0:
            ancestors.append(node - n)
            node = graph.latent_parent[node]
        assert sorted(ancestors) == data.features.getrow(p).indices.tolist()
        assert graph.depth[p] == len(ancestors) == data.metadata.latent_tree_height[p]


def test_seed_streams_are_independent():
    base = generate("distribution", 3000, 8, 1)
    other_value = generate("distribution", 3000, 8, 1, value_seed=555)
    np.testing.assert_array_equal(base.X, other_value.X)
    np.testing.assert_array_equal(base.graph.edges, other_value.graph.edges)
    assert not np.array_equal(base.y, other_value.y)
    assert np.array_equal(base.features.indices, other_value.features.indices)
    assert not np.array_equal(base.features.data, other_value.features.data)
    other_embed = generate("distribution", 3000, 8, 1, embed_seed=556)
    assert not np.array_equal(base.X, other_embed.X)
    np.testing.assert_array_equal(base.y, other_embed.y)
    assert (base.features != other_embed.features).nnz == 0
    other_graph = generate("distribution", 3000, 8, 1, graph_seed=557)
    assert not np.array_equal(base.graph.cluster_sizes, other_graph.graph.cluster_sizes)
    # Dataset seed S means graph S, embed S + 10000, value S + 20000.
    explicit = generate("distribution", 3000, 8, 2, graph_seed=1, embed_seed=10001,
                        value_seed=20001)
    np.testing.assert_array_equal(base.X, explicit.X)
    np.testing.assert_array_equal(base.y, explicit.y)


def test_float32_is_the_float64_embedding_at_single_precision():
    x64 = generate("distribution", 3000, 8, 4).X
    x32 = generate("distribution", 3000, 8, 4, dtype="float32").X
    assert x32.dtype == np.float32
    np.testing.assert_allclose(x32, x64, rtol=1e-5, atol=1e-5)


def test_binary_and_truncated_features(tmp_path):
    assert run_cli("-q", "generate", "--mode", "one_cluster", "--size", 300, "--dim", 4,
                   "--seed", 0, "--binary", "--n-features", 10, "--outdir", tmp_path) == 0
    f = sparse.load_npz(tmp_path / "percolation_dataset_size300_dim4_seed0_gt_features.npz")
    assert f.shape == (300, 10) and np.all(f.data == 1)
    # One cluster: the root (column 0) covers every point.
    assert np.all(f[:, 0].toarray() == 1)


def test_filter_keeps_rows_aligned_and_drops_empty_columns(written):
    main_file = written / "percolation_dataset_size5000_dim16_seed7.npz"
    full = load_dataset(main_file, need_graph=True)
    paths = filter_dataset(main_file, min_size=5, max_size=200)
    assert paths.main.name == "percolation_dataset_size5000_dim16_seed7_minsize5_maxsize200.npz"
    kept = load_dataset(paths.main, need_graph=True)
    sizes = full.metadata.cluster_size
    rows = np.flatnonzero((sizes >= 5) & (sizes <= 200))
    np.testing.assert_array_equal(kept.X, full.X[rows])
    np.testing.assert_array_equal(kept.y, full.y[rows])
    np.testing.assert_array_equal(kept.metadata.cluster_id, full.metadata.cluster_id[rows])
    assert kept.features.shape[0] == rows.size
    assert np.all(np.bincount(kept.features.indices, minlength=kept.features.shape[1]) > 0)
    # Same values per row, in the same order, after renumbering columns.
    np.testing.assert_array_equal(kept.features.data, full.features[rows].data)
    # The filtered graph still describes the kept points: depths = feature counts.
    assert np.all(np.diff(kept.features.indptr) == kept.graph.depth[: rows.size])
    assert kept.graph.n_latents == kept.features.shape[1]


@pytest.mark.parametrize("args,message", [
    (["--mode", "nope"], "invalid choice"),
    (["--mode", "custom"], "create_prob is required"),
    (["--mode", "custom", "--create-prob", "1.5"], "create_prob must lie in"),
    (["--mode", "distribution", "--create-prob", "0.3"], "only accepted in custom"),
    (["--mode", "distribution", "--size", "0"], "size must be >= 1"),
    (["--mode", "distribution", "--dim", "0"], "dim must be >= 1"),
    (["--mode", "distribution", "--n-features", "0"], "n_features must be >= 1"),
    (["--mode", "distribution", "--n-features", "100000"], "n_features must lie in"),
])
def test_generate_rejects_bad_arguments_and_writes_nothing(tmp_path, args, message):
    defaults = {"--size": "50", "--dim": "3", "--seed": "0"}
    for key, value in defaults.items():
        if key not in args:
            args = args + [key, value]
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "percolation_tms", "-q", "generate", *args,
                             "--outdir", str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_filter_rejects_missing_or_mismatched_files(written, tmp_path, capsys):
    assert run_cli("filter", "--dataset", tmp_path / "nothing.npz", "--min-size", 2) == 2
    assert "does not exist" in capsys.readouterr().err
    # A main file whose features file belongs to another dataset.
    ds = generate("distribution", 100, 3, 0)
    save_dataset(ds, tmp_path)
    other = generate("distribution", 120, 3, 0)
    sparse.save_npz(tmp_path / "percolation_dataset_size100_dim3_seed0_gt_features.npz",
                    other.features)
    assert run_cli("filter", "--dataset", tmp_path / "percolation_dataset_size100_dim3_seed0.npz",
                   "--min-size", 2) == 2
    assert "do not belong together" in capsys.readouterr().err
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    assert run_cli("filter", "--dataset", tmp_path / "broken.npz", "--max-size", 5) == 2
    assert "not a readable .npz" in capsys.readouterr().err
    assert run_cli("filter", "--dataset", written / "percolation_dataset_size5000_dim16_seed7.npz",
                   "--min-size", 9, "--max-size", 3) == 2
    assert "must not exceed" in capsys.readouterr().err
    assert not list(tmp_path.glob("*minsize*"))


def test_stage_commands_compose_to_the_same_dataset(tmp_path, written):
    graph = tmp_path / "graph.npz"
    assert run_cli("-q", "generate-graph", "--mode", "distribution", "--size", 5000,
                   "--seed", 7, "--out", graph) == 0
    assert run_cli("-q", "embed", "--graph", graph, "--dim", 16, "--out", tmp_path / "X.npy") == 0
    assert run_cli("-q", "label", "--graph", graph, "--out", tmp_path / "values.npz") == 0
    assert run_cli("-q", "export", "--graph", graph, "--embedding", tmp_path / "X.npy",
                   "--values", tmp_path / "values.npz", "--outdir", tmp_path / "ds") == 0
    for suffix in ("", "_gt_features", "_gt_metadata", "_graph"):
        name = f"percolation_dataset_size5000_dim16_seed7{suffix}.npz"
        a, b = np.load(tmp_path / "ds" / name), np.load(written / name)
        assert a.files == b.files
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    assert load_graph(graph).n_points == 5000


def test_writes_leave_no_temporary_files(written):
    assert not [p for p in written.iterdir() if p.name.startswith(".")]
