"""Special functions of the estimator: ln P(a, x) (T1), the radial integral with b != 0 (T2),
and the Ruben series / sphere identity behind the quadratic known answers (T11)."""

import math

import numpy as np
import pytest
from scipy import integrate, special

from percolation_tms.basins import _kernels
from percolation_tms.basins.volume import (
    _log_gaussian_constant,
    log_gamma_p,
    log_radial_integral,
)


@pytest.mark.parametrize(("dim", "sigma", "radius", "expected"), [
    (100, 1.0, 5.0, -34.412138), (1000, 0.1, 2.0, -161.663152),
    (10_000, 0.05, 3.0, -1912.987678), (5000, 1.0, 100.0, 0.0)])
def test_t1_radial_integral_b0_matches_the_spec_values(dim, sigma, radius, expected):
    value = log_gamma_p(dim / 2, radius**2 / (2 * sigma**2))
    assert value == pytest.approx(expected, abs=1e-6)
    # the radial integral with b = 0 is that value (closed form path)
    total = log_radial_integral(dim, sigma, [0.0], [radius])[0] + _log_gaussian_constant(
        dim, sigma)
    assert total == pytest.approx(value, abs=1e-10)


@pytest.mark.parametrize("dim", [10, 100, 1000, 10_000])
def test_t1_log_gamma_p_matches_scipy_where_representable(dim):
    a = dim / 2
    for x in a * np.array([0.05, 0.3, 0.9, 1.0, 1.1, 2.0, 5.0]):
        reference = special.gammainc(a, x)
        if reference > 1e-300:
            assert log_gamma_p(a, x) == pytest.approx(math.log(reference), abs=1e-10,
                                                     rel=1e-10)
    assert log_gamma_p(a, 0.0) == -math.inf
    assert log_gamma_p(a, math.inf) == 0.0


def _reference_radial(dim, sigma, b, radius):
    """ln of the radial integral by scipy's adaptive quadrature around the peak."""
    f = lambda r: -r * r / (2 * sigma**2) + b * r + (dim - 1) * math.log(r)
    r_star = 0.5 * sigma**2 * (b + math.sqrt(b * b + 4 * (dim - 1) / sigma**2))
    m = min(r_star, radius)
    top = f(m)
    value, _ = integrate.quad(lambda r: math.exp(f(r) - top) if r > 0 else 0.0, 0, radius,
                              points=[m], limit=500, epsabs=0, epsrel=1e-12)
    return top + math.log(value)


@pytest.mark.parametrize(("dim", "sigma", "b", "radius"), [
    (3, 1.0, 0.7, 2.0), (3, 1.0, -2.0, 0.3), (20, 0.5, 3.0, 1.0), (120, 0.4, -5.0, 10.0),
    (120, 0.4, 40.0, 0.05), (500, 1.0, 10.0, 30.0)])
def test_quadrature_matches_adaptive_reference(dim, sigma, b, radius):
    ours = log_radial_integral(dim, sigma, [b], [radius], fast=False)[0]
    assert ours == pytest.approx(_reference_radial(dim, sigma, b, radius), abs=1e-9)


def test_quadrature_at_b0_matches_closed_form():
    for dim, sigma, radius in [(10, 1.0, 2.0), (100, 1.0, 5.0), (1000, 0.1, 2.0)]:
        quad = _kernels.log_radial_quadrature(dim, sigma, 0.0, radius,
                                              *np.polynomial.legendre.leggauss(16), 48)
        closed = log_gamma_p(dim / 2, radius**2 / (2 * sigma**2)) - _log_gaussian_constant(
            dim, sigma)
        assert quad == pytest.approx(closed, abs=1e-9)


@pytest.mark.parametrize("dim", [1000, 4810, 10_000])
def test_t2_fast_path_matches_quadrature(dim):
    """Away from R = r* (see volume.QUADRATURE_PANELS: at R = r* it is off by up to 1.5e-2)."""
    sigma = 1.0
    for b in (-100.0, -10.0, -1.0, 0.5, 10.0, 100.0):
        r_star = 0.5 * sigma**2 * (b + math.sqrt(b * b + 4 * (dim - 1) / sigma**2))
        for radius in r_star * np.array([0.01, 0.3, 0.7, 1.3, 1.5, 5.0]):
            fast = log_radial_integral(dim, sigma, [b], [radius], fast=True)[0]
            quad = log_radial_integral(dim, sigma, [b], [radius], fast=False)[0]
            assert fast == pytest.approx(quad, abs=1e-4), (b, radius)


def ruben_log_cdf(h, t, sigma=1.0, terms=400):
    """ln P(sum_i h_i z_i^2 <= 2t) for z ~ N(0, sigma^2 I): Ruben's series (spec 6.1) with
    beta = min h, c_0 = prod (beta/h_i)^(1/2), c_k = (1/2k) sum_(r<k) G_(k-r) c_r."""
    h = np.asarray(h, dtype=np.float64)
    dim = h.size
    beta = h.min()
    G = [None] + [np.sum((1 - beta / h) ** j) for j in range(1, terms)]
    c = [np.prod(np.sqrt(beta / h))]
    for k in range(1, terms):
        c.append(sum(G[k - r] * c[r] for r in range(k)) / (2 * k))
    c = np.array(c)
    assert np.all(c >= 0) and c.sum() == pytest.approx(1.0, abs=1e-10)
    logs = [math.log(ck) + log_gamma_p(dim / 2 + k, t / (beta * sigma**2))
            for k, ck in enumerate(c) if ck > 0]
    return float(special.logsumexp(logs))


def test_t11_ruben_series_matches_monte_carlo():
    h = np.array([0.5, 1.0, 2.0, 3.0])
    t = 3.0  # the event 0.5 x^T H x <= t
    rng = np.random.default_rng(11)
    z = rng.normal(size=(2_000_000, 4))
    p = np.mean(0.5 * (z**2 * h).sum(axis=1) <= t)
    error = math.sqrt(p * (1 - p) / z.shape[0])
    assert math.exp(ruben_log_cdf(h, t)) == pytest.approx(p, abs=4 * error)


def test_t11_sphere_identity_with_the_ray_directions():
    h = np.array([0.3, 0.7, 1.0, 2.0, 5.0, 9.0])
    d = _kernels.ray_directions(3, 0, 200_000, h.size)
    values = ((d**2 * h).sum(axis=1)) ** (-h.size / 2)
    error = values.std() / math.sqrt(values.size)
    assert values.mean() == pytest.approx(np.prod(h) ** -0.5, abs=4 * error)
