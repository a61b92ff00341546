"""Measurements against a loop reference, scale invariance for untied, the tidy table."""

import numpy as np
import pytest
import toy_reference as ref

from percolation_tms.toymodels.measure import measure_weights, metrics_table


def random_weights(seed, untied):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.6, (3, 5, 8))
    W[0, :, 2] = 0.0  # a zero column
    W_dec = rng.normal(0, 0.6, (3, 8, 5)) if untied else None
    return W, rng.normal(0, 0.2, (3, 8)), W_dec


@pytest.mark.parametrize("untied", [False, True])
def test_measurements_match_reference(untied):
    W, b, W_dec = random_weights(1, untied)
    got = measure_weights(W, b, W_dec)
    for inst in range(3):
        want = ref.measurements(W[inst], b[inst], None if W_dec is None else W_dec[inst])
        for key, value in want.items():
            np.testing.assert_allclose(getattr(got, key)[inst], value, rtol=1e-12,
                                       atol=1e-15, err_msg=key)


def test_untied_norm_is_scale_invariant():
    # Encoder times c and decoder divided by c: the same map, the same measurements (the
    # trade of scale the specification saw, encoder norms 2.4 against decoder norms 0.44).
    W, b, W_dec = random_weights(2, True)
    original = measure_weights(W, b, W_dec)
    rescaled = measure_weights(W * 2.4, b, W_dec / 2.4)
    for key in ("WtW", "feature_norm", "feature_dimensionality", "interference",
                "dims_per_feature"):
        np.testing.assert_allclose(getattr(rescaled, key), getattr(original, key), rtol=1e-12,
                                   err_msg=key)
    assert not np.allclose(np.linalg.norm(W * 2.4, axis=1), np.linalg.norm(W, axis=1))


def test_known_geometries():
    # tied: an antipodal pair in one dimension, and five unit vectors on a pentagon
    pair = measure_weights(np.array([[[1.0, -1.0]]]), np.zeros((1, 2)))
    assert pair.dims_per_feature[0] == pytest.approx(0.5)
    np.testing.assert_allclose(pair.feature_dimensionality[0], [0.5, 0.5])
    np.testing.assert_allclose(pair.interference[0], [1.0, 1.0])
    angles = 2 * np.pi * np.arange(5) / 5
    pentagon = measure_weights(np.stack([np.cos(angles), np.sin(angles)])[None],
                               np.zeros((1, 5)))
    assert pentagon.dims_per_feature[0] == pytest.approx(2 / 5)
    np.testing.assert_allclose(pentagon.feature_dimensionality[0], 2 / 5)


def test_metrics_table_is_tidy():
    W, b, _ = random_weights(3, False)
    measured = measure_weights(W, b)
    table = metrics_table("tied", measured, [1e-3, 2e-3, 3e-3], [0.0, 0.9, 0.9], [0, 0, 1],
                          ("0.7",) * 3)
    assert list(table.columns) == ["instance", "model", "sparsity", "seed", "importance",
                                   "metric", "feature", "value"]
    assert len(table) == 3 * (3 + 4 * 8)
    scalars = table[table.feature.isna()]
    assert sorted(scalars.metric.unique()) == ["dims_per_feature", "features_represented",
                                              "loss"]
    loss = table[(table.metric == "loss")].set_index("instance").value
    assert loss.tolist() == [1e-3, 2e-3, 3e-3]
    bias = table[(table.metric == "bias") & (table.instance == 2)].sort_values("feature")
    np.testing.assert_array_equal(bias.value, b[2])
    represented = table[table.metric == "features_represented"].value
    assert represented.tolist() == measured.represented.sum(axis=1).tolist()
