"""The Persian rug: the exact properties of check 2, the fast transform (check 3), the fit and
its Monte Carlo loss against the Gaussian limit (check 7)."""

import numpy as np
import pytest

from percolation_tms.persianrug import (
    draw_rug_rows,
    fit_persian_rug,
    fwht,
    gaussian_limit,
    hadamard,
    linear_optimum_loss,
    rug_apply,
    rug_kernel,
    rug_matrix,
)
from percolation_tms.persianrug import rug as rug_module
from percolation_tms.persianrug.data import sample_batch


def _rows(n, m, with_row0, seed=0):
    for draw in range(200):
        rows = draw_rug_rows(n, m, seed, draw, exclude_row0=not with_row0)
        if (rows[0] == 0) == with_row0:
            return rows
    raise AssertionError("no draw with the wanted row 0")


def test_fwht_equals_the_dense_hadamard_product():
    rng = np.random.default_rng(0)
    for n in (1, 2, 8, 256):
        x = rng.normal(size=(5, n))
        np.testing.assert_allclose(fwht(x), x @ hadamard(n).T, rtol=1e-12, atol=1e-12)
    h = hadamard(8)
    np.testing.assert_array_equal(h @ h, 8 * np.eye(8))
    with pytest.raises(ValueError, match="power-of-two"):
        fwht(np.ones(6))


@pytest.mark.parametrize("n,m", [(64, 16), (512, 100), (1024, 1000)])
@pytest.mark.parametrize("with_row0", [True, False])
def test_dense_rug_properties(n, m, with_row0):
    rows = _rows(n, m, with_row0)
    H = hadamard(n)[rows]
    W = H.T @ H / m
    np.testing.assert_allclose(rug_matrix(n, rows), W, rtol=0, atol=1e-12)  # c(i XOR j)
    np.testing.assert_allclose(np.diagonal(W), 1.0, rtol=1e-12)
    np.testing.assert_allclose(W @ W, n / m * W, rtol=0, atol=1e-12 * n / m)
    np.testing.assert_allclose((W * W).sum(axis=1), n / m, rtol=1e-12)
    off = W.sum(axis=1) - 1
    np.testing.assert_allclose(off, n / m - 1 if with_row0 else -1.0, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("with_row0", [True, False])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_rug_properties_at_8192_by_transforms(with_row0, dtype, tol):
    n, m = 8192, 704
    rows = _rows(n, m, with_row0)
    c = rug_kernel(n, rows)
    assert c[0] == pytest.approx(1.0, rel=1e-12)
    assert np.dot(c, c) == pytest.approx(n / m, rel=1e-12)
    assert c.sum() - 1 == pytest.approx(n / m - 1 if with_row0 else -1.0, rel=1e-12)
    batch = sample_batch(0, 3, 9, 0, 6, n, 0.05, dtype)
    u = rug_apply(batch, rows, dtype)
    # W^2 = (n/m) W applied to a batch: W (W x) = (n/m) W x.
    again = rug_apply_dense_rows(u, rows, dtype)
    scale = np.abs(u).max()
    assert np.abs(again - n / m * u).max() <= tol * n / m * scale * 10
    # W x from c(i XOR j) on one row (the matrix is never formed: one row at a time).
    x = batch.dense()[0].astype(np.float64)
    row_i = 123
    w_row = c[np.bitwise_xor(row_i, np.arange(n))]
    assert u[0, row_i] == pytest.approx(w_row @ x, rel=tol * 10, abs=float(tol * scale))


def rug_apply_dense_rows(u, rows, dtype):
    n = u.shape[1]
    keep = np.zeros(n)
    keep[rows] = 1
    return (fwht(fwht(u.astype(np.float64)) * keep) / len(rows)).astype(dtype)


def test_transform_equals_the_dense_product_on_batches():
    # Check 3: the fast transform equals H_S^T H_S x / m.
    n, m = 256, 40
    rows = _rows(n, m, True)
    W = rug_matrix(n, rows)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        batch = sample_batch(1, 3, 0, 0, 16, n, 0.3, dtype)
        want = batch.dense().astype(np.float64) @ W.T
        got = rug_apply(batch, rows, dtype)
        assert np.abs(got - want).max() <= tol * np.abs(want).max()


def test_row_draws_are_distinct_sorted_and_seeded():
    rows = draw_rug_rows(64, 64, 0, 0)
    np.testing.assert_array_equal(rows, np.arange(64))
    a, b = draw_rug_rows(1024, 50, 1, 0), draw_rug_rows(1024, 50, 1, 1)
    assert len(set(a)) == 50 and np.all(np.diff(a) > 0) and not np.array_equal(a, b)
    np.testing.assert_array_equal(a, draw_rug_rows(1024, 50, 1, 0))
    assert draw_rug_rows(16, 15, 0, 0, exclude_row0=True)[0] == 1


def test_fit_is_deterministic_and_records_row0():
    a = fit_persian_rug(256, 64, 0.1, draws=2, samples=2000)
    b = fit_persian_rug(256, 64, 0.1, draws=2, samples=2000)
    np.testing.assert_equal(tuple(a), tuple(b))  # NaN-aware, arrays compared exactly
    assert a.includes_row0 == bool(0 in a.rows)
    assert len(a.draw_fit_losses) == 2 and a.fit_loss == min(a.draw_fit_losses)
    assert a.c == pytest.approx(a.b + a.mu)


def test_profile_loss_equals_direct_loss_at_bin_edges():
    n, m, p = 128, 32, 0.2
    rows = draw_rug_rows(n, m)
    batch = sample_batch(0, 2, 0, 0, 400, n, p, np.float32)
    u = rug_apply(batch, rows, np.float32)
    profile = rug_module._Profile(u, batch)
    x = batch.dense().astype(np.float64)
    for b in profile.edge_offsets()[[100, 30000, 60000]]:
        loss, a = profile(np.array([b]))
        direct = np.mean((np.maximum(a[0] * (u.astype(np.float64) + b), 0) - x) ** 2)
        assert loss[0] == pytest.approx(direct, rel=1e-9)
        # a is optimal: nearby a do not do better.
        for da in (-1e-3, 1e-3):
            worse = np.mean((np.maximum((a[0] + da) * (u + b), 0) - x) ** 2)
            assert worse >= direct


def test_adam_fit_falls_short_of_or_meets_the_exact_fit():
    exact = fit_persian_rug(64, 16, 0.2, draws=1, samples=4000)
    adam = fit_persian_rug(64, 16, 0.2, draws=1, samples=4000, method="adam")
    assert np.isfinite(adam.loss_last_batch) and np.isnan(adam.fit_loss)
    assert adam.loss >= exact.loss * (1 - 0.01)


@pytest.mark.parametrize("n,m,p", [(256, 64, 0.1), (256, 128, 0.2), (512, 128, 0.045)])
def test_rug_beats_the_linear_optimum(n, m, p):
    # Check 6 (rug) at cells with p n >= 20 and p <= m/n.
    assert fit_persian_rug(n, m, p, draws=2, samples=5000).loss < linear_optimum_loss(n, m, p)


@pytest.mark.slow
@pytest.mark.parametrize("m,p", [(16, 0.044001), (16, 0.8), (6553, 0.044001), (6553, 0.8),
                                 (704, 0.38)])
def test_rug_at_8192_matches_the_gaussian_limit(m, p):
    # Check 7: the corners of the region p n >= 360 and a cell with c* > 1 (704, 0.38).
    n = 8192
    fit = fit_persian_rug(n, m, p, draws=1, samples=5000)
    limit = gaussian_limit(n, m, p)
    assert abs(fit.loss / limit.loss - 1) <= 0.015


@pytest.mark.parametrize("call,match", [
    (lambda: fit_persian_rug(100, 10, 0.1), "power of two"),
    (lambda: fit_persian_rug(64, 65, 0.1), "m must be at most"),
    (lambda: fit_persian_rug(64, 8, 0.0), r"p must be in \(0, 1\]"),
    (lambda: fit_persian_rug(64, 8, 1.5), r"p must be in \(0, 1\]"),
    (lambda: fit_persian_rug(64, 8, 0.1, samples=0), "samples must be a positive"),
    (lambda: fit_persian_rug(64, 8, 0.1, draws=0), "draws must be a positive"),
    (lambda: fit_persian_rug(64, 8, 0.1, method="sgd"), "method must be one of"),
])
def test_fit_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
