"""Inputs: synthetic feature statistics and percolation feature files (selection, values,
depth, errors)."""

import numpy as np
import pytest
from scipy import sparse

from percolation_tms.io import InputFileError, save_arrays, save_sparse
from percolation_tms.toymodels.data import (
    draw_batch,
    load_percolation_features,
    rows_source,
    synthetic_source,
)


@pytest.mark.parametrize("probability", [0.3, 0.05])  # Bernoulli and skip mode
def test_synthetic_features_have_the_specified_distribution(probability):
    n, batch, steps = 10, 1024, 40
    source = synthetic_source(np.full((1, n), probability))
    X = np.concatenate([draw_batch(source, 0, model_seed=0, step=t, batch_size=batch)
                        for t in range(steps)])
    present = X != 0
    count = present.shape[0]
    # every feature present with probability p: within 5 standard deviations
    sigma = np.sqrt(probability * (1 - probability) / count)
    assert np.all(np.abs(present.mean(axis=0) - probability) < 5 * sigma)
    # present values uniform on [0, 1): mean 1/2, variance 1/12, within 5 standard errors
    values = X[present]
    assert abs(values.mean() - 0.5) < 5 * np.sqrt(1 / 12 / values.size)
    assert abs(values.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / values.size)
    assert values.min() >= 0 and values.max() < 1
    # independence of two features: co-presence frequency p^2
    both = (present[:, 0] & present[:, 1]).mean()
    assert abs(both - probability**2) < 5 * np.sqrt(probability**2 / count)


def test_per_feature_probability():
    probability = np.array([[0.9, 0.5, 0.2, 0.02]])
    source = synthetic_source(probability)
    X = np.concatenate([draw_batch(source, 0, 1, t, 1024) for t in range(30)])
    sigma = np.sqrt(probability * (1 - probability) / X.shape[0])
    assert np.all(np.abs((X != 0).mean(axis=0) - probability) < 5 * sigma)


def test_batches_differ_by_step_seed_and_held_out():
    source = synthetic_source(np.full((1, 6), 0.5))
    first = draw_batch(source, 0, 0, 0, 64)
    np.testing.assert_array_equal(first, draw_batch(source, 0, 0, 0, 64))
    for other in (draw_batch(source, 0, 0, 1, 64), draw_batch(source, 0, 1, 0, 64),
                  draw_batch(source, 0, 0, 0, 64, held_out=True)):
        assert not np.array_equal(first, other)


def write_dataset(folder, with_graph=True):
    """A hand-made 6-point, 4-latent feature file (and graph file with depths)."""
    dense = np.array([[0.5, -1.0, 0, 0],
                      [0.5, 0, 2.0, 0],
                      [0.5, 0, 2.0, 0],
                      [0, 0, 0, 0.0],
                      [0.5, 0, 2.0, -0.3],
                      [0, -1.0, 0, 0]])
    stem = folder / "percolation_dataset_size6_dim2_seed0"
    save_sparse(f"{stem}_gt_features.npz", sparse.csr_matrix(dense))
    if with_graph:
        depth = np.array([2, 1, 2, 0, 3, 1] + [0, 1, 1, 2], dtype=np.int64)
        save_arrays(f"{stem}_graph.npz", depth=depth)
    return f"{stem}_gt_features.npz", dense


def test_first_k_columns_binary_with_depth(tmp_path):
    path, dense = write_dataset(tmp_path)
    features = load_percolation_features(path, k=3)
    assert features.column.tolist() == [0, 1, 2]
    np.testing.assert_allclose(features.frequency, [4 / 6, 2 / 6, 3 / 6])
    assert features.depth.tolist() == [0, 1, 1]
    matrix = sparse.csr_matrix((features.data, features.indices, features.indptr),
                               shape=(6, 3)).toarray()
    np.testing.assert_array_equal(matrix, dense[:, :3] != 0)


def test_most_frequent_columns_with_values(tmp_path):
    path, dense = write_dataset(tmp_path, with_graph=False)
    features = load_percolation_features(path, k=3, selection="frequent", values="values")
    assert features.column.tolist() == [0, 2, 1]  # 4, 3 and 2 points
    assert features.depth.tolist() == [-1, -1, -1]  # no graph file beside
    matrix = sparse.csr_matrix((features.data, features.indices, features.indptr),
                               shape=(6, 3)).toarray()
    np.testing.assert_array_equal(matrix, dense[:, [0, 2, 1]])
    absolute = load_percolation_features(path, k=4, values="abs")
    assert np.all(absolute.data > 0)


def test_rows_are_sampled_uniformly(tmp_path):
    path, dense = write_dataset(tmp_path)
    source = rows_source(load_percolation_features(path, k=4, values="values"), 1)
    X = draw_batch(source, 0, 3, 0, 6000)
    rows = [np.flatnonzero((dense == x).all(axis=1))[0] for x in X[:50]]
    assert len(set(rows)) > 3
    # feature 0 is present in 4 of 6 points
    assert abs((X[:, 0] != 0).mean() - 4 / 6) < 5 * np.sqrt(2 / 9 / 6000)


def test_bad_feature_inputs(tmp_path):
    path, _ = write_dataset(tmp_path)
    with pytest.raises(ValueError, match="k = 5 is larger than the 4 feature columns"):
        load_percolation_features(path, k=5)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        load_percolation_features(path, k=0)
    with pytest.raises(InputFileError, match="does not exist"):
        load_percolation_features(tmp_path / "missing_gt_features.npz", k=1)
    garbage = tmp_path / "garbage_gt_features.npz"
    garbage.write_bytes(b"not an npz")
    with pytest.raises(InputFileError, match="not a readable sparse"):
        load_percolation_features(garbage, k=1)
    wrong_graph = tmp_path / "percolation_dataset_size6_dim2_seed0_graph.npz"
    save_arrays(wrong_graph, depth=np.zeros(3, dtype=np.int64))
    with pytest.raises(InputFileError, match="has depth of shape"):
        load_percolation_features(path, k=2)
