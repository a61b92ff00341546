"""generate --nested and map-nested from the command line (the README's example)."""

import numpy as np

from percolation_tms.cli import main
from percolation_tms.dataset import generate


def test_generate_nested_and_map_small_onto_large(tmp_path, capsys):
    for size, folder in ((500, "small"), (5000, "large")):
        assert main(["-q", "generate", "--mode", "distribution", "--size", str(size), "--dim",
                     "8", "--seed", "3", "--nested", "--outdir", str(tmp_path / folder)]) == 0
    small = tmp_path / "small" / "percolation_dataset_size500_dim8_seed3.npz"
    large = tmp_path / "large" / "percolation_dataset_size5000_dim8_seed3.npz"
    graph = np.load(str(large).replace(".npz", "_graph.npz"))
    n_nodes = 2 * 5000 - graph["cluster_sizes"].shape[0]
    assert graph["node_key"].dtype == np.uint64 and graph["node_key"].shape == (n_nodes,)
    assert main(["-q", "map-nested", "--small", str(small), "--large", str(large), "--out",
                 str(tmp_path / "map.npz")]) == 0
    mapping = np.load(tmp_path / "map.npz")
    a, b = np.load(small), np.load(large)
    rows = mapping["point_to_large"][mapping["persists"]]
    np.testing.assert_array_equal(a["y"][mapping["persists"]], b["y"][rows])
    np.testing.assert_array_equal(a["cluster_id"][mapping["persists"]], b["cluster_id"][rows])
    # Every point of the large dataset refines a point of the small one of the same cluster,
    # or lies in a cluster the small dataset does not have.
    owner = mapping["large_to_small"]
    assert set(owner[owner >= 0].tolist()) == set(range(500))
    np.testing.assert_array_equal(a["cluster_id"][owner[owner >= 0]],
                                  b["cluster_id"][owner >= 0])
    assert set(b["cluster_id"][owner < 0].tolist()).isdisjoint(a["cluster_id"].tolist())
    assert np.array_equal(generate("distribution", 500, 8, 3, nested=True).X, a["X"])
    # Swapped files, and a default-mode dataset, are refused with exit status 2.
    assert main(["-q", "map-nested", "--small", str(large), "--large", str(small), "--out",
                 str(tmp_path / "bad.npz")]) == 2
    assert "swap them" in capsys.readouterr().err
    assert not (tmp_path / "bad.npz").exists()


def test_filter_keeps_the_node_keys_of_the_kept_clusters(tmp_path):
    from percolation_tms.dataset import filter_dataset, load_dataset, save_dataset

    ds = generate("distribution", 3000, 4, 1, nested=True)
    paths = save_dataset(ds, tmp_path)
    kept = load_dataset(filter_dataset(paths.main, min_size=5).main, need_graph=True).graph
    keep = ds.metadata.cluster_size >= 5
    keep_latent = np.repeat(ds.graph.cluster_sizes >= 5, ds.graph.cluster_sizes - 1)
    np.testing.assert_array_equal(kept.node_key, ds.graph.node_key[np.concatenate([keep,
                                                                                   keep_latent])])


def test_stage_commands_and_shards_take_nested(tmp_path):
    import json

    assert main(["-q", "generate-graph", "--mode", "one_cluster", "--size", "300", "--seed",
                 "2", "--nested", "--out", str(tmp_path / "graph.npz")]) == 0
    assert "node_key" in np.load(tmp_path / "graph.npz").files
    assert main(["-q", "embed", "--graph", str(tmp_path / "graph.npz"), "--dim", "4", "--out",
                 str(tmp_path / "X.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy"),
                                  generate("one_cluster", 300, 4, 2, nested=True).X)
    assert main(["-q", "plan-shards", "--mode", "distribution", "--size", "500", "--dim", "4",
                 "--seed", "2", "--shards", "2", "--nested", "--outdir",
                 str(tmp_path / "plan")]) == 0
    assert json.loads((tmp_path / "plan" / "manifest.json").read_text())["nested"] is True
