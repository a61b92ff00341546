"""Hierarchical known-dictionary data, MCC, latent F1 and absorption (SPEC-sae-hierarchy
sections 2, 3 and checks 5-6)."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from percolation_tms.sae.hierarchy import HierarchyConfig, forest, make_hierarchical_data
from percolation_tms.sae.metrics import (
    absorption_activation,
    absorption_by_depth,
    absorption_ground_truth,
    latent_detection,
    match_dictionary,
)
from percolation_tms.sae.score import score_features, select_features


@pytest.fixture(scope="module")
def small():
    return make_hierarchical_data(HierarchyConfig(n_samples=20_000))


def test_forest_is_breadth_first_with_the_spec_counts():
    parent, depth, _first_child, _n_children = forest(HierarchyConfig())
    assert (depth >= 0).sum() == 336 and (depth == -1).sum() == 176  # 16 x (1 + 4 + 16)
    assert (depth[:16] == 0).all() and (depth[16:80] == 1).all() and (depth[80:336] == 2).all()
    assert (parent[16:20] == 0).all() and (parent[80:84] == 16).all()
    assert HierarchyConfig(n_features=16_384, n_roots=128, tree_depth=3).tree_features == 10_880


def test_a_child_fires_only_with_its_parent_and_exclusive_parents_keep_one(small):
    on = small.coefficients.tocsc()
    counts = np.diff(small.coefficients.indptr)
    for child in range(16, 336, 7):
        rows = on.indices[on.indptr[child]:on.indptr[child + 1]]
        p = small.parent[child]
        assert set(rows) <= set(on.indices[on.indptr[p]:on.indptr[p + 1]])
    dense = small.coefficients[:2000].toarray() > 0
    for p in range(80):  # every node with children
        kids = np.flatnonzero(small.parent == p)
        assert dense[:, kids].sum(axis=1).max() <= 1
    # the spec's simulated true L0 of the small default: 7.4 (compensation falls short under
    # exclusion); depth-1 marginal rate 0.037 against the nominal 0.046
    assert counts.mean() == pytest.approx(7.4, abs=0.15)
    rate = np.diff(on.indptr) / small.X.shape[0]
    assert rate[small.depth == 1].mean() == pytest.approx(0.037, abs=0.003)
    np.testing.assert_allclose(np.linalg.norm(small.dictionary, axis=1), 1.0)
    x0 = small.coefficients[0].toarray() @ small.dictionary
    np.testing.assert_allclose(small.X[0], x0[0], atol=1e-12)


def test_hierarchical_data_is_deterministic_and_extends():
    a = make_hierarchical_data(HierarchyConfig(n_samples=3000, data_seed=4))
    b = make_hierarchical_data(HierarchyConfig(n_samples=5000, data_seed=4))
    np.testing.assert_array_equal(a.X, b.X[:3000])
    c = make_hierarchical_data(HierarchyConfig(n_samples=3000, data_seed=5))
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_features": 100}, "more than n_features 100"),
    ({"p_min": 0.5}, "p_min <= p_max"),
    ({"branching": 0}, "branching must be a positive integer"),
    ({"exclusive": "yes"}, "exclusive must be true or false"),
])
def test_bad_hierarchy_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HierarchyConfig(**kwargs)


# ---------------------------------------------------------------------------- MCC and F1
def test_mcc_of_the_true_directions_permuted_and_flipped_is_one():
    g = np.random.default_rng(0).standard_normal((40, 16))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    perm = np.random.default_rng(1).permutation(40)
    signs = np.where(np.arange(40) % 3 == 0, -1.0, 1.0)
    match = match_dictionary(g, (g[perm] * signs[:, None]).T)
    assert match.mcc == pytest.approx(1.0, abs=1e-12) and match.uniqueness == 1.0
    np.testing.assert_array_equal(match.matched_feature, perm)


@pytest.mark.parametrize("m, mean, std", [(128, 0.391, 0.003), (512, 0.379, 0.001)])
def test_mcc_of_random_decoders_is_the_spec_baseline(m, mean, std):
    # d 64, F 512: far above one pair's sqrt(2 / (pi d)) = 0.100 (SPEC check 5)
    rng = np.random.default_rng(7)
    g = rng.standard_normal((512, 64))
    values = [match_dictionary(g, rng.standard_normal((64, m))).mcc for _ in range(20)]
    assert abs(np.mean(values) - mean) < 4 * std
    assert np.mean(values) > 3 * np.sqrt(2 / (np.pi * 64))


def test_latent_f1_of_true_atoms_with_true_codes_is_one(small):
    codes = small.coefficients[:5000]
    detection = latent_detection(codes, codes, np.arange(512))
    fires = np.diff(codes.tocsc().indptr) > 0
    np.testing.assert_array_equal(detection.f1, fires.astype(float))
    # a dead latent counts 0, and a latent on the wrong feature scores its overlap
    shifted = latent_detection(codes, codes, np.roll(np.arange(512), 1))
    assert shifted.mean[2] < detection.mean[2]


# ---------------------------------------------------------------------------- absorption
def orthonormal_tree():
    """P = 0 with children C = 1 (rows 0-9) and 2 (rows 10-29); rows 30-49: P alone; unit
    magnitudes; orthonormal directions e_0, e_1, e_2 in d = 4."""
    n = 50
    rows, cols = [], []
    for r in range(n):
        rows.append(r)
        cols.append(0)
        if r < 10:
            rows.append(r)
            cols.append(1)
        elif r < 30:
            rows.append(r)
            cols.append(2)
    coefficients = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, 3))
    dictionary = np.eye(4)[:3]
    x = coefficients.toarray() @ dictionary
    return coefficients, dictionary, x, np.array([-1, 0, 0]), np.array([0, 1, 1])


def test_ground_truth_absorption_is_zero_for_the_perfect_sae_and_one_for_full_absorption():
    coefficients, dictionary, x, parent, depth = orthonormal_tree()
    perfect = absorption_ground_truth(x, np.zeros(4), coefficients, dictionary, dictionary,
                                      coefficients, parent, depth, np.arange(3))
    assert (perfect["mean_fraction"] == 0).all() and (perfect["full_rate"] == 0).all()
    # child 1's atom (g_C + g_P) / sqrt 2 at activation sqrt 2, the parent latent 0 on S_C
    atoms = np.array([dictionary[0], (dictionary[1] + dictionary[0]) / np.sqrt(2),
                      dictionary[2]])
    acts = coefficients.toarray().astype(float)
    acts[:10, 0] = 0.0
    acts[:10, 1] = np.sqrt(2)
    absorbed = absorption_ground_truth(x, np.zeros(4), sparse.csr_matrix(acts), atoms,
                                       dictionary, coefficients, parent, depth, np.arange(3))
    pair = absorbed[(absorbed["parent"] == 0) & (absorbed["child"] == 1)].iloc[0]
    assert pair["mean_fraction"] == pytest.approx(1.0) and pair["full_rate"] == 1.0
    other = absorbed[(absorbed["parent"] == 0) & (absorbed["child"] == 2)].iloc[0]
    assert other["mean_fraction"] == 0.0 and other["full_rate"] == 0.0


def test_activation_space_absorption_of_membership_latents():
    coefficients, _, _, _parent, depth = orthonormal_tree()
    features = select_features(coefficients, depth)
    feature_parent = np.array([-1, 0, 0])
    acts = coefficients.toarray().astype(float)
    match = score_features(sparse.csr_matrix(acts), features)
    np.testing.assert_array_equal(match.best_latent, [0, 1, 2])
    clean = absorption_activation(sparse.csr_matrix(acts), features, feature_parent,
                                  match.best_latent)
    assert (clean["absorption"] == 0).all() and (clean["absorbed"] == 0).all()
    acts[:10, 0] = 0.0  # silence P's latent on S_C, C = 1 the smaller child
    pairs = absorption_activation(sparse.csr_matrix(acts), features, feature_parent,
                                  match.best_latent).set_index("child")
    assert pairs.loc[1, "absorbed"] == 1.0 and pairs.loc[1, "absorption"] == 1.0
    # (P, sibling of C): P misses 10 of the 30 points outside C = 2
    assert pairs.loc[2, "absorption"] == pytest.approx(-10 / 30)
    table = absorption_by_depth(pairs.reset_index())
    every = table[table["size_band"] == "all"].iloc[0]
    assert every["n_pairs"] == 2 and every["pooled_absorbed"] == pytest.approx(10 / 30)
    same = absorption_activation(sparse.csr_matrix(acts), features, feature_parent,
                                 np.array([0, 0, 2]))
    assert bool(same.set_index("child").loc[1, "same_latent"])
    assert isinstance(pairs, pd.DataFrame)
