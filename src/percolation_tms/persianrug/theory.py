"""Theory of the permutation-symmetric model (specification sections 5-7): the Gaussian-limit
loss in closed form, its high-sparsity scaling, and the optimal linear baselines.

With nu' = nu + b ~ N(c, sigma^2), unit diagonal and output scale a:

    L(a, c) = p/3 - 2 a p E G(nu') + a^2 [p E H(nu') + (1 - p) E ReLU(nu')^2],

G(x) = E_U[U ReLU(U + x)], H(x) = E_U[ReLU(U + x)^2] piecewise cubic with breaks at x = -1 and
0.  Every expectation is a sum of truncated normal moments E[z^k; alpha < z <= beta], k <= 3,
in closed form (no quadrature).  For fixed c the best a is p E G / (p E H + (1 - p) E R^2);
c is found on a grid over [-1 - 4 sigma, 1 + 10 sigma + 3 c_lin] (section 5's bracket), refined
by three zooms.  Everything is vectorised over cells: a 20 x 20 grid takes milliseconds.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

COARSE = 801  # grid points in c
ZOOM = 41  # points of each refinement within the best point's neighbours
ZOOMS = 4
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def variance(p):
    """Var x_i = p/3 - p^2/4."""
    return p / 3.0 - p * p / 4.0


def _pdf(z):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(z), _INV_SQRT_2PI * np.exp(-0.5 * np.square(z)), 0.0)


def _z_moments(alpha, beta):
    """E[z^k 1{alpha < z <= beta}] for k = 0..3, z ~ N(0, 1) (beta may be +inf)."""
    pa, pb = _pdf(alpha), _pdf(beta)
    # x phi(x) -> 0 at infinity; np.where keeps inf * 0 out.
    fa = np.where(np.isfinite(alpha), alpha, 0.0)
    fb = np.where(np.isfinite(beta), beta, 0.0)
    m0 = ndtr(beta) - ndtr(alpha)
    m1 = pa - pb
    m2 = m0 + fa * pa - fb * pb
    m3 = 2.0 * m1 + fa * fa * pa - fb * fb * pb
    return m0, m1, m2, m3


def _poly_expectation(coefficients, c, sigma, lo, hi):
    """E[q(nu) 1{lo < nu <= hi}] for nu ~ N(c, sigma^2) and q = sum_k coefficients[k] nu^k
    (k <= 3), via nu = c + sigma z expanded in powers of z."""
    alpha = (lo - c) / sigma
    beta = (hi - c) / sigma
    m0, m1, m2, m3 = _z_moments(alpha, beta)
    q0, q1, q2, q3 = coefficients
    # q(c + s z) = A0 + A1 z + A2 z^2 + A3 z^3
    a0 = q0 + q1 * c + q2 * c * c + q3 * c ** 3
    a1 = (q1 + 2 * q2 * c + 3 * q3 * c * c) * sigma
    a2 = (q2 + 3 * q3 * c) * sigma ** 2
    a3 = q3 * sigma ** 3
    return a0 * m0 + a1 * m1 + a2 * m2 + a3 * m3


# G and H on (-1, 0] and (0, inf): coefficients of 1, x, x^2, x^3.
_G_MID = (2 / 6, 3 / 6, 0.0, -1 / 6)
_G_TOP = (2 / 6, 3 / 6, 0.0, 0.0)
_H_MID = (1 / 3, 1.0, 1.0, 1 / 3)  # (1 + x)^3 / 3
_H_TOP = (1 / 3, 1.0, 1.0, 0.0)  # (1 + 3x + 3x^2) / 3
_R_TOP = (0.0, 0.0, 1.0, 0.0)  # x^2


def _g(x):
    return np.where(x <= -1, 0.0, np.where(x <= 0, (2 + 3 * x - x ** 3) / 6, (2 + 3 * x) / 6))


def _h(x):
    return np.where(x <= -1, 0.0, np.where(x <= 0, (1 + x) ** 3 / 3, (1 + 3 * x + 3 * x * x) / 3))


def gaussian_expectations(c, sigma):
    """(E G, E H, E ReLU^2) of nu' ~ N(c, sigma^2), broadcast over arrays (sigma = 0 allowed)."""
    c = np.asarray(c, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    safe = np.where(sigma > 0, sigma, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        eg = (_poly_expectation(_G_MID, c, safe, -1.0, 0.0)
              + _poly_expectation(_G_TOP, c, safe, 0.0, np.inf))
        eh = (_poly_expectation(_H_MID, c, safe, -1.0, 0.0)
              + _poly_expectation(_H_TOP, c, safe, 0.0, np.inf))
        er = _poly_expectation(_R_TOP, c, safe, 0.0, np.inf)
    point = sigma <= 0
    if np.any(point):
        eg = np.where(point, _g(c), eg)
        eh = np.where(point, _h(c), eh)
        er = np.where(point, np.square(np.maximum(c, 0.0)), er)
    return eg, eh, er


def loss_at(a, c, sigma, p):
    """L(a, c) of the Gaussian limit, broadcast."""
    eg, eh, er = gaussian_expectations(c, sigma)
    return p / 3 - 2 * a * p * eg + a * a * (p * eh + (1 - p) * er)


def _profile(c, sigma, p):
    """(loss, best a >= 0) at fixed c."""
    eg, eh, er = gaussian_expectations(c, sigma)
    denominator = p * eh + (1 - p) * er
    numerator = p * eg
    ok = (numerator > 0) & (denominator > 0)
    a = np.where(ok, numerator / np.where(ok, denominator, 1.0), 0.0)
    return p / 3 - a * numerator, a


class GaussianLimit(NamedTuple):
    """Minimum of the Gaussian-limit loss: loss, the optimum (a, c), sigma (arrays or floats)."""

    loss: np.ndarray
    a: np.ndarray
    c: np.ndarray
    sigma: np.ndarray


def sigma_of(n, m, p):
    """sigma = sqrt(v (n/m - 1)), the rug's (and the rank bound's) interference s.d."""
    return np.sqrt(variance(np.asarray(p, dtype=np.float64))
                   * (np.asarray(n, dtype=np.float64) / np.asarray(m, dtype=np.float64) - 1))


def gaussian_limit(n, m, p) -> GaussianLimit:
    """Minimise the Gaussian-limit loss over (a, c) for every cell (n, m, p), broadcast.

    Depends on n, m only through n/m.  Returns floats for scalar input.
    """
    n, m, p = np.broadcast_arrays(np.asarray(n, dtype=np.float64),
                                  np.asarray(m, dtype=np.float64),
                                  np.asarray(p, dtype=np.float64))
    if np.any(m < 1) or np.any(m > n) or np.any(p <= 0) or np.any(p > 1):
        raise ValueError("gaussian_limit needs 1 <= m <= n and p in (0, 1]")
    shape = n.shape
    p = p.ravel()[:, None]
    sigma = sigma_of(n, m, p.reshape(shape)).ravel()[:, None]
    c_lin = 0.5 * p * (n.ravel()[:, None] / m.ravel()[:, None] - 1)
    lo = -1 - 4 * sigma
    hi = 1 + 10 * sigma + 3 * c_lin
    grid = lo + (hi - lo) * np.linspace(0.0, 1.0, COARSE)[None, :]
    grid = np.concatenate([grid, c_lin], axis=1)  # the linear optimum's offset, exactly
    loss, _ = _profile(grid, sigma, p)
    spacing = (hi - lo)[:, 0] / (COARSE - 1)
    rows = np.arange(grid.shape[0])
    for _ in range(ZOOMS):
        centre = grid[rows, np.argmin(loss, axis=1)]
        grid = centre[:, None] + spacing[:, None] * np.linspace(-1.0, 1.0, ZOOM)[None, :]
        spacing = 2 * spacing / (ZOOM - 1)
        loss, _ = _profile(grid, sigma, p)
    c = grid[rows, np.argmin(loss, axis=1)]
    out_loss, a = _profile(c, sigma[:, 0], p[:, 0])
    result = [x.reshape(shape) for x in (out_loss, a, c, sigma[:, 0])]
    if shape == ():
        result = [float(x) for x in result]
    return GaussianLimit(*result)


def gaussian_limit_loss(n, m, p):
    """The Gaussian-limit loss min_{a, c} L(a, c) at sigma^2 = v (n/m - 1): float (or array)."""
    return gaussian_limit(n, m, p).loss


def linear_optimum_loss(n, m, p):
    """The best rank-m affine map on this isotropic data: (1 - m/n) v (section 7)."""
    return (1.0 - np.asarray(m, dtype=np.float64) / np.asarray(n, dtype=np.float64)) \
        * variance(np.asarray(p, dtype=np.float64))


def public_linear_loss(n, m, p):
    """The public code's linear curve (n - m - 1) p / (3 n) (slightly above the optimum)."""
    n = np.asarray(n, dtype=np.float64)
    return (n - np.asarray(m, dtype=np.float64) - 1) * np.asarray(p, dtype=np.float64) / (3 * n)


def high_sparsity_loss(n, m, p):
    """Leading order for p << m/n: (p^2 / 6) (n/m - 1) ln(1/p) (section 6)."""
    p = np.asarray(p, dtype=np.float64)
    return p * p / 6 * (np.asarray(n, dtype=np.float64) / np.asarray(m, dtype=np.float64) - 1) \
        * np.log(1 / p)


def elementwise_floor(n, m, p):
    """p sigma^2 = p v (n/m - 1): the error an elementwise decoder keeps even knowing which
    features are on (section 7's reading of the constant-factor claim)."""
    return np.asarray(p, dtype=np.float64) * np.square(sigma_of(n, m, p))
