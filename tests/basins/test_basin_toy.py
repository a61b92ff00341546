"""Toy-model costs: kernels against plain-Python references, gradients and the Gauss-Newton
matrix against finite differences, the compiled SGLD chains against the generic loop, run
loading and its errors."""

import numpy as np
import pytest

from percolation_tms.basins import _kernels, estimate_llc
from percolation_tms.basins.config import BasinConfig, LLCConfig
from percolation_tms.basins.toy import (
    ToyCost,
    ToyLoss,
    flatten,
    load_instance,
    toy_basin_and_llc,
    toy_basin_volume,
    toy_llc,
    unflatten,
)

MODELS = ("tied", "untied", "linear", "hidden_relu")


def fake_run(model, n=6, m=2, count=3, seed=0):
    rng = np.random.default_rng(seed)
    weights = {"W": rng.normal(0, 0.6, (count, m, n)), "b": rng.normal(0, 0.1, (count, n)),
               "importance": np.tile(0.9 ** np.arange(n), (count, 1)),
               "feature_probability": np.tile(np.linspace(0.3, 0.8, n), (count, 1)),
               "sparsity": np.full(count, 0.45), "seed": np.arange(count)}
    if model == "untied":
        weights["W_dec"] = rng.normal(0, 0.6, (count, n, m))
    return model, weights


def reference_outputs(model, w, X, n, m):
    W, b, W_dec = unflatten(model, w, n, m)
    out = np.empty_like(X)
    for r, x in enumerate(X):
        h = [sum(W[q, j] * x[j] for j in range(n)) for q in range(m)]
        if model == "hidden_relu":
            h = [max(v, 0.0) for v in h]
        for i in range(n):
            dec = [W_dec[i, q] if model == "untied" else W[q, i] for q in range(m)]
            o = b[i] + sum(dec[q] * h[q] for q in range(m))
            out[r, i] = o if model == "linear" else max(o, 0.0)
    return out


def reference_cost(cost, w):
    out = reference_outputs(cost.instance.model, w, cost.rows, cost.n, cost.m)
    per_row = ((out - cost.target) ** 2 * cost.importance).sum(axis=1)
    return (per_row * cost.row_weight).sum() / (cost.row_weight.sum() * cost.n)


@pytest.mark.parametrize("model", MODELS)
def test_outputs_and_costs_match_the_reference(model):
    inst = load_instance(fake_run(model), 1)
    for kind in ("output", "loss"):
        cost = ToyCost(inst, kind, eval_samples=60)
        rng = np.random.default_rng(1)
        points = inst.anchor + rng.normal(0, 0.2, (5, inst.n_params))
        np.testing.assert_allclose(cost.outputs(points[0]),
                                   reference_outputs(model, points[0], cost.rows, 6, 2),
                                   atol=1e-13)
        expected = [reference_cost(cost, p) - cost.offset for p in points]
        np.testing.assert_allclose(cost(points), expected, rtol=1e-11, atol=1e-15)
        sparse = _kernels.toy_cost_many(cost.model_code, 6, 2, points, cost.indptr,
                                        cost.indices, cost.values, cost.row_weight,
                                        cost.target, cost.importance, cost.offset)
        np.testing.assert_allclose(sparse, expected, rtol=1e-11, atol=1e-15)
        assert cost(inst.anchor[None, :])[0] == 0.0  # exactly
    assert cost.anchor_loss == pytest.approx(reference_cost(cost, inst.anchor))


def test_eval_set_empty_rows_folded_and_stream_keyed():
    inst = load_instance(fake_run("tied"), 0)
    cost = ToyCost(inst, "output", eval_samples=500)
    X = _kernels.draw_eval_set(inst.seed, inst.probability, 500)
    empty = int((~(X != 0).any(axis=1)).sum())
    assert empty > 0 and cost.row_weight[-1] == empty and cost.row_weight.sum() == 500
    np.testing.assert_array_equal(cost.rows[:-1], X[(X != 0).any(axis=1)])
    # presence frequencies follow p
    big = _kernels.draw_eval_set(inst.seed, inst.probability, 20_000)
    np.testing.assert_allclose((big != 0).mean(axis=0), inst.probability, atol=0.015)
    assert big.max() < 1.0 and big.min() >= 0.0


@pytest.mark.parametrize("model", MODELS)
def test_gradient_matches_finite_differences(model):
    inst = load_instance(fake_run(model), 2)
    for kind in ("output", "loss"):
        cost = ToyCost(inst, kind, eval_samples=80)
        w = inst.anchor + np.random.default_rng(3).normal(0, 0.1, inst.n_params)
        loss, grad = cost.loss_and_grad(w)
        assert loss == pytest.approx(reference_cost(cost, w), rel=1e-12)
        step = 1e-6
        numeric = np.array([(cost.loss_and_grad(w + step * e)[0]
                             - cost.loss_and_grad(w - step * e)[0]) / (2 * step)
                            for e in np.eye(inst.n_params)])
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_gauss_newton_is_the_hessian_of_the_output_distance(model):
    inst = load_instance(fake_run(model), 0)
    cost = ToyCost(inst, "output", eval_samples=80)
    G = cost.gauss_newton(chunk=7)
    step = 1e-5
    dim = inst.n_params
    eye = np.eye(dim)
    # the output distance is exactly quadratic in the output, so the Hessian at theta is the
    # finite difference of the gradient (no ReLU changes its state within the step)
    numeric = np.array([(cost.loss_and_grad(inst.anchor + step * eye[j])[1]
                         - cost.loss_and_grad(inst.anchor - step * eye[j])[1]) / (2 * step)
                        for j in range(dim)])
    np.testing.assert_allclose(G, numeric, atol=1e-7 * np.abs(G).max())
    assert np.linalg.eigvalsh(G).min() > -1e-12


def test_compiled_chains_equal_the_generic_loop():
    inst = load_instance(fake_run("untied"), 1)
    cost = ToyCost(inst, "output", eval_samples=50)
    settings = {"n_chains": 3, "n_burnin": 5, "n_draws": 20, "draw_every": 2, "step_size": 1e-3, "seed": 4}
    fast = estimate_llc(ToyLoss(cost), inst.anchor, 50, **settings)
    slow = estimate_llc(ToyLoss(cost, compiled=False), inst.anchor, 50, **settings)
    np.testing.assert_array_equal(fast.loss_traces, slow.loss_traces)
    assert abs(fast.init_loss) < 1e-25  # f_theta by the hidden layer, C by the M path


def test_toy_helpers_run_and_are_deterministic(tmp_path):
    run = fake_run("tied")
    config = BasinConfig(n_directions=20, eval_samples=100, cutoff_rel=(0.1, 1.0),
                         n_bootstrap=50)
    first = toy_basin_volume(run, 0, config)
    again = toy_basin_volume(run, 0, config)
    assert len(first) == 2
    np.testing.assert_array_equal(first[0].gaussian.estimates, again[0].gaussian.estimates)
    assert first[1].uniform.log_mean_exp > first[0].uniform.log_mean_exp
    b = first[0]
    assert b.log_density_ratio == pytest.approx(
        b.gaussian.log_mean_exp - b.gaussian.log_prior_at_anchor - b.uniform.log_mean_exp)
    full = toy_basin_volume(run, 0, BasinConfig(n_directions=20, eval_samples=100,
                                                preconditioner="full", n_bootstrap=50))
    assert np.isfinite(full[0].gaussian.log_mean_exp)
    result = toy_llc(run, 0, LLCConfig(n_chains=2, n_draws=30, n_burnin=10, eval_samples=100))
    assert result.estimate.loss_traces.shape == (2, 30)
    assert result.estimate.step_size == pytest.approx(
        0.1 / (result.estimate.nbeta * result.max_curvature + 1.0))
    assert 0 < result.quadratic_expectation < result.exact_posterior_quadratic < 9
    basins, both = toy_basin_and_llc(run, 0, config, LLCConfig(
        n_chains=2, n_draws=30, n_burnin=10, eval_samples=100))
    np.testing.assert_array_equal(basins[0].gaussian.estimates, first[0].gaussian.estimates)
    np.testing.assert_array_equal(both.estimate.loss_traces, result.estimate.loss_traces)


def test_flatten_round_trip_and_instance_errors():
    model, weights = fake_run("untied")
    w = flatten(model, weights["W"][0], weights["b"][0], weights["W_dec"][0])
    W, _b, W_dec = unflatten(model, w, 6, 2)
    np.testing.assert_array_equal(W, weights["W"][0])
    np.testing.assert_array_equal(W_dec, weights["W_dec"][0])
    with pytest.raises(ValueError, match="instance"):
        load_instance((model, weights), 3)
    with pytest.raises(ValueError, match="instance"):
        load_instance((model, weights), -1)
    weights["W"][1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        load_instance((model, weights), 1)
    with pytest.raises(ValueError, match="model"):
        load_instance(("relu", weights), 0)
