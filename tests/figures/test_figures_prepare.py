"""The figures' data preparation: binning, reference lines, means over seeds."""

import numpy as np
import pytest
from scipy import stats

from percolation_tms.figures import prepare


@pytest.mark.parametrize("max_value", [1, 2, 9, 10, 99, 1000, 123457])
def test_log_bin_edges_cover_every_integer_once(max_value):
    edges = prepare.log_bin_edges(max_value, bins_per_decade=5)
    assert edges.dtype == np.int64
    assert edges[0] == 1 and edges[-1] > max_value
    assert np.all(np.diff(edges) >= 1)
    # About five bins per decade once the bins are wider than one integer.
    if max_value >= 1000:
        assert len(edges) - 1 <= 5 * np.log10(max_value + 1) + 2


def test_log_binning_conserves_counts():
    rng = np.random.default_rng(0)
    values = stats.yulesimon.rvs(1.5, size=20_000, random_state=rng)
    binned = prepare.log_binned_distribution(values, prepare.log_bin_edges(values.max()))
    assert binned.counts.sum() == values.size
    # probability is a per-integer pmf: summed over the integers of every bin it gives 1.
    assert np.isclose((binned.probability * np.diff(binned.edges)).sum(), 1.0)
    # Single-integer bins hold exactly the empirical pmf.
    assert np.isclose(binned.probability[0], np.mean(values == 1))


def test_log_binning_refuses_values_outside_the_bins():
    with pytest.raises(ValueError, match="outside the bins"):
        prepare.log_binned_distribution(np.array([1, 50]), prepare.log_bin_edges(10))


def test_power_law_reference_integrates_to_the_tail_fraction():
    s = np.logspace(1, 8, 20_001)
    density = prepare.power_law_reference(s, 2.5, 10.0, tail_fraction=0.3)
    assert np.isclose(np.trapezoid(density, s), 0.3, rtol=1e-3)


def test_pooled_histogram_sums_counts_by_value():
    values, counts = prepare.pooled_histogram([np.array([1, 2, 4]), np.array([2, 3])],
                                              [np.array([5, 1, 2]), np.array([10, 7])])
    assert values.tolist() == [1, 2, 3, 4]
    assert counts.tolist() == [5, 11, 7, 2]


def test_log_spaced_indices_keep_first_and_last_and_thin_the_middle():
    idx = prepare.log_spaced_indices(100_000, per_decade=20)
    assert idx[0] == 0 and idx[-1] == 99_999
    assert np.all(np.diff(idx) > 0) and idx.size < 120
    assert prepare.log_spaced_indices(1).tolist() == [0]
    assert prepare.log_spaced_indices(0).size == 0


def test_frequency_rank_orders_most_frequent_first_and_ties_by_index():
    assert prepare.frequency_rank(np.array([0.1, 0.5, 0.1, 0.9])).tolist() == [3, 2, 4, 1]


def test_mean_and_spread_ignores_nan_and_supports_log():
    values = np.array([[1.0, 10.0, np.nan], [3.0, 1000.0, np.nan]])
    center, lower, upper = prepare.mean_and_spread(values)
    assert np.allclose(center[:2], [2.0, 505.0]) and np.isnan(center[2])
    assert np.allclose(upper[:2] - center[:2], [1.0, 495.0])
    center, lower, upper = prepare.mean_and_spread(values, log=True)
    assert np.allclose(center[:2], [np.sqrt(3.0), 100.0])
    assert np.allclose(upper[1], 1000.0) and np.allclose(lower[1], 10.0)
    center, lower, upper = prepare.mean_and_spread(np.array([[2.0, np.nan], [np.nan, np.nan]]))
    assert center[0] == 2.0 and lower[0] == upper[0] == 2.0 and np.isnan(center[1])


def test_align_curves_stacks_only_a_common_grid():
    x, y = prepare.align_curves([np.arange(3), np.arange(3)], [np.ones(3), np.zeros(3)])
    assert x.tolist() == [0, 1, 2] and y.shape == (2, 3)
    assert prepare.align_curves([np.arange(3), np.arange(4)], [np.ones(3), np.ones(4)]) is None
    assert prepare.align_curves([np.arange(3), np.arange(3) + 1], [np.ones(3)] * 2) is None


def test_table_by_sparsity_arranges_instances_and_marks_missing():
    sparsity = np.array([0.9, 0.0, 0.9, 0.0, 0.99])
    seed = np.array([0, 0, 1, 1, 1])
    values = np.arange(5.0)
    table = prepare.table_by_sparsity(sparsity, seed, values)
    assert table.sparsity.tolist() == [0.0, 0.9, 0.99] and table.seeds.tolist() == [0, 1]
    assert np.array_equal(table.values, [[1.0, 0.0, np.nan], [3.0, 2.0, 4.0]], equal_nan=True)
    per_feature = prepare.table_by_sparsity(sparsity, seed, np.arange(10.0).reshape(5, 2))
    assert per_feature.values.shape == (2, 3, 2)
    with pytest.raises(ValueError, match="two instances"):
        prepare.table_by_sparsity(np.array([0.5, 0.5]), np.array([0, 0]), np.zeros(2))


def test_inverse_density_and_seed_offsets():
    assert np.allclose(prepare.inverse_density([0.0, 0.9, 0.999]), [1.0, 10.0, 1000.0])
    assert prepare.seed_offsets(1, 0.2).tolist() == [0.0]
    assert np.allclose(prepare.seed_offsets(3, 0.2), [-0.2, 0.0, 0.2])
