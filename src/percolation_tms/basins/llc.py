"""Local learning coefficient by SGLD (spec section 5; Lau et al. 2023; devinterp's estimator).

Each chain starts at w* = theta and samples the localised tempered posterior
exp(-n beta L(w) - (gamma/2) ||w - w*||^2) by Langevin steps (devinterp's SGLD with the full
loss instead of a minibatch):

    w <- w - (eps/2) [n beta grad L(w) + gamma (w - w*)] + sqrt(eps) xi,   xi ~ N(0, I),

recording L at the pre-update weights every ``draw_every`` steps after ``n_burnin``.  A chain's
estimate is n beta (mean draw loss - L(w*)); the LLC is their mean, its spread their sd.
Chain c draws xi from (seed, DOMAIN_BASIN_SGLD, c, 0), D normals per step in order, so a chain
is the same whatever the number of chains.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from percolation_tms import _progress
from percolation_tms._rng import DOMAIN_BASIN_SGLD, fill_normal, stream_state

# Defaults (spec 8): about 10 % of known coefficients without tuning (tests T12, T13).
N_CHAINS = 8
N_BURNIN = 500
N_DRAWS = 2000
STEP_SIZE = 1e-4
LOCALIZATION = 1.0


def default_nbeta(n_data: int) -> float:
    """n beta = n / ln n (the inverse temperature of Watanabe's WBIC, devinterp's examples)."""
    return n_data / math.log(n_data)


@dataclass(frozen=True)
class LLCEstimate:
    """An SGLD estimate of the local learning coefficient from C chains of T draws.

    llc_mean, llc_std : mean and sd (ddof 1) of the chains' estimates; llc_per_chain : (C,);
    loss_traces : float64 (C, T) draw losses; init_loss : L(w*) exactly;
    nbeta, localization, step_size, n_burnin, n_draws, draw_every, seed : the settings;
    negative : bool (C,) chains with an estimate < 0; nonfinite : any non-finite loss;
    rising : the chains' losses still rise over the last quarter (mean of the last quarter
    above the third by more than 3 standard errors across chains).
    """

    llc_mean: float
    llc_std: float
    llc_per_chain: np.ndarray
    loss_traces: np.ndarray
    init_loss: float
    nbeta: float
    localization: float
    step_size: float
    n_burnin: int
    n_draws: int
    draw_every: int
    seed: int
    negative: np.ndarray
    nonfinite: bool
    rising: bool


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_real(name: str, value, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise ValueError(f"{name} must be a {'positive' if positive else 'non-negative'} "
                         f"finite number, got {value!r}")
    return float(value)


def _rising(traces: np.ndarray) -> bool:
    n_chains, n_draws = traces.shape
    quarter = n_draws // 4
    if quarter < 1 or n_chains < 2:
        return False
    gap = traces[:, -quarter:].mean(axis=1) - traces[:, -2 * quarter:-quarter].mean(axis=1)
    error = gap.std(ddof=1) / math.sqrt(n_chains)
    return bool(gap.mean() > 3.0 * error) if error > 0 else bool(gap.mean() > 0)


def _chain(loss_and_grad: Callable, anchor: np.ndarray, nbeta, localization, step_size,
           n_burnin, n_draws, draw_every, seed, chain) -> np.ndarray:
    """One chain in Python: the same arithmetic, in the same order, as the toy kernel."""
    dim = anchor.size
    w = anchor.copy()
    noise = np.empty(dim)
    draws = np.empty(n_draws)
    state = np.uint64(stream_state(seed, DOMAIN_BASIN_SGLD, chain, 0))
    half = 0.5 * step_size
    root = math.sqrt(step_size)
    for t in range(n_burnin + n_draws * draw_every):
        loss, grad = loss_and_grad(w)
        if t >= n_burnin and (t - n_burnin) % draw_every == 0:
            draws[(t - n_burnin) // draw_every] = loss
        state = np.uint64(fill_normal(state, noise))
        grad = np.asarray(grad, dtype=np.float64)
        w = w - half * (nbeta * grad + localization * (w - anchor)) + root * noise
    return draws


def estimate_llc(loss_and_grad: Callable, anchor, n_data: int, *, seed: int = 0,
                 n_chains: int = N_CHAINS, n_burnin: int = N_BURNIN, n_draws: int = N_DRAWS,
                 step_size: float = STEP_SIZE, localization: float = LOCALIZATION,
                 nbeta: float | None = None, draw_every: int = 1,
                 progress: bool = False) -> LLCEstimate:
    """Local learning coefficient at ``anchor`` by full-batch SGLD chains.

    Parameters
    ----------
    loss_and_grad : callable, w (D,) -> (L(w), grad L(w) (D,)), L the mean loss over the n
        data points.  An object with a method ``sgld_chains(anchor, nbeta, localization,
        step_size, n_burnin, n_draws, draw_every, seed, n_chains)`` returning the (C, T) draw
        losses (the toy costs' compiled chains) is run through it instead, with the same
        result.
    anchor : float64 (D,) w*, finite.
    n_data : n, the number of data points behind L (sets n beta = n / ln n by default).
    seed : chain c uses stream (seed, DOMAIN_BASIN_SGLD, c, 0).
    n_chains, n_burnin, n_draws, draw_every : chains and their length.
    step_size : epsilon; stability needs epsilon (n beta h_max + gamma) < 4.
    localization : gamma.
    nbeta : n beta (default n / ln n).

    Returns
    -------
    LLCEstimate : llc_mean, llc_std, llc_per_chain (C,), loss_traces (C, T) and flags.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda w: (0.5 * float(w @ w), w.copy())       # a quadratic, lambda = D/2
    >>> est = estimate_llc(f, np.zeros(4), 10_000)           # the defaults: 8 x 2000 draws
    >>> round(est.llc_mean, 2), round(est.llc_std, 2)       # spec 5.4 predicts 2.05
    (2.11, 0.14)
    """
    anchor = np.ascontiguousarray(anchor, dtype=np.float64)
    if anchor.ndim != 1 or anchor.size == 0:
        raise ValueError(f"anchor must be a non-empty vector, got shape {anchor.shape}")
    if not np.all(np.isfinite(anchor)):
        raise ValueError("anchor must be finite (it holds NaN or inf)")
    n_data = _check_int("n_data", n_data, 2)
    seed = _check_int("seed", seed, 0)
    n_chains = _check_int("n_chains", n_chains, 1)
    n_burnin = _check_int("n_burnin", n_burnin, 0)
    n_draws = _check_int("n_draws", n_draws, 1)
    draw_every = _check_int("draw_every", draw_every, 1)
    step_size = _check_real("step_size", step_size)
    localization = _check_real("localization", localization, positive=False)
    nbeta = default_nbeta(n_data) if nbeta is None else _check_real("nbeta", nbeta)
    init_loss, grad = loss_and_grad(anchor)
    init_loss = float(init_loss)
    if not math.isfinite(init_loss):
        raise ValueError(f"loss at the anchor is not finite ({init_loss})")
    if np.shape(grad) != anchor.shape:
        raise ValueError(f"loss_and_grad must return a gradient of shape {anchor.shape}, "
                         f"got {np.shape(grad)}")
    settings = (nbeta, localization, step_size, n_burnin, n_draws, draw_every, seed)
    if hasattr(loss_and_grad, "sgld_chains"):
        traces = np.asarray(loss_and_grad.sgld_chains(anchor, *settings, n_chains))
    else:
        traces = np.empty((n_chains, n_draws))
        for c in range(n_chains):
            traces[c] = _chain(loss_and_grad, anchor, nbeta, localization, step_size,
                               n_burnin, n_draws, draw_every, seed, c)
            if progress:
                _progress.log(f"SGLD chain {c + 1}/{n_chains} done")
    per_chain = nbeta * (traces.mean(axis=1) - init_loss)
    return LLCEstimate(
        llc_mean=float(per_chain.mean()),
        llc_std=float(per_chain.std(ddof=1)) if n_chains > 1 else float("nan"),
        llc_per_chain=per_chain, loss_traces=traces, init_loss=init_loss, nbeta=float(nbeta),
        localization=localization, step_size=step_size, n_burnin=n_burnin, n_draws=n_draws,
        draw_every=draw_every, seed=seed, negative=per_chain < 0,
        nonfinite=bool(not np.all(np.isfinite(traces))), rising=_rising(traces))


def expected_llc_quadratic(h, nbeta: float, localization: float, step_size: float,
                           n_burnin: int, n_draws: int) -> float:
    """E[lambda-hat] of full-batch SGLD from w* on L - L0 = x^T H x / 2 (spec 5.4), for the
    eigenvalues h of H: v_i = 1/(a_i (1 - eps a_i / 4)), a_i = n beta h_i + gamma,
    rho_i = 1 - eps a_i / 2, and (n beta / 2) sum h_i v_i [1 - rho^(2B) (1 - rho^(2T)) /
    (T (1 - rho^2))]."""
    h = np.asarray(h, dtype=np.float64)
    a = nbeta * h + localization
    rho = 1.0 - step_size * a / 2.0
    v = 1.0 / (a * (1.0 - step_size * a / 4.0))
    transient = rho ** (2 * n_burnin) * (1.0 - rho ** (2 * n_draws)) / (n_draws * (1 - rho**2))
    return float(0.5 * nbeta * np.sum(h * v * (1.0 - transient)))
