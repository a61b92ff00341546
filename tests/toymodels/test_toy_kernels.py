"""Kernels against slow references: gradients (both paths, every model), finite differences,
the batch sampler bit for bit, AdamW, and the batch loop across chunk boundaries."""

import numpy as np
import pytest
import toy_reference as ref
from kernel_calls import batch_loss_and_gradient

from percolation_tms._rng import DOMAIN_TOY_BATCH, stream_state
from percolation_tms.toymodels import _kernels
from percolation_tms.toymodels.data import PercolationFeatures, rows_source, synthetic_source

MODELS = ("tied", "untied", "linear", "hidden_relu")
CODE = {"tied": 0, "untied": 1, "linear": 2, "hidden_relu": 3}


def random_problem(model, n, m, batch, density, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 0.5, (m, n))
    W_dec = rng.normal(0.0, 0.5, (n, m)) if model == "untied" else None
    b = rng.normal(0.0, 0.3, n)
    importance = 0.8 ** np.arange(n)
    X = rng.random((batch, n)) * (rng.random((batch, n)) < density)
    X[0] = 0.0  # an empty sample
    return W, W_dec, b, importance, X


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("density", [1.0, 0.5, 0.15])
@pytest.mark.parametrize("csr", [False, True])
def test_loss_and_gradient_match_numpy(model, density, csr):
    # 13 samples: three full blocks of four on the hidden path plus a padded one; at low
    # density most samples take the M path (k < m).  The batch as dense rows (dense and
    # Bernoulli samplers) or as CSR rows (skip and rows samplers).
    W, W_dec, b, importance, X = random_problem(model, 12, 4, 13, density, seed=1)
    loss, dW, dW_dec, db = batch_loss_and_gradient(model, W, b, importance, X, W_dec, csr=csr)
    want = ref.loss_and_gradient(model, W, b, importance, X, W_dec)
    np.testing.assert_allclose(loss, want[0], rtol=1e-12)
    np.testing.assert_allclose(dW, want[1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db, want[3], rtol=1e-10, atol=1e-14)
    if model == "untied":
        np.testing.assert_allclose(dW_dec, want[2], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("model", ["tied", "untied", "linear"])
def test_hidden_and_m_path_agree(model):
    W, W_dec, b, importance, X = random_problem(model, 10, 6, 21, 0.3, seed=2)
    DT = W if W_dec is None else np.ascontiguousarray(W_dec.T)
    symmetric = model != "untied"
    counts = (X != 0).sum(axis=1)
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(counts)
    rows, cols = np.nonzero(X)
    results = []
    for use_m_path in (False, True):
        gW, gDT, gb, A, MT = (np.zeros((6, 10)), np.zeros((6, 10)), np.zeros(10),
                              np.zeros((10, 10)), np.empty((10, 10)))
        _kernels.form_mt(W, DT, MT)
        loss = _kernels.chunk_loss_grad(CODE[model], W, DT, MT, b, importance, 0.1, False,
                                        np.zeros_like(X), counts, indptr,
                                        cols.astype(np.int64), X[rows, cols], X.shape[0],
                                        use_m_path, True, gW, gDT, A, gb)
        _kernels.finish_gradient(W, DT, A, gW, gDT, symmetric)
        # with W^T as decoder both gradients are W's: only their sum is defined
        results.append((loss, gW + gDT, gb) if symmetric else (loss, gW, gDT, gb))
    for a, b_ in zip(*results):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-15)


def test_m_products_and_the_symmetric_fold():
    rng = np.random.default_rng(7)
    W, DT = rng.normal(size=(4, 9)), rng.normal(size=(4, 9))
    A = rng.normal(size=(9, 9))
    MT = np.empty((9, 9))
    _kernels.form_mt(W, DT, MT)
    np.testing.assert_allclose(MT, W.T @ DT, rtol=1e-13)
    gW, gDT = np.zeros((4, 9)), np.zeros((4, 9))
    _kernels.finish_gradient(W, DT, A, gW, gDT, False)
    np.testing.assert_allclose(gW, DT @ A.T, rtol=1e-12)
    np.testing.assert_allclose(gDT, W @ A, rtol=1e-12)
    general = [np.zeros((4, 9)), np.zeros((4, 9))]
    _kernels.finish_gradient(W, W, A, general[0], general[1], False)
    folded = [np.zeros((4, 9)), np.zeros((4, 9))]
    _kernels.finish_gradient(W, W, A, folded[0], folded[1], True)
    np.testing.assert_allclose(folded[0], general[0] + general[1], rtol=1e-12)
    np.testing.assert_allclose(folded[0], W @ (A + A.T), rtol=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_gradient_against_finite_differences(model):
    W, W_dec, b, importance, X = random_problem(model, 7, 3, 9, 0.6, seed=3)
    _, dW, dW_dec, db = batch_loss_and_gradient(model, W, b, importance, X, W_dec)
    params = {"W": W, "b": b, "W_dec": W_dec}
    analytic = {"W": dW, "b": db, "W_dec": dW_dec}

    def loss_with(name, value):
        changed = {**params, name: value}
        return batch_loss_and_gradient(model, changed["W"], changed["b"], importance, X,
                                       changed["W_dec"])[0]

    h = 1e-6
    for name in ("W", "b", "W_dec") if model == "untied" else ("W", "b"):
        numeric = np.zeros_like(params[name])
        for index in np.ndindex(numeric.shape):
            plus, minus = params[name].copy(), params[name].copy()
            plus[index] += h
            minus[index] -= h
            numeric[index] = (loss_with(name, plus) - loss_with(name, minus)) / (2 * h)
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-6, atol=1e-8,
                                   err_msg=name)


def test_adamw_step_by_hand():
    # Step 1 from p = 1, g = 0.5: m = 0.05, v = 0.00025, m_hat = 0.5, v_hat = 0.25,
    # p = 1 * (1 - 1e-5) - 1e-3 * 0.5 / (0.5 + 1e-8).
    param = np.array([1.0])
    m1, m2 = np.zeros(1), np.zeros(1)
    _kernels.adamw_update(param, np.array([0.5]), m1, m2, 1, 1e-3, 0.01, 0.9, 0.999, 1e-8)
    assert param[0] == pytest.approx(0.99999 - 1e-3 * 0.5 / (0.5 + 1e-8), rel=1e-15, abs=0)
    assert m1[0] == pytest.approx(0.05) and m2[0] == pytest.approx(0.00025)
    # Step 2 with g = -0.2: m = 0.045 - 0.02 = 0.025, v = 0.00024975 + 0.00004 = 0.00028975,
    # m_hat = 0.025 / 0.19, v_hat = 0.00028975 / 0.001999.
    p1 = param[0]
    _kernels.adamw_update(param, np.array([-0.2]), m1, m2, 2, 1e-3, 0.01, 0.9, 0.999, 1e-8)
    m_hat, v_hat = 0.025 / 0.19, 0.00028975 / (1 - 0.999**2)
    assert param[0] == pytest.approx(p1 * 0.99999 - 1e-3 * m_hat / (np.sqrt(v_hat) + 1e-8),
                                     rel=1e-14)
    assert ref.adamw(1.0, [0.5, -0.2]) == pytest.approx(param[0], rel=1e-14)


@pytest.mark.parametrize("probability", [
    [1.0] * 5,  # dense
    [0.3, 0.5, 0.2, 0.9, 0.3],  # Bernoulli, per-feature
    [0.02] * 5,  # skip
    [0.05, 0.01, 0.02, 0.05, 0.001],  # skip with thinning
])
def test_sampler_matches_reference_bit_for_bit(probability):
    source = synthetic_source(np.array([probability]))
    state = stream_state(4, DOMAIN_TOY_BATCH, 17, 0)
    batch = 2500  # crosses two chunk boundaries (CHUNK = 1024)
    got = _kernels.draw_dense_batch(5, source.mode[0], source.presence_threshold[0],
                                    source.thinning_threshold[0], source.log_q[0],
                                    source.row_indptr, source.row_indices, source.row_data,
                                    np.uint64(state), batch)
    np.testing.assert_array_equal(got, ref.draw_synthetic(probability, state, batch))


def test_rows_sampler_matches_reference():
    rng = np.random.default_rng(5)
    dense = rng.random((30, 6)) * (rng.random((30, 6)) < 0.4)
    csr = np.nonzero(dense)
    features = PercolationFeatures(
        indptr=np.concatenate([[0], np.cumsum((dense != 0).sum(axis=1))]).astype(np.int64),
        indices=csr[1].astype(np.int64), data=dense[csr], column=np.arange(6),
        frequency=np.zeros(6), depth=np.full(6, -1))
    source = rows_source(features, 1)
    state = stream_state(2, DOMAIN_TOY_BATCH, 3, 0)
    got = _kernels.draw_dense_batch(6, source.mode[0], source.presence_threshold[0],
                                    source.thinning_threshold[0], source.log_q[0],
                                    source.row_indptr, source.row_indices, source.row_data,
                                    np.uint64(state), 1500)
    np.testing.assert_array_equal(got, ref.draw_rows(dense, state, 1500))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("probability", [0.4, 0.03])
def test_batch_loop_equals_loss_on_the_drawn_batch(model, probability):
    # batch_loss_grad draws 2100 samples in three chunks and takes the empty-sample shortcut;
    # the result must equal the reference on the very batch it drew.
    n, m, batch = 8, 3, 2100
    W, W_dec, b, importance, _ = random_problem(model, n, m, 1, 1.0, seed=6)
    b = np.abs(b)  # positive biases: empty samples have a non-zero loss and bias gradient
    source = synthetic_source(np.full((1, n), probability))
    state = np.uint64(stream_state(1, DOMAIN_TOY_BATCH, 0, 0))
    args = (source.mode[0], source.presence_threshold[0], source.thinning_threshold[0],
            source.log_q[0], source.row_indptr, source.row_indices, source.row_data)
    DT = W if W_dec is None else np.ascontiguousarray(W_dec.T)
    gW, gDT, gb = np.empty((m, n)), np.empty((m, n)), np.empty(n)
    scratch = _kernels.chunk_scratch(n, batch, model != "hidden_relu")
    loss = _kernels.batch_loss_grad(CODE[model], W, DT, b, importance, *args, state, batch,
                                    True, gW, gDT, gb, *scratch)
    X = _kernels.draw_dense_batch(n, *args, state, batch)
    want = ref.loss_and_gradient(model, W, b, importance, X, W_dec)
    np.testing.assert_allclose(loss, want[0], rtol=1e-12)
    np.testing.assert_allclose(gW, want[1], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(gb, want[3], rtol=1e-9, atol=1e-14)
    if model == "untied":
        np.testing.assert_allclose(gDT.T, want[2], rtol=1e-9, atol=1e-14)
