"""The SGLD estimator of the local learning coefficient (spec 5, T12) and its link with the
cutoff slope of the volume (spec 5.5, T13)."""

import math

import numpy as np
import pytest
from scipy import integrate

from percolation_tms.basins import default_nbeta, estimate_llc, search_radii, summarise
from percolation_tms.basins.llc import expected_llc_quadratic


def crossing(k1, k2):
    """L - L0 = (w1^k1 w2^k2)^2 (E[x^2] = 1) and its gradient."""
    def loss_and_grad(w):
        a = w[0] ** k1 * w[1] ** k2
        d1 = k1 * w[0] ** (k1 - 1) * w[1] ** k2 if k1 else 0.0
        d2 = k2 * w[0] ** k1 * w[1] ** (k2 - 1) if k2 else 0.0
        return a * a, np.array([2 * a * d1, 2 * a * d2])
    return loss_and_grad


def exact_tempered_llc(k1, k2, nbeta, gamma):
    """n beta E[K] under exp(-n beta K - gamma |w|^2 / 2), by quadrature on a fine grid."""
    x = np.linspace(-8, 8, 4001)
    X, Y = np.meshgrid(x, x)
    K = (X**k1 * Y**k2) ** 2
    log_w = -nbeta * K - 0.5 * gamma * (X**2 + Y**2)
    w = np.exp(log_w - log_w.max())
    return nbeta * (w * K).sum() / w.sum()


def test_t12_quadratic_matches_the_sgld_closed_form():
    h = np.array([0.5, 1.0, 2.0, 3.0, 5.0, 8.0])
    loss_and_grad = lambda w: (0.5 * float(w @ (h * w)) + 0.25, h * w)
    settings = {"nbeta": 100.0, "localization": 1.0, "step_size": 1e-3, "n_burnin": 100,
                    "n_draws": 400}
    est = estimate_llc(loss_and_grad, np.zeros(6), 1000, n_chains=32, seed=0, **settings)
    expected = expected_llc_quadratic(h, **settings)
    sem = est.llc_std / math.sqrt(32)
    assert abs(est.llc_mean - expected) < 3 * sem
    assert est.init_loss == 0.25 and est.loss_traces.shape == (32, 400)
    # small steps, long chains: the exact posterior's (1/2) sum n beta h / (n beta h + gamma)
    limit = expected_llc_quadratic(h, 100.0, 1.0, 1e-7, 10**9, 10**6)
    assert limit == pytest.approx(0.5 * np.sum(100 * h / (100 * h + 1)), rel=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("k", [(0, 1), (1, 2), (1, 3)])
def test_t12_normal_crossing_with_the_defaults(k):
    n = 10_000
    est = estimate_llc(crossing(*k), np.zeros(2), n, seed=1)
    lam = 1.0 / (2 * max(k))
    assert abs(est.llc_mean - lam) < 3.5 * est.llc_std
    # the finite-n beta value the sampler targets, computed exactly
    exact = exact_tempered_llc(*k, default_nbeta(n), 1.0)
    assert abs(est.llc_mean - exact) < 3.5 * est.llc_std / math.sqrt(est.llc_per_chain.size)
    assert not est.nonfinite


def test_determinism_and_chain_independence():
    f = crossing(1, 1)
    a = estimate_llc(f, np.array([0.1, 0.2]), 1000, n_chains=3, n_draws=50, n_burnin=10)
    b = estimate_llc(f, np.array([0.1, 0.2]), 1000, n_chains=3, n_draws=50, n_burnin=10)
    np.testing.assert_array_equal(a.loss_traces, b.loss_traces)
    c = estimate_llc(f, np.array([0.1, 0.2]), 1000, n_chains=2, n_draws=50, n_burnin=10)
    np.testing.assert_array_equal(c.loss_traces, a.loss_traces[:2])
    d = estimate_llc(f, np.array([0.1, 0.2]), 1000, n_chains=3, n_draws=50, n_burnin=10,
                     seed=1)
    assert not np.array_equal(d.loss_traces, a.loss_traces)


def test_flags():
    # a loss that keeps falling away from w*: negative estimates
    down = lambda w: (-float(w @ w), -2 * w)
    est = estimate_llc(down, np.zeros(3), 1000, n_chains=4, n_draws=200, n_burnin=0,
                       step_size=1e-3, localization=0.0)
    assert est.negative.all() and est.llc_mean < 0
    assert est.rising is False
    up = lambda w: (float(w @ w), 2 * w)
    slow = estimate_llc(up, np.zeros(3), 1000, n_chains=4, n_draws=400, n_burnin=0,
                        step_size=1e-6, nbeta=1.0, localization=0.0)
    assert slow.rising  # far from equilibrium: still rising


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_data": 1}, "n_data"), ({"step_size": 0.0}, "step_size"),
    ({"n_chains": 0}, "n_chains"), ({"localization": -1.0}, "localization"),
    ({"anchor": np.array([np.inf, 0.0])}, "anchor"), ({"nbeta": -1.0}, "nbeta")])
def test_errors_name_the_argument(kwargs, message):
    args = {"anchor": np.zeros(2), "n_data": 100}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        estimate_llc(crossing(1, 1), args.pop("anchor"), args.pop("n_data"), **args)


def _exact_log_probability(k1, k2, eps):
    """ln mu{K <= eps} under N(0, I_2): (2/pi) int_0^(pi/2) P(1, R(phi)^2 / 2) dphi."""
    f = lambda phi: -np.expm1(-0.5 * (eps / (np.cos(phi) ** (2 * k1) * np.sin(phi) ** (
        2 * k2))) ** (1 / (k1 + k2)))
    value, _ = integrate.quad(f, 0, np.pi / 2, points=[1e-8, 1e-6, 1e-4, 1e-2], limit=1000)
    return math.log(value / (np.pi / 2))


@pytest.mark.parametrize(("k", "lam"), [((1, 2), 0.25), ((1, 3), 1 / 6)])
def test_t13_cutoff_slope_on_the_normal_crossing_is_lambda(k, lam):
    cost = lambda w: (w[:, 0] ** k[0] * w[:, 1] ** k[1]) ** 2
    cutoffs = (1e-14, 1e-12)
    exact = [_exact_log_probability(*k, eps) for eps in cutoffs]
    exact_slope = (exact[1] - exact[0]) / math.log(100)
    assert exact_slope == pytest.approx(lam, abs=1e-3)  # spec 5.5: 0.2500, 0.1667
    estimates = []
    for eps in cutoffs:
        rays = search_radii(cost, np.zeros(2), eps, n_directions=50_000, seed=1)
        estimates.append(summarise(rays, np.zeros(2), "gaussian", 1.0).log_mean_exp)
    slope = (estimates[1] - estimates[0]) / math.log(100)
    assert slope == pytest.approx(lam, abs=0.02)
