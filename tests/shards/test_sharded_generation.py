"""Sharded generation equals unsharded generation, and a bad set of shards is refused."""

import json
import shutil

import numpy as np
import pytest

from percolation_tms.cli import main
from percolation_tms.dataset import generate, load_dataset
from percolation_tms.shards import build_shard, export_shards, plan_shards, write_plan
from percolation_tms.shards.manifest import shard_boundaries


def make_shards(folder, n_shards, mode="distribution", size=6000, dim=8, seed=11,
                dtype="float64"):
    manifest, plan = plan_shards(mode, size, dim, seed, n_shards, dtype=dtype)
    path = write_plan(folder, manifest, plan)
    for k in range(n_shards):
        build_shard(path, k)
    return path, manifest


@pytest.mark.parametrize("size,n_shards", [(6000, 1), (6000, 3), (6000, 7), (6000, 300),
                                           (500, 400)])
def test_union_of_shards_is_bit_identical_to_the_unsharded_dataset(tmp_path, size, n_shards):
    """Includes K far above the number of large clusters (one-cluster shards) and K above the
    number of clusters (empty shards)."""
    path, manifest = make_shards(tmp_path / "shards", n_shards, size=size)
    if n_shards == 400:
        assert manifest.n_clusters < 400
        assert any(s.cluster_start == s.cluster_stop for s in manifest.shards)
    assert manifest.shards[0].cluster_stop - manifest.shards[0].cluster_start >= 1
    paths = export_shards(path, tmp_path / "merged")
    merged = load_dataset(paths.main, need_graph=True)
    whole = generate("distribution", size, 8, 11)
    np.testing.assert_array_equal(merged.X, whole.X)
    np.testing.assert_array_equal(merged.y, whole.y)
    assert (merged.features != whole.features).nnz == 0
    np.testing.assert_array_equal(merged.features.indices, whole.features.indices)
    for key in ("latent_parent", "depth", "edges", "cluster_ids", "cluster_sizes"):
        np.testing.assert_array_equal(getattr(merged.graph, key), getattr(whole.graph, key))
    np.testing.assert_array_equal(merged.metadata.cluster_id, whole.metadata.cluster_id)


def test_sharded_one_cluster_float32_with_feature_options(tmp_path):
    path, _ = make_shards(tmp_path, 4, mode="one_cluster", size=800, dtype="float32")
    paths = export_shards(path, tmp_path / "out", n_features=50, binary=True)
    merged = load_dataset(paths.main)
    whole = generate("one_cluster", 800, 8, 11, dtype="float32", n_features=50, binary=True)
    np.testing.assert_array_equal(merged.X, whole.X)
    assert merged.X.dtype == np.float32
    assert (merged.features != whole.features).nnz == 0


def test_shard_boundaries_balance_points_and_never_split_clusters():
    sizes = np.array([50, 20, 10, 5, 5, 3, 3, 2, 1, 1])
    bounds = shard_boundaries(sizes, 4)
    assert bounds[0] == 0 and bounds[-1] == sizes.size
    assert np.all(np.diff(bounds) >= 0)
    # point offsets 0, 50, 70, 80, ...: targets 25 and 50 fall in cluster 0, 75 before cluster 3
    assert bounds.tolist() == [0, 1, 1, 3, 10]


def test_missing_shard_is_named(tmp_path):
    path, manifest = make_shards(tmp_path, 3)
    (tmp_path / manifest.shards[1].file).unlink()
    with pytest.raises(ValueError, match="shard 1 of 3 is missing"):
        export_shards(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_shard_from_another_dataset_is_refused(tmp_path):
    path, manifest = make_shards(tmp_path / "a", 3)
    make_shards(tmp_path / "b", 3, seed=12)
    shutil.copy(tmp_path / "b" / manifest.shards[2].file, tmp_path / "a" / manifest.shards[2].file)
    with pytest.raises(ValueError, match="does not match the manifest.*seed"):
        export_shards(path, tmp_path / "out")


def test_truncated_or_foreign_manifest_is_refused(tmp_path):
    path, _ = make_shards(tmp_path, 2)
    data = json.loads(path.read_text())
    data["format"] = "something else"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format"):
        export_shards(path, tmp_path / "out")
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a shard manifest"):
        export_shards(path, tmp_path / "out")


def test_shard_commands(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["-q", "plan-shards", "--mode", "distribution", "--size", "3000", "--dim", "4",
                 "--seed", "2", "--shards", "3", "--outdir", str(out)]) == 0
    for k in range(3):
        assert main(["-q", "generate-shard", "--manifest", str(out / "manifest.json"),
                     "--shard", str(k)]) == 0
    assert main(["-q", "generate-shard", "--manifest", str(out / "manifest.json"),
                 "--shard", "3"]) == 2
    assert "shard must lie in [0, 3)" in capsys.readouterr().err
    assert main(["-q", "merge-shards", "--manifest", str(out / "manifest.json"),
                 "--outdir", str(tmp_path / "ds")]) == 0
    merged = np.load(tmp_path / "ds" / "percolation_dataset_size3000_dim4_seed2.npz")
    np.testing.assert_array_equal(merged["X"], generate("distribution", 3000, 4, 2).X)
    assert main(["-q", "plan-shards", "--mode", "distribution", "--size", "30", "--dim", "4",
                 "--seed", "2", "--shards", "0", "--outdir", str(out)]) == 2
    assert "shards must be >= 1" in capsys.readouterr().err


def test_export_command_takes_a_manifest(tmp_path, capsys):
    path, _ = make_shards(tmp_path / "s", 2, size=1500)
    assert main(["-q", "export", "--manifest", str(path), "--outdir", str(tmp_path / "ds")]) == 0
    merged = np.load(tmp_path / "ds" / "percolation_dataset_size1500_dim8_seed11.npz")
    np.testing.assert_array_equal(merged["X"], generate("distribution", 1500, 8, 11).X)
    assert main(["-q", "export", "--manifest", str(path), "--graph", "g.npz",
                 "--outdir", str(tmp_path / "x")]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["-q", "export", "--graph", "g.npz", "--outdir", str(tmp_path / "x")]) == 2
    assert "needs --graph, --embedding and --values" in capsys.readouterr().err


@pytest.mark.parametrize("n_shards", [1, 5])
def test_nested_shards_are_bit_identical_to_the_unsharded_nested_dataset(tmp_path, n_shards):
    manifest, plan = plan_shards("distribution", 4000, 8, 5, n_shards, nested=True)
    assert manifest.nested
    path = write_plan(tmp_path / "shards", manifest, plan)
    for k in range(n_shards):
        build_shard(path, k)
    merged = load_dataset(export_shards(path, tmp_path / "merged").main, need_graph=True)
    whole = generate("distribution", 4000, 8, 5, nested=True)
    np.testing.assert_array_equal(merged.X, whole.X)
    np.testing.assert_array_equal(merged.y, whole.y)
    assert (merged.features != whole.features).nnz == 0
    for key in ("latent_parent", "depth", "edges", "node_key"):
        np.testing.assert_array_equal(getattr(merged.graph, key), getattr(whole.graph, key))
