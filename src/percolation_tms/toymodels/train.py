"""Training many toy-model instances side by side (spec section 2).

Every instance is an independent model with its own weights, optimizer state, random streams
and inputs; the total loss is the sum of the instances' losses, so training them together is
the same as training each alone.  An instance's result depends only on its model seed, its
sparsity and importance and the run's settings -- not on the other instances, on their number,
or on the number of threads.

Loss.  Training minimises the specification's loss, the mean over the batch of
sum_i I_i (x_i - x'_i)^2 (summed over features).  Every loss this module reports (history,
held-out loss) is that divided by n, the mean over batch *and* features, which is how the
specification's table states its figures.  The choice matters beyond a constant: AdamW is
scale-free except for its eps = 1e-8, which is not small against the gradients of rare,
unimportant features (about 1e-8 at S = 0.999 for I_i = 0.7^19 when averaging over features).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from percolation_tms import _progress
from percolation_tms._rng import DOMAIN_TOY_INIT, normals
from percolation_tms.toymodels import _kernels
from percolation_tms.toymodels.config import MODELS, Instances, ToyConfig, instances
from percolation_tms.toymodels.data import (
    FeatureSource,
    PercolationFeatures,
    load_percolation_features,
    rows_source,
    synthetic_source,
)

_MODEL_CODE = {"tied": _kernels.MODEL_TIED, "untied": _kernels.MODEL_UNTIED,
               "linear": _kernels.MODEL_LINEAR, "hidden_relu": _kernels.MODEL_HIDDEN_RELU}


@dataclass(frozen=True)
class TrainResult:
    """Weights and losses of I trained instances of n features and m hidden dimensions.

    W : (I, m, n); W_dec : (I, n, m) for ``untied``, else None; b : (I, n);
    loss_history : (I, R) mean training loss of each window of ``history_every`` steps, ending
    at history_steps : (R,) (steps done); eval_loss : (I,) loss on the held-out batch.
    """

    model: str
    W: np.ndarray
    W_dec: np.ndarray | None
    b: np.ndarray
    loss_history: np.ndarray
    history_steps: np.ndarray
    eval_loss: np.ndarray


@dataclass(frozen=True)
class ToyRun:
    """A config, the instances it expanded to, their training result, and the percolation
    features they saw (None for synthetic inputs)."""

    config: ToyConfig
    instances: Instances
    result: TrainResult
    features: PercolationFeatures | None


def _check_model(model: str) -> int:
    if model not in _MODEL_CODE:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return _MODEL_CODE[model]


def init_weights(model: str, n_features: int, n_hidden: int, seeds
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Xavier-normal weights, std sqrt(2 / (n + m)), from the stream (seed, DOMAIN_TOY_INIT, 0)
    for W (m, n) in C order and (seed, DOMAIN_TOY_INIT, 1) for W_dec (n, m) of ``untied``.

    Returns W (I, m, n) and W_dec (I, n, m) or None.  Every sparsity with the same seed starts
    from the same weights.
    """
    _check_model(model)
    std = math.sqrt(2.0 / (n_features + n_hidden))
    size = n_hidden * n_features
    W = np.stack([normals(int(s), DOMAIN_TOY_INIT, 0, 0, size).reshape(n_hidden, n_features)
                  for s in seeds]) * std
    if model != "untied":
        return W, None
    W_dec = np.stack([normals(int(s), DOMAIN_TOY_INIT, 1, 0, size).reshape(n_features, n_hidden)
                      for s in seeds]) * std
    return W, W_dec


def _lanes(cost: np.ndarray, n_lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """Split instances over lanes (threads), largest estimated cost first onto the least loaded
    lane.  Only the speed depends on this: each instance is computed by one lane alone."""
    load = np.zeros(n_lanes)
    members: list[list[int]] = [[] for _ in range(n_lanes)]
    for inst in np.argsort(-cost, kind="stable"):
        lane = int(np.argmin(load))
        members[lane].append(int(inst))
        load[lane] += cost[inst]
    lane_ptr = np.zeros(n_lanes + 1, dtype=np.int64)
    lane_ptr[1:] = np.cumsum([len(m) for m in members])
    order = np.array([i for m in members for i in sorted(m)], dtype=np.int64)
    return lane_ptr, order


def _step_cost(source: FeatureSource, n_hidden: int) -> np.ndarray:
    """Estimated time of one step of each instance, in ns per sample (for the lane split only;
    fitted to measurements at n = 20 and 100, m = n / 5)."""
    n = source.n_features
    p = source.presence_threshold.astype(np.float64) / 2.0**32
    if source.row_indptr.shape[0] > 1:
        p = np.full(p.shape, np.diff(source.row_indptr).mean() / n)
    k = p.sum(axis=1)
    busy = 1.0 - np.prod(1.0 - p, axis=1)  # fraction of samples with a feature present
    model = np.where(k < n_hidden, 0.24 * k * n, 0.28 * n_hidden * n) + 1.9 * n
    draw = np.where(source.source == _kernels.SOURCE_SKIP, 14.0 * k, 0.9 * n)
    return busy * model + draw + 1.0


def lane_split(source: FeatureSource, n_hidden: int, n_threads: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """How the trainer spreads instances over threads: lane l trains the instances
    order[lane_ptr[l]:lane_ptr[l + 1]].  Default: numba's current thread count."""
    n_threads = numba.get_num_threads() if n_threads is None else n_threads
    n_instances = source.source.shape[0]
    return _lanes(_step_cost(source, n_hidden), max(1, min(n_threads, n_instances)))


def train_instances(model: str, n_hidden: int, source: FeatureSource, importance, seeds,
                    steps: int, batch_size: int, lr: float = 1e-3, weight_decay: float = 0.01,
                    beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                    eval_batch_size: int = 100_000, history_every: int = 100,
                    progress: bool = True) -> TrainResult:
    """Train I instances from their Xavier-normal initialisation.

    source : the instances' inputs (``synthetic_source`` or ``rows_source``);
    importance : (I, n) feature importances; seeds : (I,) model seeds.
    """
    code = _check_model(model)
    n = source.n_features
    n_instances = source.source.shape[0]
    importance = np.ascontiguousarray(importance, dtype=np.float64)
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    if importance.shape != (n_instances, n):
        raise ValueError(f"importance must have shape ({n_instances}, {n}), "
                         f"got {importance.shape}")
    if seeds.shape != (n_instances,) or np.any(seeds < 0):
        raise ValueError(f"seeds must be {n_instances} non-negative integers")
    for name, value in (("n_hidden", n_hidden), ("steps", steps), ("batch_size", batch_size),
                        ("eval_batch_size", eval_batch_size),
                        ("history_every", history_every)):
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    W, W_dec = init_weights(model, n, n_hidden, seeds)
    DT = np.ascontiguousarray(W_dec.transpose(0, 2, 1)) if W_dec is not None else np.empty(
        (n_instances, 0, 0))
    b = np.zeros((n_instances, n), dtype=np.float64)
    moments_W = np.zeros((n_instances, 2, n_hidden, n), dtype=np.float64)
    moments_DT = np.zeros_like(moments_W) if W_dec is not None else np.empty(
        (n_instances, 2, 0, 0))
    moments_b = np.zeros((n_instances, 2, n), dtype=np.float64)
    importance_n = importance / n  # reported losses: mean over features
    lane_ptr, lane_order = lane_split(source, n_hidden)

    n_windows = -(-steps // history_every)
    history = np.empty((n_instances, n_windows), dtype=np.float64)
    history_steps = np.minimum(np.arange(1, n_windows + 1) * history_every, steps)
    # Blocks of whole windows, about ten of them, between progress messages.
    block = history_every * max(1, round(steps / 10 / history_every))
    for first in range(0, steps, block):
        count = min(block, steps - first)
        losses = np.empty((n_instances, count), dtype=np.float64)
        _kernels.train_steps(
            code, lane_ptr, lane_order, W, DT, b, moments_W, moments_DT, moments_b, importance,
            *source, seeds, first, count, batch_size, lr, weight_decay, beta1, beta2, eps,
            losses)
        for w in range(first // history_every, -(-(first + count) // history_every)):
            lo = w * history_every - first
            history[:, w] = losses[:, lo:lo + history_every].mean(axis=1) / n
        if progress:
            current = history[:, w]
            shown = (np.array2string(current, precision=3, max_line_width=10_000)
                     if n_instances <= 8 else
                     f"from {current.min():.3e} to {current.max():.3e} over {n_instances} "
                     f"instances")
            _progress.log(f"{model}: step {first + count}/{steps}, training loss {shown}")
    eval_loss = _kernels.evaluate(code, lane_ptr, lane_order, W, DT, b, importance_n,
                                  *source, seeds, eval_batch_size)
    return TrainResult(model=model, W=W, W_dec=(np.ascontiguousarray(DT.transpose(0, 2, 1))
                                                if W_dec is not None else None),
                       b=b, loss_history=history, history_steps=history_steps,
                       eval_loss=eval_loss)


def train_toy(config: ToyConfig, progress: bool = True) -> ToyRun:
    """Train every instance of a config (reading its percolation features if it names them)."""
    grid = instances(config)
    features = None
    if config.percolation_features is not None:
        features = load_percolation_features(config.percolation_features, config.n_features,
                                             config.feature_selection, config.feature_values)
        grid = grid._replace(
            sparsity=np.full(len(grid.seed), 1.0 - features.frequency.mean()),
            probability=np.repeat(features.frequency[None, :], len(grid.seed), axis=0))
        source = rows_source(features, len(grid.seed))
    else:
        source = synthetic_source(grid.probability)
    if progress:
        _progress.log(f"training {len(grid.seed)} {config.model} instance(s), n = "
                      f"{config.n_features}, m = {config.n_hidden}, {config.steps} steps of "
                      f"{config.batch_size} on {numba.get_num_threads()} thread(s)")
    result = train_instances(config.model, config.n_hidden, source, grid.importance, grid.seed,
                             config.steps, config.batch_size, config.lr, config.weight_decay,
                             config.beta1, config.beta2, config.eps, config.eval_batch_size,
                             config.history_every, progress)
    return ToyRun(config=config, instances=grid, result=result, features=features)


def batch_loss_and_gradient(model: str, W, b, importance, X, W_dec=None, csr: bool = False):
    """Loss and gradient on a given batch, through the training kernels.

    W : (m, n); b, importance : (n,); X : (B, n) batch; W_dec : (n, m) for ``untied``;
    csr : hand the batch to the kernels as CSR rows (as the skip and rows samplers produce
    it) instead of dense rows (as the dense and Bernoulli samplers do).
    Returns (loss, dW (m, n), dW_dec (n, m) or None, db (n,)) of the training loss, the mean
    over the batch of sum_i I_i (x_i - x'_i)^2 (divide by n for the reported loss).  Samples
    with fewer than m features present take the M path; the others the hidden path.
    """
    code = _check_model(model)
    W = np.ascontiguousarray(W, dtype=np.float64)
    m, n = W.shape
    X = np.ascontiguousarray(X, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    importance = np.ascontiguousarray(importance, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != n or X.shape[0] < 1:
        raise ValueError(f"X must have shape (B >= 1, {n}), got {X.shape}")
    if b.shape != (n,) or importance.shape != (n,):
        raise ValueError(f"b and importance must have shape ({n},)")
    if (model == "untied") != (W_dec is not None):
        raise ValueError("W_dec is required for untied and only for untied")
    DT = W if W_dec is None else np.ascontiguousarray(np.asarray(W_dec, dtype=np.float64).T)
    if DT.shape != (m, n):
        raise ValueError(f"W_dec must have shape ({n}, {m})")
    batch = X.shape[0]
    present = X != 0
    counts = present.sum(axis=1).astype(np.int64)
    indptr = np.zeros(batch + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(counts)
    rows, cols = np.nonzero(present)
    indices = np.empty(batch * n, dtype=np.int64)
    values = np.empty(batch * n, dtype=np.float64)
    indices[:len(cols)] = cols
    values[:len(cols)] = X[rows, cols]
    gW = np.zeros((m, n))
    gDT = np.zeros((m, n))
    gb = np.zeros(n)
    MT = np.empty((n, n))
    A = np.zeros((n, n))
    _kernels.form_mt(W, DT, MT)
    loss = _kernels.chunk_loss_grad(code, W, DT, MT, b, importance, 2.0 / batch, not csr,
                                    np.zeros_like(X) if csr else X.copy(), counts, indptr,
                                    indices, values, batch, model != "hidden_relu", True, gW,
                                    gDT, A, gb) / batch
    _kernels.finish_gradient(W, DT, A, gW, gDT, model != "untied")
    if model == "untied":
        return loss, gW, np.ascontiguousarray(gDT.T), gb
    return loss, gW + gDT, None, gb
