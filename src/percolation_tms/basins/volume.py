"""Prior probability ("volume") of a basin by random rays (spec section 2).

The neighbourhood of an anchor theta is S = {theta + r v : r < R(v)}, R(v) the first radius along
the unit direction v where the cost Delta reaches the cutoff eps.  For d uniform on the sphere,
each ray gives an estimate unbiased in linear space of

* the uniform volume: Vol(S) = V_D E[R^D];
* the Gaussian prior mass: mu(S) = A_D (2 pi sigma^2)^(-D/2) E[int_0^R r^(D-1) exp(-r^2/(2
  sigma^2) + b r + c) dr], b = -(v . theta)/sigma^2, c = -||theta||^2/(2 sigma^2),

with theta measured from the prior's centre.  A preconditioner P draws the rays along Pd instead
and corrects each estimate by ln|det P| - D ln ||Pd|| (spec 3.2), unbiased for any invertible P.

Two defects of the public code are *not* reproduced: the radius returned is the last radius at
which the cost was evaluated (not the next guess), and a full-matrix preconditioner is applied as
V diag(p) V^T (see ``precondition``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from percolation_tms.basins import _kernels

PRIORS = ("gaussian", "uniform")
# ln(hi/lo) at which bisection stops, and the factor of the bracketing steps (spec 2.3).
RADIUS_TOLERANCE = 1e-8
BRACKET_FACTOR = 2.0
# Radii at which monotonicity is checked: lo * 10^(-3k/8), k = 1..8 (down to lo / 1000).
MONOTONE_CHECKS = 8
# Rays evaluated together: bounds the (rays, D) scratch of one cost call.
RAY_BATCH = 4096
# An estimate from fewer effective rays is a soft lower bound (spec 2.6).
MIN_ESS = 10.0
N_BOOTSTRAP = 1000
# Quadrature of the radial integral: panels per side of the peak and Gauss-Legendre nodes
# (1536 evaluations per ray, within 1e-9 nats of adaptive quadrature).  Tyche's second-order
# closed form ("fast") is offered but never the default: measured against this quadrature it
# is within 1e-4 nats only away from R = r* (|R/r* - 1| >= 0.3, D >= 1000, |b| <= 100); at
# R = r* the half-Gaussian misses the skewness, 1.5e-2 nats at D = 1000 and 3e-3 at D = 1e4.
QUADRATURE_PANELS = 48
QUADRATURE_NODES = 16
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(QUADRATURE_NODES)


def log_unit_ball_volume(dim: int) -> float:
    """ln V_D = (D/2) ln pi - lnGamma(D/2 + 1)."""
    return 0.5 * dim * math.log(math.pi) - math.lgamma(0.5 * dim + 1.0)


def log_gamma_p(a: float, x) -> np.ndarray | float:
    """ln P(a, x), the regularised lower incomplete gamma function, for scalar or array x."""
    if np.ndim(x) == 0:
        return float(_kernels.log_gamma_p(float(a), float(x)))
    x = np.ascontiguousarray(x, dtype=np.float64)
    return _kernels.log_gamma_p_many(float(a), x.ravel()).reshape(x.shape)


def log_radial_integral(dim: int, sigma: float, b, radius, *, fast: bool = False
                        ) -> np.ndarray:
    """ln of int_0^R r^(D-1) exp(-r^2/(2 sigma^2) + b r) dr for arrays b, R (same shape).

    b = 0 uses the closed form ln P(D/2, R^2/(2 sigma^2)) - ln A_D + (D/2) ln(2 pi sigma^2);
    otherwise quadrature, or with ``fast`` the second-order closed form (see
    ``QUADRATURE_PANELS`` on its accuracy).
    """
    b = np.ascontiguousarray(b, dtype=np.float64).ravel()
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), b.shape).copy()
    out = _kernels.log_radial_many(dim, float(sigma), b, radius, _NODES, _WEIGHTS,
                                   QUADRATURE_PANELS, bool(fast))
    zero = b == 0.0
    if np.any(zero):
        closed = log_gamma_p(0.5 * dim, radius[zero] ** 2 / (2.0 * sigma**2))
        out[zero] = closed - _log_gaussian_constant(dim, sigma)
    return out


def _log_gaussian_constant(dim: int, sigma: float) -> float:
    """ln A_D - (D/2) ln(2 pi sigma^2)."""
    return (math.log(dim) + log_unit_ball_volume(dim)
            - 0.5 * dim * math.log(2.0 * math.pi * sigma**2))


@dataclass(frozen=True)
class Rays:
    """The rays of one radius search (k rays in D dimensions).

    directions : float64 (k, D) unit directions v_hat of the rays (after preconditioning);
    scale : float64 (k,) p = ||P d|| (1 without preconditioner);
    log_abs_det : ln|det P| (0 without);
    radius : float64 (k,) R, the last radius evaluated; radius_cost : (k,) Delta at R;
    lower, upper : (k,) the final bracket, Delta(lower) < eps <= Delta(upper);
    capped : bool (k,) Delta < eps up to the cap ``max_radius``; nonmonotone : bool (k,) a
    radius below ``lower`` already reached eps;
    cutoff, max_radius, n_evaluations (cost evaluations, all rays).
    """

    directions: np.ndarray
    scale: np.ndarray
    log_abs_det: float
    radius: np.ndarray
    radius_cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    capped: np.ndarray
    nonmonotone: np.ndarray
    cutoff: float
    max_radius: float
    n_evaluations: int


@dataclass(frozen=True)
class LogProbability:
    """A basin's log-probability under one prior, from k rays (spec 2.6).

    prior : "gaussian" or "uniform" (for the uniform prior the values are ln Vol(S), minus
    D ln(2L) when a box half-width L was given).
    log_mean_exp : ln of the mean per-ray estimate (the unbiased-in-linear-space aggregate,
        biased low in log space); interval : (2,) its 95 % bootstrap interval;
    mean_log, std_log, max_log : of the per-ray log estimates;
    ess : effective sample size (sum w)^2 / sum w^2, w = exp(est - max); soft_lower_bound :
        ess < 10;
    estimates : float64 (k,) per-ray log estimates; rays : the radius search behind them;
    log_prior_at_anchor : ln p(theta) (Gaussian), else 0; plateau : the Gaussian whole-space
        value c = -||theta||^2/(2 sigma^2); near_plateau : LME within 3 sd of c.
    """

    prior: str
    log_mean_exp: float
    interval: np.ndarray
    mean_log: float
    std_log: float
    max_log: float
    ess: float
    soft_lower_bound: bool
    estimates: np.ndarray
    rays: Rays
    log_prior_at_anchor: float
    plateau: float
    near_plateau: bool

    @property
    def radii(self) -> np.ndarray:
        return self.rays.radius

    @property
    def capped_fraction(self) -> float:
        return float(self.rays.capped.mean())

    @property
    def nonmonotone_fraction(self) -> float:
        return float(self.rays.nonmonotone.mean())


# ------------------------------------------------------------------------------ validation
def _check_anchor(anchor) -> np.ndarray:
    anchor = np.ascontiguousarray(anchor, dtype=np.float64)
    if anchor.ndim != 1 or anchor.size == 0:
        raise ValueError(f"anchor must be a non-empty vector, got shape {anchor.shape}")
    if not np.all(np.isfinite(anchor)):
        raise ValueError("anchor must be finite (it holds NaN or inf)")
    return anchor


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _evaluate(cost: Callable, points: np.ndarray) -> np.ndarray:
    values = np.asarray(cost(points), dtype=np.float64)
    if values.shape != (points.shape[0],):
        raise ValueError(f"cost must map ({points.shape[0]}, D) points to "
                         f"{points.shape[0]} values, got shape {values.shape}")
    if np.any(np.isnan(values)):
        raise ValueError("cost returned NaN")
    return values


def check_cost_at_anchor(cost: Callable, anchor: np.ndarray, cutoff: float) -> float:
    """Delta(theta), which must be 0 (|value| <= 1e-12 cutoff): a cost is a difference."""
    value = float(_evaluate(cost, anchor[None, :])[0])
    if abs(value) > 1e-12 * cutoff:
        raise ValueError(f"cost must be 0 at the anchor (a difference C(w) - C(theta)), got "
                         f"{value:.3e}")
    return value


def _preconditioner(preconditioner, dim: int):
    """(apply: (k, D) -> (k, D), ln|det P|) of None, a positive vector or a matrix."""
    if preconditioner is None:
        return None, 0.0
    p = np.ascontiguousarray(preconditioner, dtype=np.float64)
    if not np.all(np.isfinite(p)):
        raise ValueError("preconditioner must be finite")
    if p.ndim == 1:
        if p.shape != (dim,):
            raise ValueError(f"preconditioner vector must have length D = {dim}, got {p.size}")
        if np.any(p <= 0):
            raise ValueError("preconditioner vector must be positive")
        return (lambda d: d * p), float(np.log(p).sum())
    if p.shape != (dim, dim):
        raise ValueError(f"preconditioner must be a vector of length {dim} or a ({dim}, {dim}) "
                         f"matrix, got shape {p.shape}")
    sign, log_det = np.linalg.slogdet(p)
    if sign == 0:
        raise ValueError("preconditioner matrix is singular")
    return (lambda d: d @ p.T), float(log_det)


# ------------------------------------------------------------------------------ radius search
def search_radii(cost: Callable, anchor, cutoff: float, *, n_directions: int = 1000,
                 seed: int = 0, preconditioner=None, initial_radius=None,
                 max_radius: float | None = None, sigma: float = 1.0,
                 prior_center=None, check_monotone: bool = True) -> Rays:
    """Rays from ``anchor`` and the radius where each first reaches ``cutoff`` (spec 2.3).

    Parameters
    ----------
    cost : callable mapping float64 (k, D) points to k values Delta, with Delta(anchor) = 0.
    anchor : float64 (D,).
    cutoff : eps > 0 (absolute).
    n_directions : rays; ray i draws its direction from (seed, DOMAIN_BASIN_DIRECTION, i, 0),
        so the first k rays of a larger estimate are the rays of a smaller one.
    preconditioner : None, a positive vector (D,) or a (D, D) matrix P: rays along Pd.
    initial_radius : scalar or (k,) start of the bracketing (default sigma); with the
        Gauss-Newton matrix G known, sqrt(2 eps / (v G v)) is the natural start.
    max_radius : the cap (default ||theta - centre|| + sigma (sqrt(D) + 40)).
    """
    anchor = _check_anchor(anchor)
    cutoff = _check_positive("cutoff", cutoff)
    sigma = _check_positive("sigma", sigma)
    dim = anchor.size
    if isinstance(n_directions, bool) or not isinstance(n_directions, (int, np.integer)) \
            or n_directions < 2:
        raise ValueError(f"n_directions must be an integer >= 2, got {n_directions!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    centre = np.zeros(dim) if prior_center is None else np.asarray(prior_center, np.float64)
    if max_radius is None:
        max_radius = float(np.linalg.norm(anchor - centre) + sigma * (math.sqrt(dim) + 40.0))
    max_radius = _check_positive("max_radius", max_radius)
    check_cost_at_anchor(cost, anchor, cutoff)
    apply, log_abs_det = _preconditioner(preconditioner, dim)

    d = _kernels.ray_directions(int(seed), 0, int(n_directions), dim)
    if apply is not None:
        d = apply(d)
    scale = np.linalg.norm(d, axis=1)
    directions = d / scale[:, None]
    start = np.broadcast_to(np.asarray(sigma if initial_radius is None else initial_radius,
                                       dtype=np.float64), (n_directions,))
    if np.any(~np.isfinite(start)) or np.any(start <= 0):
        raise ValueError("initial_radius must be positive and finite")
    start = np.minimum(start, max_radius)

    counter = [0]

    def delta(rows: np.ndarray, radii: np.ndarray) -> np.ndarray:
        out = np.empty(rows.size)
        for first in range(0, rows.size, RAY_BATCH):
            part = slice(first, first + RAY_BATCH)
            points = anchor + radii[part, None] * directions[rows[part]]
            out[part] = _evaluate(cost, points)
        counter[0] += rows.size
        return out

    k = n_directions
    lower = np.zeros(k)
    upper = np.full(k, np.inf)
    radius = start.copy()
    radius_cost = delta(np.arange(k), radius)
    inside = radius_cost < cutoff
    lower[inside] = radius[inside]
    upper[~inside] = radius[~inside]
    capped = np.zeros(k, dtype=bool)
    capped[inside & (radius >= max_radius)] = True
    # bracket upwards: double while still inside, until the cap
    rows = np.flatnonzero(inside & ~capped)
    while rows.size:
        trial = np.minimum(lower[rows] * BRACKET_FACTOR, max_radius)
        value = delta(rows, trial)
        radius[rows], radius_cost[rows] = trial, value
        hit = value >= cutoff
        upper[rows[hit]] = trial[hit]
        lower[rows[~hit]] = trial[~hit]
        capped[rows[~hit & (trial >= max_radius)]] = True
        rows = rows[~hit & (trial < max_radius)]
    # bracket downwards: halve while at or beyond the cutoff (Delta(theta) = 0 ends it)
    rows = np.flatnonzero(~inside)
    for _ in range(2000):
        if not rows.size:
            break
        trial = upper[rows] / BRACKET_FACTOR
        value = delta(rows, trial)
        radius[rows], radius_cost[rows] = trial, value
        below = value < cutoff
        lower[rows[below]] = trial[below]
        upper[rows[~below]] = trial[~below]
        rows = rows[~below]
    if rows.size:
        raise ValueError(f"{rows.size} rays reach the cutoff at every radius down to "
                         f"{upper[rows].min():.3e}: is the cost 0 near the anchor?")
    # bisect on ln r; R is the last midpoint evaluated, with its own Delta
    rows = np.flatnonzero(~capped)
    while rows.size:
        rows = rows[np.log(upper[rows] / lower[rows]) > RADIUS_TOLERANCE]
        if not rows.size:
            break
        trial = np.sqrt(lower[rows] * upper[rows])
        value = delta(rows, trial)
        radius[rows], radius_cost[rows] = trial, value
        hit = value >= cutoff
        upper[rows[hit]] = trial[hit]
        lower[rows[~hit]] = trial[~hit]
    nonmonotone = np.zeros(k, dtype=bool)
    if check_monotone:
        factors = 10.0 ** (-3.0 * np.arange(1, MONOTONE_CHECKS + 1) / MONOTONE_CHECKS)
        all_rows = np.repeat(np.arange(k), MONOTONE_CHECKS)
        trial = (lower[:, None] * factors[None, :]).ravel()
        value = delta(all_rows, trial).reshape(k, MONOTONE_CHECKS)
        nonmonotone = np.any(value >= cutoff, axis=1)
    return Rays(directions=directions, scale=scale, log_abs_det=log_abs_det, radius=radius,
                radius_cost=radius_cost, lower=lower, upper=upper, capped=capped,
                nonmonotone=nonmonotone, cutoff=cutoff, max_radius=max_radius,
                n_evaluations=counter[0])


# ------------------------------------------------------------------------------ estimates
def ray_log_estimates(rays: Rays, anchor, prior: str = "gaussian", sigma: float = 1.0, *,
                      prior_center=None, box_half_width: float | None = None) -> np.ndarray:
    """float64 (k,): the per-ray log estimates of spec 2.4 for one prior."""
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    anchor = _check_anchor(anchor)
    sigma = _check_positive("sigma", sigma)
    dim = anchor.size
    correction = rays.log_abs_det - dim * np.log(rays.scale)
    if prior == "uniform":
        est = log_unit_ball_volume(dim) + dim * np.log(rays.radius) + correction
        if box_half_width is not None:
            est = est - dim * math.log(2.0 * _check_positive("box_half_width", box_half_width))
        return est
    theta = anchor if prior_center is None else anchor - np.asarray(prior_center, np.float64)
    b = -(rays.directions @ theta) / sigma**2
    c = -float(theta @ theta) / (2.0 * sigma**2)
    log_integral = log_radial_integral(dim, sigma, b, rays.radius)
    return log_integral + c + _log_gaussian_constant(dim, sigma) + correction


def aggregate(estimates: np.ndarray, *, seed: int = 0, n_bootstrap: int = N_BOOTSTRAP,
              level: float = 0.95) -> dict:
    """log_mean_exp, its bootstrap interval, mean/sd/max of logs and the ESS of estimates."""
    est = np.ascontiguousarray(estimates, dtype=np.float64)
    n = est.size
    top = float(est.max())
    weights = np.exp(est - top)
    lme = top + math.log(weights.sum() / n)
    boot = _kernels.bootstrap_log_mean_exp(est, int(seed), int(n_bootstrap))
    tail = 0.5 * (1.0 - level)
    interval = np.quantile(boot, [tail, 1.0 - tail])
    ess = float(weights.sum() ** 2 / (weights**2).sum())
    return {"log_mean_exp": lme, "interval": interval, "mean_log": float(est.mean()),
            "std_log": float(est.std(ddof=1)), "max_log": top, "ess": ess}


def summarise(rays: Rays, anchor, prior: str, sigma: float, *, seed: int = 0,
              prior_center=None, box_half_width=None, n_bootstrap: int = N_BOOTSTRAP
              ) -> LogProbability:
    """The :class:`LogProbability` of a radius search under one prior."""
    anchor = _check_anchor(anchor)
    est = ray_log_estimates(rays, anchor, prior, sigma, prior_center=prior_center,
                            box_half_width=box_half_width)
    parts = aggregate(est, seed=seed, n_bootstrap=n_bootstrap)
    theta = anchor if prior_center is None else anchor - np.asarray(prior_center, np.float64)
    dim = anchor.size
    if prior == "gaussian":
        plateau = -float(theta @ theta) / (2.0 * sigma**2)
        log_prior = plateau - 0.5 * dim * math.log(2.0 * math.pi * sigma**2)
        near = abs(parts["log_mean_exp"] - plateau) <= 3.0 * parts["std_log"]
    else:
        plateau, log_prior, near = float("nan"), 0.0, False
    return LogProbability(prior=prior, estimates=est, rays=rays,
                          soft_lower_bound=parts["ess"] < MIN_ESS,
                          log_prior_at_anchor=log_prior, plateau=plateau,
                          near_plateau=bool(near), **parts)


def estimate_log_probability(cost: Callable, anchor, cutoff: float, *,
                             prior: str = "gaussian", sigma: float = 1.0,
                             n_directions: int = 1000, seed: int = 0, preconditioner=None,
                             prior_center=None, box_half_width: float | None = None,
                             initial_radius=None, max_radius: float | None = None,
                             n_bootstrap: int = N_BOOTSTRAP) -> LogProbability:
    """ln mu(S) of the basin {Delta < cutoff} around ``anchor`` (spec section 2).

    Parameters
    ----------
    cost : callable, float64 (k, D) -> (k,); Delta(w) = C(w) - C(theta), 0 at the anchor.
    anchor : float64 (D,) theta, finite.
    cutoff : eps > 0, absolute.
    prior : ``"gaussian"`` (N(centre, sigma^2 I), centre the origin unless ``prior_center``)
        or ``"uniform"`` (ln Vol(S); minus D ln(2L) with ``box_half_width`` L).
    sigma : prior scale (also sets the default start and cap of the radius search).
    n_directions : number of rays k >= 2.
    seed : ray directions (seed, DOMAIN_BASIN_DIRECTION, i, 0), bootstrap (seed, ..., r, 1).
    preconditioner : None, positive vector (D,) or (D, D) matrix (any determinant).

    Returns
    -------
    LogProbability : log_mean_exp, interval, mean_log, std_log, ess, estimates (k,), radii
        (k,), capped / non-monotone fractions and the rays.

    Examples
    --------
    >>> import numpy as np
    >>> cost = lambda w: 0.5 * (w ** 2).sum(axis=1)          # H = I at theta = 0
    >>> est = estimate_log_probability(cost, np.zeros(3), 0.5, prior="uniform",
    ...                                n_directions=100)
    >>> round(est.log_mean_exp, 4)                            # ln V_3, the unit ball
    1.4324
    """
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    sigma = _check_positive("sigma", sigma)
    rays = search_radii(cost, anchor, cutoff, n_directions=n_directions, seed=seed,
                        preconditioner=preconditioner, initial_radius=initial_radius,
                        max_radius=max_radius, sigma=sigma, prior_center=prior_center)
    return summarise(rays, anchor, prior, sigma, seed=seed, prior_center=prior_center,
                     box_half_width=box_half_width, n_bootstrap=n_bootstrap)
