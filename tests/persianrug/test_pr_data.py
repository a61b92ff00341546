"""The sparse sampler: the moments of specification check 1, the reference, the streams."""

import numpy as np
import pytest
from pr_reference import sample_row

from percolation_tms.persianrug.data import row_capacity, sample_batch


@pytest.mark.parametrize("p", [0.05, 0.5])
def test_moments_over_fifty_million_draws(p):
    # Check 1: >= 5e7 draws; fraction on, mean of x and of x^2 within 0.5 % of p, p/2, p/3.
    n, rows = 1000, 50_000
    batch = sample_batch(7, 1, 0, 0, rows, n, p, np.float64)
    mask = np.arange(batch.indices.shape[1])[None, :] < batch.counts[:, None]
    x = batch.values[mask]
    total = n * rows
    assert abs(batch.counts.sum() / total / p - 1) < 0.005
    assert abs(x.sum() / total / (p / 2) - 1) < 0.005
    assert abs(np.dot(x, x) / total / (p / 3) - 1) < 0.005


@pytest.mark.parametrize("p", [0.01, 0.3, 1.0])
def test_rows_equal_the_reference(p):
    n = 97
    batch = sample_batch(3, 0, 11, 5, 20, n, p, np.float64)
    for r in range(20):
        indices, values = sample_row(3, 0, 11, 5 + r, n, p)
        assert batch.counts[r] == len(indices)
        assert batch.indices[r, :len(indices)].tolist() == indices
        assert batch.values[r, :len(values)].tolist() == values


def test_rows_do_not_depend_on_chunking_or_dtype():
    whole = sample_batch(1, 1, 0, 0, 50, 64, 0.2, np.float64).dense()
    parts = np.vstack([sample_batch(1, 1, 0, first, 10, 64, 0.2, np.float64).dense()
                       for first in range(0, 50, 10)])
    np.testing.assert_array_equal(whole, parts)
    single = sample_batch(1, 1, 0, 0, 50, 64, 0.2, np.float32).dense()
    np.testing.assert_array_equal(single, whole.astype(np.float32))


def test_streams_differ_by_seed_purpose_and_index():
    base = sample_batch(1, 0, 0, 0, 8, 64, 0.3).dense()
    for args in ((2, 0, 0), (1, 1, 0), (1, 0, 1)):
        assert not np.array_equal(base, sample_batch(*args, 0, 8, 64, 0.3).dense())


def test_overflowing_rows_are_drawn_again_with_more_room(monkeypatch):
    from percolation_tms.persianrug import data

    want = sample_batch(4, 0, 0, 0, 30, 200, 0.5).dense()
    monkeypatch.setattr(data, "row_capacity", lambda n, p: 3)
    got = data.sample_batch(4, 0, 0, 0, 30, 200, 0.5)
    assert got.indices.shape[1] > 3
    np.testing.assert_array_equal(got.dense(), want)
    assert row_capacity(200, 1.0) == 200
