"""Training: determinism (runs, threads, neighbouring instances) and the expected behaviour
of specification section 4, with the bounds stated there."""

import numba
import numpy as np
import pytest

from percolation_tms.toymodels.config import ToyConfig
from percolation_tms.toymodels.measure import measure_weights
from percolation_tms.toymodels.train import init_weights, train_toy


def small(**changes):
    settings = {"sparsities": (0.0, 0.7, 0.99, 0.999), "seeds": (0, 1), "steps": 300,
                "batch_size": 256, "eval_batch_size": 5000, "history_every": 50}
    return ToyConfig(**{**settings, **changes})


def result_arrays(run):
    arrays = [run.result.W, run.result.b, run.result.loss_history, run.result.eval_loss]
    return arrays + ([run.result.W_dec] if run.result.W_dec is not None else [])


@pytest.mark.parametrize("model", ["tied", "untied", "hidden_relu"])
def test_bit_identical_across_runs_and_thread_counts(model):
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = train_toy(small(model=model), progress=False)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = train_toy(small(model=model), progress=False)
        again = train_toy(small(model=model), progress=False)
    finally:
        numba.set_num_threads(threads)
    for a, b, c in zip(result_arrays(one), result_arrays(two), result_arrays(again)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(b, c)


def test_an_instance_does_not_depend_on_the_others():
    alone = train_toy(small(sparsities=(0.99,), seeds=(1,)), progress=False)
    together = train_toy(small(), progress=False)
    index = 5  # sparsity 0.99 (third setting), seed 1 (second seed)
    assert together.instances.sparsity[index] == 0.99 and together.instances.model_seed[index] == 1
    np.testing.assert_array_equal(alone.result.W[0], together.result.W[index])
    np.testing.assert_array_equal(alone.result.eval_loss[0], together.result.eval_loss[index])


def test_initialisation_is_xavier_normal():
    W, W_dec = init_weights("untied", 40, 10, [0, 1, 2])
    assert W.shape == (3, 10, 40) and W_dec.shape == (3, 40, 10)
    std = np.sqrt(2 / 50)
    for weights in (W, W_dec):  # 1200 values each: std within 10 %
        assert abs(weights.std() / std - 1) < 0.1 and abs(weights.mean()) < 0.05
    assert not np.array_equal(W[0], W[1])


def test_loss_history_windows():
    run = train_toy(small(steps=230, history_every=50), progress=False)
    assert run.result.history_steps.tolist() == [50, 100, 150, 200, 230]
    assert run.result.loss_history.shape == (8, 5)
    assert np.all(np.isfinite(run.result.loss_history))


@pytest.fixture(scope="module")
def section4_tied():
    """The specification's sweep: tied, n = 20, m = 5, I_i = 0.7^i, 10,000 steps of 1024."""
    run = train_toy(ToyConfig(model="tied", seeds=(0,)), progress=False)
    return run, measure_weights(run.result.W, run.result.b)


@pytest.mark.slow
def test_dense_case_represents_m_features_orthogonally(section4_tied):
    run, measured = section4_tied
    dense = 0  # S = 0
    represented = measured.represented[dense]
    assert represented.sum() == 5
    assert represented[:5].all()  # the five most important
    gram = measured.WtW[dense][np.ix_(represented, represented)]
    np.testing.assert_allclose(gram, np.eye(5), atol=0.05)
    np.testing.assert_allclose(measured.b[dense][~represented], 0.5, atol=0.05)
    # the loss of that solution, 15 features on their mean: 2.32e-3 in the table
    assert run.result.eval_loss[dense] == pytest.approx(2.32e-3, abs=0.005e-3)


@pytest.mark.slow
def test_superposition_grows_with_sparsity(section4_tied):
    _, measured = section4_tied
    counts = measured.represented.sum(axis=1)  # S = 0, 0.7, 0.9, 0.99, 0.999
    assert np.all(np.diff(counts) >= 0) and counts[-1] > counts[0]
    assert counts[-1] >= 12
    # dimensions per feature fall from 1 (dense) as features share dimensions
    assert measured.dims_per_feature[0] == pytest.approx(1.0, abs=0.05)
    assert measured.dims_per_feature[-1] < 0.5


@pytest.mark.slow
def test_linear_control_never_exceeds_m():
    run = train_toy(ToyConfig(model="linear", seeds=(0,)), progress=False)
    assert np.all(measure_weights(run.result.W, run.result.b).represented.sum(axis=1) <= 5)


@pytest.mark.slow
def test_five_features_in_two_dimensions_form_a_pentagon():
    run = train_toy(ToyConfig(n_features=5, n_hidden=2, sparsities=(0.95,), importance=(1.0,)),
                    progress=False)
    W = run.result.W[0]
    # about unit norm (the columns settle slightly above 1 to offset a negative bias) ...
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=0.25)
    # ... and about 72 degrees apart
    angles = np.sort(np.degrees(np.arctan2(W[1], W[0])) % 360)
    gaps = np.diff(np.append(angles, angles[0] + 360))
    np.testing.assert_allclose(gaps, 72.0, atol=5.0)
