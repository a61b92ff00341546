"""Basins of trained toy models: the anchor, the evaluation set, the costs, the Gauss-Newton
matrix, and the helpers that take a ``train-toy`` run and an instance (spec sections 1 and 7).

Anchor layout (``flatten``): W (m, n) in C order, then b (n,), then W_dec (n, m) in C order for
``untied``; D = m n + n (+ n m).  The model is out = ReLU(b + W_dec h), h = W x (ReLU(W x) for
``hidden_relu``, no output ReLU for ``linear``), W_dec = W^T except for ``untied``.

Evaluation set: N = max(1e4, ceil(200 / (1 - S))) samples unless given, drawn once from the
instance's input distribution with stream (model seed, DOMAIN_BASIN_EVAL, 0, 0).  Samples with
no feature present give out = ReLU(b) whatever W: they are kept as one row of weight n_empty.

Costs, for w in a batch of parameter vectors (``toy_cost_many``, one vector per thread):
* ``output``: C(w) = mean over X of (1/n) sum_i I_i (f_w(x)_i - f_theta(x)_i)^2 (the default);
* ``loss``: C(w) = L_X(w), the training loss (mean over samples and features); Delta = C - C(theta).
The cutoff is eps = eps_rel L_X(theta).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from percolation_tms.basins import _kernels
from percolation_tms.basins.config import BasinConfig, LLCConfig
from percolation_tms.basins.llc import (
    LLCEstimate,
    default_nbeta,
    estimate_llc,
    expected_llc_quadratic,
)
from percolation_tms.basins.precondition import make_preconditioner
from percolation_tms.basins.volume import LogProbability, Rays, search_radii, summarise
from percolation_tms.filenames import TOY_CONFIG, TOY_WEIGHTS
from percolation_tms.io import load_arrays
from percolation_tms.toymodels.train import MODEL_CODE  # the toy model kinds' codes


def n_params(model: str, n: int, m: int) -> int:
    return m * n + n + (n * m if model == "untied" else 0)


def flatten(model: str, W, b, W_dec=None) -> np.ndarray:
    """float64 (D,): the anchor of one instance, W (m, n), b (n,), W_dec (n, m) (untied)."""
    parts = [np.asarray(W, np.float64).ravel(), np.asarray(b, np.float64).ravel()]
    if model == "untied":
        if W_dec is None:
            raise ValueError("an untied model needs W_dec")
        parts.append(np.asarray(W_dec, np.float64).ravel())
    return np.ascontiguousarray(np.concatenate(parts))


def unflatten(model: str, w, n: int, m: int):
    """(W (m, n), b (n,), W_dec (n, m) or None) of a flat parameter vector."""
    w = np.asarray(w, np.float64)
    W = w[:m * n].reshape(m, n)
    b = w[m * n:m * n + n]
    W_dec = w[m * n + n:].reshape(n, m) if model == "untied" else None
    return W, b, W_dec


def default_eval_samples(sparsity: float) -> int:
    """N = max(1e4, ceil(200 / (1 - S))) (spec 1.2): about 200 samples with each feature."""
    return max(10_000, math.ceil(200.0 / max(1.0 - sparsity, 1e-12)))


@dataclass(frozen=True)
class ToyInstance:
    """One trained instance: model kind, sizes, anchor (D,), importance and presence
    probability (n,), sparsity, model seed, and its index in the run."""

    model: str
    n_features: int
    n_hidden: int
    anchor: np.ndarray
    importance: np.ndarray
    probability: np.ndarray
    sparsity: float
    seed: int
    instance: int
    importance_setting: int = 0

    @property
    def n_params(self) -> int:
        return self.anchor.size

    @property
    def init_scale(self) -> float:
        """sqrt(2 / (n + m)), the Xavier-normal scale the toy stage initialises with."""
        return math.sqrt(2.0 / (self.n_features + self.n_hidden))


def _run_arrays(run):
    """(model, weights dict) of a run folder or of (model, weights mapping)."""
    if isinstance(run, (str, os.PathLike)):
        from percolation_tms.toymodels.config import ToyConfig

        folder = Path(run)
        if not (folder / TOY_CONFIG).is_file():
            raise ValueError(f"--run {str(folder)!r} is not a train-toy run folder (no "
                             f"{TOY_CONFIG})")
        config = ToyConfig.load(folder / TOY_CONFIG)
        if config.percolation_features is not None:
            raise ValueError("runs on percolation features are not supported: the basin "
                             "costs draw synthetic evaluation sets")
        weights = load_arrays(folder / TOY_WEIGHTS, required=(
            "W", "b", "importance", "feature_probability", "sparsity", "seed"),
            what="toy-model weights")
        return config.model, weights
    model, weights = run
    return model, weights


def load_instance(run, instance: int) -> ToyInstance:
    """Instance ``instance`` of a run: a ``train-toy`` folder, or a pair (model, mapping with
    W (I, m, n), b (I, n), W_dec (I, n, m) for untied, importance and feature_probability
    (I, n), sparsity and seed (I,)) such as a loaded ``weights.npz``."""
    model, weights = _run_arrays(run)
    if model not in MODEL_CODE:
        raise ValueError(f"model must be one of {tuple(MODEL_CODE)}, got {model!r}")
    W = np.asarray(weights["W"], np.float64)
    count = W.shape[0]
    if isinstance(instance, bool) or not isinstance(instance, (int, np.integer)) \
            or not 0 <= instance < count:
        raise ValueError(f"instance must be in [0, {count}), got {instance!r}")
    _, m, n = W.shape
    W_dec = weights["W_dec"][instance] if model == "untied" else None
    anchor = flatten(model, W[instance], weights["b"][instance], W_dec)
    if not np.all(np.isfinite(anchor)):
        raise ValueError(f"the anchor of instance {instance} is not finite")
    setting = weights.get("importance_setting") if hasattr(weights, "get") else None
    return ToyInstance(
        model=model, n_features=n, n_hidden=m, anchor=anchor,
        importance=np.asarray(weights["importance"][instance], np.float64),
        probability=np.asarray(weights["feature_probability"][instance], np.float64),
        sparsity=float(weights["sparsity"][instance]), seed=int(weights["seed"][instance]),
        instance=int(instance),
        importance_setting=int(setting[instance]) if setting is not None else 0)


def run_size(run) -> int:
    """Number of instances of a run."""
    return int(np.asarray(_run_arrays(run)[1]["W"]).shape[0])


# ------------------------------------------------------------------------------ costs
class ToyCost:
    """Delta(w) = C(w) - C(theta) of one instance on its evaluation set, callable on float64
    (k, D) parameter vectors -> (k,); also ``loss_and_grad(w)`` of C (the LLC's loss) and
    ``sgld_chains`` (compiled chains, same results as the generic loop)."""

    def __init__(self, instance: ToyInstance, kind: str = "output",
                 eval_samples: int | None = None):
        if kind not in ("output", "loss"):
            raise ValueError(f"cost must be 'output' or 'loss', got {kind!r}")
        self.instance = instance
        self.kind = kind
        self.model_code = MODEL_CODE[instance.model]
        n, m = instance.n_features, instance.n_hidden
        self.n, self.m = n, m
        n_samples = (default_eval_samples(instance.sparsity) if eval_samples is None
                     else int(eval_samples))
        if n_samples < 1:
            raise ValueError(f"eval_samples must be positive, got {eval_samples!r}")
        self.n_samples = n_samples
        X = _kernels.draw_eval_set(instance.seed, instance.probability, n_samples)
        present = X != 0
        busy = present.any(axis=1)
        rows = X[busy]
        n_empty = int(n_samples - rows.shape[0])
        if n_empty:
            rows = np.vstack([rows, np.zeros((1, n))])
        self.rows = np.ascontiguousarray(rows)
        self.row_weight = np.ones(rows.shape[0])
        if n_empty:
            self.row_weight[-1] = n_empty
        nz = self.rows != 0
        self.indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        self.indptr[1:] = np.cumsum(nz.sum(axis=1))
        r, c = np.nonzero(nz)
        self.indices = c.astype(np.int64)
        self.values = np.ascontiguousarray(self.rows[r, c])
        self.importance = np.ascontiguousarray(instance.importance)
        anchor = instance.anchor
        if kind == "output":
            self.target = _kernels.toy_outputs(self.model_code, n, m, anchor, self.indptr,
                                               self.indices, self.values)
        else:
            self.target = self.rows
        self.anchor_loss = self._value(anchor, self.rows)  # L_X(theta)
        self.target = np.ascontiguousarray(self.target)
        # C(theta) from the very kernel that evaluates C(w): Delta(theta) is exactly 0
        self.offset = 0.0
        self.offset = float(self(anchor[None, :])[0])

    def _value(self, w, target) -> float:
        return float(_kernels.toy_loss_grad(self.model_code, self.n, self.m, w, self.indptr,
                                            self.indices, self.values, self.row_weight,
                                            target, self.importance, False, np.empty(0)))

    def __call__(self, params) -> np.ndarray:
        params = np.ascontiguousarray(params, dtype=np.float64)
        return _kernels.toy_cost_dense_many(self.model_code, self.n, self.m, params,
                                            self.indptr, self.indices, self.values,
                                            self.row_weight, self.target, self.importance,
                                            self.offset)

    def loss_and_grad(self, w) -> tuple[float, np.ndarray]:
        """(C(w), dC/dw (D,))."""
        w = np.ascontiguousarray(w, dtype=np.float64)
        grad = np.empty(w.size)
        loss = _kernels.toy_loss_grad(self.model_code, self.n, self.m, w, self.indptr,
                                      self.indices, self.values, self.row_weight, self.target,
                                      self.importance, True, grad)
        return loss, grad

    def outputs(self, w) -> np.ndarray:
        """float64 (rows, n): f_w on the evaluation rows (the empty row last, if any)."""
        return _kernels.toy_outputs(self.model_code, self.n, self.m,
                                    np.ascontiguousarray(w, np.float64), self.indptr,
                                    self.indices, self.values)

    def gauss_newton(self, chunk: int = 256) -> np.ndarray:
        """float64 (D, D): G = (2 / (N n)) sum_x w_x sum_i I_i J_i J_i^T at theta, J_i the
        gradient of output i (0 where its ReLU is off), the Hessian of the output distance."""
        inst = self.instance
        n, m = self.n, self.m
        W, b, W_dec = unflatten(inst.model, inst.anchor, n, m)
        dim = inst.n_params
        G = np.zeros((dim, dim))
        for first in range(0, self.rows.shape[0], chunk):
            x = self.rows[first:first + chunk]
            weight = self.row_weight[first:first + chunk]
            pre = x @ W.T  # (r, m)
            h = np.maximum(pre, 0.0) if inst.model == "hidden_relu" else pre
            dec = W.T if W_dec is None else W_dec  # (n, m)
            out = b + h @ dec.T
            active = np.ones_like(out, dtype=bool) if inst.model == "linear" else out > 0
            gate = (pre > 0).astype(np.float64) if inst.model == "hidden_relu" else 1.0
            xq = (np.ones_like(pre) * gate)[:, :, None] * x[:, None, :]  # (r, m, n)
            J = np.zeros((x.shape[0], n, dim))
            # encoder: d out_i / d W[q, j] = dec[i, q] gate_q x_j
            J[:, :, :m * n] = np.einsum("iq,rqj->riqj", dec, xq).reshape(x.shape[0], n, m * n)
            if W_dec is None:  # decoder W^T: d out_i / d W[q, i] += h_q
                for i in range(n):
                    J[:, i, np.arange(m) * n + i] += h
            else:  # d out_i / d W_dec[i, q] = h_q
                for i in range(n):
                    J[:, i, m * n + n + i * m + np.arange(m)] = h
            J[:, np.arange(n), m * n + np.arange(n)] = 1.0
            J *= active[:, :, None]
            scaled = J * np.sqrt(weight[:, None, None] * self.importance[None, :, None])
            flat = scaled.reshape(-1, dim)
            G += flat.T @ flat
        return G * (2.0 / (self.n_samples * n))

    def sgld_chains(self, anchor, nbeta, localization, step_size, n_burnin, n_draws,
                    draw_every, seed, n_chains) -> np.ndarray:
        return _kernels.sgld_toy_chains(
            self.model_code, self.n, self.m, np.ascontiguousarray(anchor, np.float64),
            self.indptr, self.indices, self.values, self.row_weight, self.target,
            self.importance, float(nbeta), float(localization), float(step_size),
            int(n_burnin), int(n_draws), int(draw_every), int(seed), int(n_chains))


class ToyLoss:
    """The LLC's loss of a ToyCost: callable w -> (C(w), grad), with the compiled chains
    (``sgld_chains``) unless ``compiled`` is False (then ``estimate_llc`` runs its generic
    loop, with the same result)."""

    def __init__(self, cost: ToyCost, compiled: bool = True):
        self.cost = cost
        if compiled:
            self.sgld_chains = cost.sgld_chains

    def __call__(self, w):
        return self.cost.loss_and_grad(w)


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class ToyBasin:
    """Basin of one instance at one cutoff: the rays, and the log-probability under the
    Gaussian prior and the uniform log-volume from the same rays."""

    instance: ToyInstance
    cost: str
    cutoff_rel: float
    cutoff: float
    sigma: float
    anchor_loss: float
    eval_samples: int
    preconditioner: str
    rays: Rays
    gaussian: LogProbability
    uniform: LogProbability

    @property
    def log_density_ratio(self) -> float:
        """ln rho(S) = ln P - ln p(theta) - ln Vol(S) (spec 1.6)."""
        return (self.gaussian.log_mean_exp - self.gaussian.log_prior_at_anchor
                - self.uniform.log_mean_exp)


def toy_basin_volume(run, instance: int, config: BasinConfig | None = None,
                     cost: ToyCost | None = None) -> list[ToyBasin]:
    """Basins of instance ``instance`` of a run (folder or (model, weights)), one per cutoff of
    ``config.cutoff_rel`` (the same rays for every cutoff and both priors)."""
    config = BasinConfig() if config is None else config
    inst = load_instance(run, instance)
    cost = ToyCost(inst, config.cost, config.eval_samples) if cost is None else cost
    sigma = inst.init_scale if config.sigma is None else float(config.sigma)
    G = cost.gauss_newton()
    precond = make_preconditioner(config.preconditioner, G)
    out = []
    for rel in config.cutoff_rel:
        cutoff = rel * cost.anchor_loss
        if not cutoff > 0:
            raise ValueError(f"cutoff must be positive: the anchor's loss is "
                             f"{cost.anchor_loss:.3e}, cutoff_rel {rel}")
        # start each ray at the quadratic guess sqrt(2 eps / (v G v)) (spec 2.3.1)
        directions = _kernels.ray_directions(config.seed, 0, config.n_directions, inst.n_params)
        if precond is not None:
            directions = directions * precond if precond.ndim == 1 else directions @ precond.T
            directions /= np.linalg.norm(directions, axis=1)[:, None]
        curvature = np.einsum("kd,de,ke->k", directions, G, directions)
        start = np.where(curvature > 0, np.sqrt(2.0 * cutoff / np.maximum(curvature, 1e-300)),
                         sigma)
        start = np.clip(start, 1e-12, None)
        rays = search_radii(cost, inst.anchor, cutoff, n_directions=config.n_directions,
                            seed=config.seed, preconditioner=precond, initial_radius=start,
                            sigma=sigma)
        gaussian = summarise(rays, inst.anchor, "gaussian", sigma, seed=config.seed,
                             n_bootstrap=config.n_bootstrap)
        uniform = summarise(rays, inst.anchor, "uniform", sigma, seed=config.seed,
                            n_bootstrap=config.n_bootstrap)
        out.append(ToyBasin(instance=inst, cost=config.cost, cutoff_rel=float(rel),
                            cutoff=float(cutoff), sigma=sigma, anchor_loss=cost.anchor_loss,
                            eval_samples=cost.n_samples, preconditioner=config.preconditioner,
                            rays=rays, gaussian=gaussian, uniform=uniform))
    return out


# Step size of the toy chains when not given: epsilon a_max / 4 = 2.5 % discretisation bias
# in the stiffest direction (spec 5.4's v_i), far inside the stability bound epsilon a_max < 4.
AUTO_STEP = 0.1


@dataclass(frozen=True)
class ToyLLC:
    """An SGLD estimate of one instance, with the settings resolved and the quadratic
    (Laplace) expectation from the Gauss-Newton eigenvalues h: E[lambda-hat] of spec 5.4 for
    the same n beta, gamma, epsilon, burn-in and draws, the value a non-degenerate quadratic
    basin would give."""

    estimate: LLCEstimate
    max_curvature: float
    quadratic_expectation: float
    exact_posterior_quadratic: float


def toy_llc(run, instance: int, config: LLCConfig | None = None,
            cost: ToyCost | None = None) -> ToyLLC:
    """SGLD estimate of the LLC of instance ``instance`` of a run, L = the config's cost on the
    evaluation set (n = its size), by the compiled chains."""
    config = LLCConfig() if config is None else config
    inst = load_instance(run, instance)
    cost = ToyCost(inst, config.cost, config.eval_samples) if cost is None else cost
    h = np.clip(np.linalg.eigvalsh(cost.gauss_newton()), 0.0, None)
    nbeta = default_nbeta(cost.n_samples) if config.nbeta is None else config.nbeta
    step = (AUTO_STEP / (nbeta * h.max() + config.localization) if config.step_size is None
            else config.step_size)
    est = estimate_llc(ToyLoss(cost), inst.anchor, cost.n_samples, seed=config.seed,
                       n_chains=config.n_chains, n_burnin=config.n_burnin,
                       n_draws=config.n_draws, step_size=step,
                       localization=config.localization, nbeta=nbeta,
                       draw_every=config.draw_every)
    quadratic = expected_llc_quadratic(h, nbeta, config.localization, step,
                                       config.n_burnin, config.n_draws * config.draw_every)
    exact = float(0.5 * np.sum(nbeta * h / (nbeta * h + config.localization)))
    return ToyLLC(estimate=est, max_curvature=float(h.max()), quadratic_expectation=quadratic,
                  exact_posterior_quadratic=exact)




def toy_basin_and_llc(run, instance: int, volume: BasinConfig | None = None,
                      llc: LLCConfig | None = None) -> tuple[list[ToyBasin], ToyLLC]:
    """Both measures of one instance of a run (folder or (model, weights)): its basins, one
    per cutoff, and its SGLD LLC (one evaluation set when both configs ask for the same cost
    and size)."""
    volume = BasinConfig() if volume is None else volume
    llc = LLCConfig() if llc is None else llc
    inst = load_instance(run, instance)
    cost = ToyCost(inst, volume.cost, volume.eval_samples)
    same = (llc.cost, llc.eval_samples) == (volume.cost, volume.eval_samples)
    return (toy_basin_volume(run, instance, volume, cost=cost),
            toy_llc(run, instance, llc, cost=cost if same else None))
