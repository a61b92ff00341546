"""Training kernels against references, gradients against finite differences, determinism."""

import os
import subprocess
import sys

import numpy as np
import pytest
from pr_reference import adam, loss_and_gradient

from percolation_tms.persianrug import _kernels, train, train_large
from percolation_tms.persianrug.data import sample_batch
from percolation_tms.persianrug.theory import linear_optimum_loss


def _model(n, m, seed, dtype=np.float64, bias=None):
    params = train.init_parameters(n, m, seed, dtype)
    if bias is not None:
        params.bias[:] = bias
    return params


@pytest.mark.parametrize("bias", [None, -0.35])  # dense g path / sparse g path
def test_loss_and_gradient_equal_the_dense_reference(bias):
    n, m = 48, 12
    params = _model(n, m, 1, bias=bias)
    batch = sample_batch(0, 0, 0, 0, 37, n, 0.2, np.float64)
    loss, grads = train.loss_and_gradient(params, batch)
    X = batch.dense()
    want = loss_and_gradient(params.enc, params.dec, params.bias, X)
    assert loss == pytest.approx(want[0], rel=1e-12)
    for got, ref in zip((grads.enc, grads.dec, grads.bias), want[1:]):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-15)


def test_sparse_and_dense_gradient_paths_agree():
    params = _model(40, 10, 2, bias=-0.2)
    batch = sample_batch(0, 0, 3, 0, 25, 40, 0.2, np.float64)
    _, sparse = train.loss_and_gradient(params, batch, sparse_below=1.0)
    sparse = sparse.flat.copy()
    _, dense = train.loss_and_gradient(params, batch, sparse_below=0.0)
    np.testing.assert_allclose(sparse, dense.flat, rtol=1e-12, atol=1e-16)


def test_gradient_matches_finite_differences():
    n, m = 24, 6
    params = _model(n, m, 3)
    batch = sample_batch(0, 0, 1, 0, 30, n, 0.3, np.float64)
    _, grads = train.loss_and_gradient(params, batch)
    grads = grads.flat.copy()
    rng = np.random.default_rng(0)
    for k in rng.choice(params.flat.size, 25, replace=False):
        old = params.flat[k]
        params.flat[k] = old + 1e-6
        up, _ = train.loss_and_gradient(params, batch)
        params.flat[k] = old - 1e-6
        down, _ = train.loss_and_gradient(params, batch)
        params.flat[k] = old
        assert (up - down) / 2e-6 == pytest.approx(grads[k], rel=1e-5, abs=1e-10)


def test_adam_equals_the_reference():
    rng = np.random.default_rng(1)
    param, grad = rng.normal(size=50), rng.normal(size=50)
    m1, m2 = rng.normal(size=50) * 0.1, rng.random(50) * 0.1
    want = adam(param, grad, m1, m2, 1e-3, 0.9, 0.999, 1e-7, 7)
    p, a, b = param.copy(), m1.copy(), m2.copy()
    _kernels.adam_update(p, grad, a, b, 1e-3, 0.9, 0.999, 1e-7, 7)
    for got, ref in zip((p, a, b), want):
        np.testing.assert_allclose(got, ref, rtol=1e-13)


def test_init_follows_pytorch_bounds():
    n, m = 256, 16
    params = _model(n, m, 0)
    assert np.abs(params.enc).max() <= 1 / np.sqrt(n)
    assert np.abs(params.dec).max() <= 1 / np.sqrt(m)
    assert np.abs(params.enc).max() > 0.95 / np.sqrt(n)


def test_training_is_bit_identical_on_rerun():
    a = train_large(64, 16, 0.1, seed=2, steps=30, eval_samples=500)
    b = train_large(64, 16, 0.1, seed=2, steps=30, eval_samples=500)
    for name in ("W_in", "W_out", "b", "history"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.loss == b.loss


def test_repo_schedule_has_the_public_epochs_and_stopping_rule():
    sizes = list(train._batch_sizes("repo", 65, 1024))
    # Epochs of 29 batches of 1024 and one of 304; None marks where the rule is checked.
    assert sizes[:30] == [1024] * 29 + [304] and sizes[30] is None
    assert [s for s in sizes if s is not None] == ([1024] * 29 + [304]) * 2 + [1024] * 5
    falling = list(np.geomspace(1, 0.5, 401))
    assert not train._stop(falling, 200) and not train._stop(falling[:400], 200)
    assert train._stop(falling[::-1], 200) and train._stop([1.0] * 401, 200)
    model = train_large(32, 8, 0.2, steps=70, schedule="repo", eval_samples=200)
    assert model.steps == 70 and model.history.shape == (70,)


_THREADS_SCRIPT = """
import hashlib, numpy as np
from percolation_tms.persianrug import train_large
m = train_large(64, 32, 0.1, seed=1, steps=40, eval_samples=300)
print(hashlib.sha256(np.concatenate([m.W_in.ravel(), m.W_out.ravel(), m.b]).tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_numba_thread_count_does_not_change_bits():
    digests = set()
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads, OPENBLAS_NUM_THREADS="1")
        out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env, check=True,
                             capture_output=True, text=True).stdout
        digests.add(out.strip())
    assert len(digests) == 1


@pytest.mark.slow
@pytest.mark.parametrize("m,p", [(32, 0.2), (64, 0.2)])
def test_trained_models_beat_the_linear_optimum(m, p):
    # Check 6 at cells with p n >= 20 and p <= m / n.
    model = train_large(128, m, p, steps=600, eval_samples=5000)
    assert model.loss < linear_optimum_loss(128, m, p)
