"""The ray estimator on basins with closed forms (spec 6: T3-T10), its errors and determinism."""

import math

import numpy as np
import pytest
from scipy import stats

from percolation_tms.basins import estimate_log_probability, search_radii
from percolation_tms.basins.precondition import (
    adam_preconditioner,
    diagonal_preconditioner,
    full_preconditioner,
)
from percolation_tms.basins.volume import log_gamma_p, log_unit_ball_volume, summarise


def quadratic(h, center=None):
    h = np.asarray(h, dtype=np.float64)

    def cost(w):
        x = w if center is None else w - center
        return 0.5 * (x**2 * h).sum(axis=1)
    return cost


def log_volume_quadratic(h, eps):
    """ln Vol{x^T H x <= 2 eps} = (D/2) ln pi - lnGamma(D/2+1) + (D/2) ln(2 eps) - sum ln h / 2."""
    d = len(h)
    return log_unit_ball_volume(d) + 0.5 * d * math.log(2 * eps) - 0.5 * np.log(h).sum()


def test_t3_isotropic_quadratic_prior_at_anchor_every_ray_exact():
    dim, h, eps, sigma = 40, 3.0, 0.2, 0.7
    anchor = np.linspace(-1, 1, dim)
    est = estimate_log_probability(quadratic(np.full(dim, h), anchor), anchor, eps,
                                   sigma=sigma, n_directions=50, prior_center=anchor)
    expected = log_gamma_p(dim / 2, eps / (h * sigma**2))
    np.testing.assert_allclose(est.estimates, expected, atol=dim * 2e-8)
    assert est.std_log < 1e-6


def test_t4_diagonal_quadratic_preconditioned_rays_are_exact():
    rng = np.random.default_rng(4)
    h = np.exp(rng.normal(size=30))
    eps = 1e-2
    p = h**-0.5 * 7.0  # any scale: the determinant is corrected for
    est = estimate_log_probability(quadratic(h), np.zeros(30), eps, prior="uniform",
                                   n_directions=40, preconditioner=p)
    np.testing.assert_allclose(est.estimates, log_volume_quadratic(h, eps), atol=30 * 2e-8)


@pytest.mark.parametrize("dim", [100, 1000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_t5_naive_rays_fall_short_by_the_predicted_gap(dim):
    rng = np.random.default_rng(dim)
    h = np.exp(rng.normal(size=dim))
    eps = 1e-2
    est = estimate_log_probability(quadratic(h), np.zeros(dim), eps, prior="uniform",
                                   n_directions=200)
    truth = log_volume_quadratic(h, eps)
    gap = 0.5 * dim * (np.log(h.mean()) - np.log(h).mean())
    # the spec's draws: gap 21.25, 257.8, 2504 (D = 100, 1e3, 1e4); ours are draws of that law
    assert 0.5 * dim * 0.3 < gap < 0.5 * dim * 0.7
    assert abs(est.mean_log - (truth - gap)) < 0.05 * gap
    assert est.log_mean_exp < truth  # the LME recovers only part of the gap


def box_cost(anchor, s):
    return lambda w: (np.abs(w - anchor) / s).max(axis=1)


def test_t6_box_gaussian_log_probability():
    anchor = np.array([0.5, -0.2, 1.0])
    s = np.array([0.3, 0.6, 0.2])
    est = estimate_log_probability(box_cost(anchor, s), anchor, 1.0, sigma=1.0,
                                   n_directions=20_000, seed=6)
    truth = np.sum(np.log(stats.norm.cdf(anchor + s) - stats.norm.cdf(anchor - s)))
    assert est.interval[0] <= truth <= est.interval[1]
    assert est.mean_log < truth
    uniform = estimate_log_probability(box_cost(anchor, s), anchor, 1.0, prior="uniform",
                                       n_directions=20_000, seed=6)
    assert uniform.interval[0] <= np.sum(np.log(2 * s)) <= uniform.interval[1]


def test_t7_ball_noncentral_chi_square():
    dim, radius = 50, 4.0
    anchor = 0.3 * np.random.default_rng(7).normal(size=dim)
    cost = lambda w: np.linalg.norm(w - anchor, axis=1)
    est = estimate_log_probability(cost, anchor, radius, sigma=1.0, n_directions=20_000,
                                   seed=7)
    truth = stats.ncx2.logcdf(radius**2, dim, anchor @ anchor)
    assert est.interval[0] <= truth <= est.interval[1]
    # centred: every ray is ln P(D/2, R^2/2)
    centred = estimate_log_probability(lambda w: np.linalg.norm(w, axis=1), np.zeros(dim),
                                       radius, n_directions=20)
    np.testing.assert_allclose(centred.estimates, log_gamma_p(dim / 2, radius**2 / 2),
                               atol=1e-6)


def test_t8_radius_search():
    rng = np.random.default_rng(8)
    h = np.exp(rng.normal(size=12))
    eps = 0.3
    cost = quadratic(h)
    rays = search_radii(cost, np.zeros(12), eps, n_directions=300, seed=1)
    # R is where Delta was evaluated, and Delta(R) is that evaluation
    points = rays.radius[:, None] * rays.directions
    np.testing.assert_array_equal(cost(points), rays.radius_cost)
    exact = np.sqrt(2 * eps / ((rays.directions**2) * h).sum(axis=1))
    assert np.max(np.abs(np.log(rays.radius / exact))) < 1e-6
    assert np.all(rays.lower < rays.radius * (1 + 1e-12)) and np.all(rays.upper >= rays.lower)
    assert not rays.capped.any() and not rays.nonmonotone.any()
    # unbounded half-space: rays with d_0 < 0 never reach the cutoff and are capped
    half = lambda w: 0.5 * np.maximum(w[:, 0], 0.0) ** 2
    rays = search_radii(half, np.zeros(5), 0.1, n_directions=400, sigma=1.0)
    reach = np.sqrt(0.2) / np.maximum(rays.directions[:, 0], 1e-300)
    np.testing.assert_array_equal(rays.capped, reach >= rays.max_radius)
    assert rays.capped[rays.directions[:, 0] < 0].all()
    assert np.all(rays.radius[rays.capped] == rays.max_radius)
    assert rays.max_radius == pytest.approx(math.sqrt(5) + 40)


def test_t8_nonmonotone_rays_are_flagged():
    # a thin shell at radius 0.01 with the cutoff reached again beyond r = 1
    def shell(w):
        r = np.linalg.norm(w, axis=1)
        return np.where(np.abs(r - 0.01) < 0.002, 1.0, 0.0) + np.maximum(r - 1, 0)
    rays = search_radii(shell, np.zeros(3), 0.5, n_directions=20, initial_radius=0.5)
    assert rays.nonmonotone.all()


def test_t9_cutoff_scan_slope_is_half_dim():
    rng = np.random.default_rng(9)
    dim = 20
    h = np.exp(rng.normal(size=dim))
    cutoffs = np.logspace(-8, -4, 5)
    uniform, gaussian = [], []
    for eps in cutoffs:
        rays = search_radii(quadratic(h), np.zeros(dim), eps, n_directions=100)
        uniform.append(summarise(rays, np.zeros(dim), "uniform", 1.0).log_mean_exp)
        gaussian.append(summarise(rays, np.zeros(dim), "gaussian", 1.0).log_mean_exp)
    slope_uniform = np.polyfit(np.log(cutoffs), uniform, 1)[0]
    slope_gaussian = np.polyfit(np.log(cutoffs), gaussian, 1)[0]
    assert slope_uniform == pytest.approx(dim / 2, abs=1e-6)
    assert slope_gaussian == pytest.approx(dim / 2, rel=1e-3)


def test_t10_preconditioners_normalised_and_determinant_corrected():
    rng = np.random.default_rng(10)
    dim = 8
    A = rng.normal(size=(dim, dim))
    G = A @ A.T + 0.1 * np.eye(dim)
    for p in (adam_preconditioner(rng.uniform(1e-6, 1, dim)), diagonal_preconditioner(G)):
        assert np.log(p).sum() == pytest.approx(0.0, abs=1e-12)
    P = full_preconditioner(G)
    assert np.linalg.slogdet(P)[1] == pytest.approx(0.0, abs=1e-10)
    np.testing.assert_allclose(P, P.T, atol=1e-14)
    cost = lambda w: 0.5 * np.einsum("kd,de,ke->k", w, G, w)
    base = estimate_log_probability(cost, np.zeros(dim), 0.1, prior="uniform",
                                    n_directions=30, preconditioner=P)
    scaled = estimate_log_probability(cost, np.zeros(dim), 0.1, prior="uniform",
                                      n_directions=30, preconditioner=3.0 * P)
    np.testing.assert_allclose(scaled.estimates, base.estimates, atol=1e-6)
    # rotated back, with e = 1/2 and eps -> 0, every ray of a quadratic is exact (spec 3.3)
    exact = log_unit_ball_volume(dim) + 0.5 * dim * math.log(0.2) - 0.5 * np.linalg.slogdet(G)[1]
    exact_p = full_preconditioner(G, eps=0.0)
    est = estimate_log_probability(cost, np.zeros(dim), 0.1, prior="uniform", n_directions=30,
                                   preconditioner=exact_p)
    np.testing.assert_allclose(est.estimates, exact, atol=1e-6)
    # without rotating back (the public code's x^T V diag(p), i.e. P = diag(p) V^T) the rays
    # are not exact
    lam, V = np.linalg.eigh(G)
    unrotated = (V * (lam**-0.5 / np.exp(np.log(lam**-0.5).mean()))).T
    wrong = estimate_log_probability(cost, np.zeros(dim), 0.1, prior="uniform",
                                     n_directions=30, preconditioner=unrotated)
    assert wrong.std_log > 0.1


def test_deterministic_and_prefix_stable():
    cost = quadratic(np.arange(1, 7, dtype=float), np.zeros(6) + 0.1)
    a = estimate_log_probability(cost, np.zeros(6) + 0.1, 0.05, n_directions=64, seed=3)
    b = estimate_log_probability(cost, np.zeros(6) + 0.1, 0.05, n_directions=64, seed=3)
    np.testing.assert_array_equal(a.estimates, b.estimates)
    np.testing.assert_array_equal(a.interval, b.interval)
    c = estimate_log_probability(cost, np.zeros(6) + 0.1, 0.05, n_directions=32, seed=3)
    np.testing.assert_array_equal(c.estimates, a.estimates[:32])
    d = estimate_log_probability(cost, np.zeros(6) + 0.1, 0.05, n_directions=64, seed=4)
    assert not np.array_equal(d.estimates, a.estimates)


def test_aggregates_and_decomposition_fields():
    est = estimate_log_probability(quadratic(np.ones(4), 0.5), np.full(4, 0.5), 0.1, sigma=0.8,
                                   n_directions=100)
    e = est.estimates
    assert est.log_mean_exp == pytest.approx(np.log(np.mean(np.exp(e))), abs=1e-12)
    assert est.mean_log == pytest.approx(e.mean()) and est.max_log == e.max()
    w = np.exp(e - e.max())
    assert est.ess == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert est.interval[0] <= est.log_mean_exp <= est.interval[1]
    assert est.log_prior_at_anchor == pytest.approx(-1.0 / (2 * 0.64) - 2 * math.log(
        2 * math.pi * 0.64))
    assert est.radii.shape == (100,) and est.capped_fraction == 0.0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cutoff": 0.0}, "cutoff"), ({"cutoff": -1.0}, "cutoff"), ({"sigma": 0.0}, "sigma"),
    ({"sigma": -2.0}, "sigma"), ({"anchor": np.array([0.0, np.nan])}, "anchor"),
    ({"prior": "laplace"}, "prior"), ({"n_directions": 1}, "n_directions"),
    ({"preconditioner": np.array([1.0, -1.0])}, "preconditioner"),
    ({"preconditioner": np.ones(3)}, "preconditioner"), ({"seed": -1}, "seed")])
def test_errors_name_the_argument(kwargs, message):
    args = {"cost": quadratic(np.ones(2)), "anchor": np.zeros(2), "cutoff": 0.1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        estimate_log_probability(args.pop("cost"), args.pop("anchor"), args.pop("cutoff"),
                                 **args)


def test_cost_not_zero_at_anchor_is_refused():
    with pytest.raises(ValueError, match="0 at the anchor"):
        estimate_log_probability(lambda w: 1.0 + (w**2).sum(axis=1), np.zeros(3), 0.1)
    with pytest.raises(ValueError, match="values"):
        estimate_log_probability(lambda w: np.zeros(2), np.zeros(3), 0.1)
