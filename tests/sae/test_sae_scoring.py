"""Scoring on hand-made cases: a latent equal to a feature scores 1, a random one about 0."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from percolation_tms.sae import (
    make_known_dictionary_data,
    mean_max_cosine_similarity,
    score_features,
    select_features,
    summarize,
)
from percolation_tms.sae.score import frequency_bin_edges


def membership(n, sets):
    """CSR (n, len(sets)) whose column l marks the points of sets[l]."""
    rows = np.concatenate([np.asarray(s, dtype=np.int64) for s in sets])
    cols = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    return sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, len(sets)))


def test_a_latent_equal_to_a_feature_scores_one_and_a_random_one_about_zero():
    n = 20_000
    rng = np.random.default_rng(0)
    feature = np.flatnonzero(rng.random(n) < 0.1)
    features = select_features(membership(n, [feature]))
    # Latent 0: random activations on random points; latent 1: exactly the feature.
    random_latent = np.where(rng.random(n) < 0.1, rng.random(n) + 0.5, 0.0)
    exact_latent = np.zeros(n)
    exact_latent[feature] = 1.0
    got = score_features(sparse.csr_matrix(np.column_stack([random_latent, exact_latent])),
                         features)
    assert got.best_latent[0] == 1 and got.f1_latent[0] == 1
    assert got.pearson[0] == pytest.approx(1.0) and got.f1[0] == pytest.approx(1.0)
    alone = score_features(sparse.csr_matrix(random_latent[:, None]), features)
    # Independent of membership: the correlation is N(0, 1/N); 5 sigma = 0.035.
    assert abs(alone.pearson[0]) < 5 / np.sqrt(n)
    # The F1 of an independent detector with 10% positives against a 10% feature is ~0.1.
    assert alone.f1[0] == pytest.approx(0.1, abs=0.02)


def test_scaling_an_exact_latent_keeps_its_score_and_anticorrelation_is_not_a_match():
    n = 200
    feature = np.arange(40)
    exact = np.zeros(n)
    exact[feature] = 7.5
    complement = np.zeros(n)
    complement[40:] = 1.0  # active exactly off the feature: Pearson -1
    got = score_features(sparse.csr_matrix(np.column_stack([complement, exact])),
                         select_features(membership(n, [feature])))
    assert got.best_latent[0] == 1 and got.pearson[0] == pytest.approx(1.0)
    only_complement = score_features(sparse.csr_matrix(complement[:, None]),
                                     select_features(membership(n, [feature])))
    assert only_complement.pearson[0] == pytest.approx(-1.0) and only_complement.f1[0] == 0.0


def test_exact_coefficients_of_known_dictionary_data_score_the_analytic_correlation():
    data = make_known_dictionary_data(20_000, 8, 32, mean_active=2.0, decay=0.0, seed=4)
    got = score_features(data.coefficients, select_features(data.coefficients))
    # Activation c ~ U(0, 1] with probability p, membership its support: Pearson =
    # sqrt(1 - p) / (2 sqrt(1/3 - p/4)); each column's estimate has sd ~ 1/sqrt(N p) ~ 0.03.
    p = 2.0 / 32
    assert got.pearson.mean() == pytest.approx(np.sqrt(1 - p) / (2 * np.sqrt(1 / 3 - p / 4)),
                                               abs=0.02)
    np.testing.assert_array_equal(got.best_latent, np.arange(32))
    np.testing.assert_array_equal(got.f1, 1.0)


def test_dead_latents_and_features_covering_every_point():
    n = 10
    got = score_features(sparse.csr_matrix((n, 3)),
                         select_features(membership(n, [np.arange(n), [2, 3]])))
    assert np.isnan(got.pearson[0])  # membership is constant: no correlation exists
    assert got.pearson[1] == 0.0 and got.f1_max[1] == 0.0  # dead latents correlate 0


def test_select_features_filters_by_points_and_keeps_first_or_frequent_columns():
    n = 30
    sets = [range(20), [0, 1], range(5), range(5, 30), [9, 10, 11]]
    F = membership(n, sets)
    depth = np.array([0, 3, 1, 1, 2])
    chosen = select_features(F, depth, min_points=3)
    np.testing.assert_array_equal(chosen.column, [0, 2, 3, 4])
    np.testing.assert_array_equal(chosen.n_points, [20, 5, 25, 3])
    np.testing.assert_array_equal(chosen.depth, [0, 1, 1, 2])
    np.testing.assert_array_equal(chosen.members.toarray(), F.toarray()[:, [0, 2, 3, 4]] != 0)
    np.testing.assert_array_equal(select_features(F, depth, max_features=2).column, [0, 1])
    frequent = select_features(F, depth, max_features=3, order="frequent")
    np.testing.assert_array_equal(frequent.column, [3, 0, 2])
    # Stored values (the latent values z_j, possibly negative) do not matter, only membership.
    signed = F.copy()
    signed.data[:] = -0.5
    np.testing.assert_array_equal(select_features(signed).n_points, [20, 2, 5, 25, 3])


@pytest.mark.parametrize("kwargs, message", [
    ({"min_points": 0}, "min_points must be an integer >= 1"),
    ({"max_features": 0}, "max_features must be an integer >= 1"),
    ({"order": "random"}, "order must be one of"),
    ({"depth": np.zeros(3)}, "depth has shape (3,), expected (2,)"),
    ({"min_points": 50}, "no feature column covers at least 50 points"),
])
def test_bad_feature_selections_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_features(membership(10, [[1, 2], [3, 4, 5]]), **kwargs)


def test_scoring_refuses_mismatched_inputs():
    features = select_features(membership(10, [[1, 2]]))
    with pytest.raises(ValueError, match="activations cover 9 points"):
        score_features(sparse.csr_matrix((9, 2)), features)
    with pytest.raises(ValueError, match="only positive entries"):
        score_features(sparse.csr_matrix(-np.ones((10, 2))), features)
    with pytest.raises(ValueError, match="2-D scipy sparse matrix"):
        select_features(np.ones((3, 3)))


def test_summaries_by_depth_and_by_frequency():
    n = 64
    sets = [range(32), range(16), range(16, 32), range(32, 34), range(40, 43)]
    features = select_features(membership(n, sets), depth=np.array([0, 1, 1, 0, 0]))
    activations = np.zeros((n, 2))
    activations[:32, 0] = 1.0  # matches feature 0 exactly
    activations[:16, 1] = 2.0  # matches feature 1 exactly
    match = score_features(sparse.csr_matrix(activations), features)
    by_depth = summarize(match, features, "depth")
    overall = by_depth[by_depth["size_band"] == "all"]
    assert list(overall["group"]) == [0, 1] and list(overall["n_features"]) == [3, 2]
    assert (overall["size_low"] == 1).all() and (overall["size_high"] == n).all()
    assert overall["mean_pearson"].iloc[0] == pytest.approx(match.pearson[[0, 3, 4]].mean())
    assert overall["mean_f1"].iloc[1] == pytest.approx(match.f1[[1, 2]].mean())
    # Size bands (powers of 4): depth 0 holds a 2- and a 3-point feature (band 1-3) and the
    # 32-point one (band 16-63); depth 1 the two 16-point ones (band 16-63).
    bands = by_depth[by_depth["size_band"] != "all"]
    assert list(zip(bands["group"], bands["size_band"], bands["n_features"])) == [
        (0, "1-3", 2), (0, "16-63", 1), (1, "16-63", 2)]
    assert bands["mean_pearson"].iloc[1] == pytest.approx(1.0)
    assert bands["mean_pearson"].iloc[0] == pytest.approx(match.pearson[[3, 4]].mean())
    by_frequency = summarize(match, features, "frequency")
    # Points covered 32, 16, 16, 2, 3 fall in the bins [2, 3], [16, 31], [32, 63].
    expected = pd.DataFrame({"bin_low": [2, 16, 32], "bin_high": [3, 31, 63],
                             "size_band": ["2-3", "16-31", "32-63"], "n_features": [2, 2, 1]})
    pd.testing.assert_frame_equal(
        by_frequency[["bin_low", "bin_high", "size_band", "n_features"]], expected,
        check_dtype=False)
    assert by_frequency["mean_pearson"].iloc[2] == pytest.approx(1.0)
    np.testing.assert_array_equal(frequency_bin_edges(5), [1, 2, 4, 8])
    np.testing.assert_array_equal(frequency_bin_edges(64, base=4), [1, 4, 16, 64, 256])
    np.testing.assert_array_equal(frequency_bin_edges(63, base=4), [1, 4, 16, 64])
    with pytest.raises(ValueError, match="by must be 'depth' or 'frequency'"):
        summarize(match, features, "size")


def test_mean_max_cosine_similarity_hand_made_cases():
    rng = np.random.default_rng(0)
    dictionary = rng.standard_normal((5, 6))
    # The same directions, permuted and rescaled, plus a spare atom: every direction found.
    decoder = np.column_stack([dictionary[[3, 1, 4, 0, 2]].T * [2, 0.5, 1, 3, 1],
                               rng.standard_normal(6)])
    match = mean_max_cosine_similarity(dictionary, decoder)
    assert match.mmcs == pytest.approx(1.0)
    np.testing.assert_array_equal(match.best_atom, [3, 1, 4, 0, 2])
    # Random atoms in high dimension are nearly orthogonal to every direction.
    far = mean_max_cosine_similarity(rng.standard_normal((20, 400)),
                                     rng.standard_normal((400, 10)))
    assert far.mmcs < 0.3
    with pytest.raises(ValueError, match="dimension 6, decoder 5"):
        mean_max_cosine_similarity(dictionary, np.ones((5, 2)))
    with pytest.raises(ValueError, match="zero or non-finite"):
        mean_max_cosine_similarity(dictionary, np.zeros((6, 2)))
