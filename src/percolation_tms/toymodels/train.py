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
from percolation_tms.toymodels.config import MODELS, AdamW, Instances, ToyConfig, instances
from percolation_tms.toymodels.data import (
    FeatureSource,
    PercolationFeatures,
    load_percolation_features,
    rows_source,
    synthetic_source,
)

MODEL_CODE = {"tied": _kernels.MODEL_TIED, "untied": _kernels.MODEL_UNTIED,
              "linear": _kernels.MODEL_LINEAR, "hidden_relu": _kernels.MODEL_HIDDEN_RELU}


@dataclass(frozen=True)
class ToyTrainResult:
    """Weights and losses of I trained toy-model instances of n features and m hidden
    dimensions.

    Attributes
    ----------
    model : str
        The model kind (one of ``config.MODELS``).
    W : float64 array of shape (I, m, n)
    W_dec : float64 array of shape (I, n, m) for ``untied``, else None
    b : float64 array of shape (I, n)
    loss_history : float64 array of shape (I, R)
        Mean training loss of each window of ``history_every`` steps, ending at
        ``history_steps``.
    history_steps : int64 array of shape (R,)
        Steps done at the end of each window.
    eval_loss : float64 array of shape (I,)
        Loss on the held-out batch.
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
    """One ``train-toy`` run.

    Attributes
    ----------
    config : ToyConfig
    instances : config.Instances
        The instances the config expanded to, in training order.
    result : ToyTrainResult
    percolation_inputs : data.PercolationFeatures or None
        The feature columns read from ``config.percolation_features`` (None for synthetic
        inputs).
    """

    config: ToyConfig
    instances: Instances
    result: ToyTrainResult
    percolation_inputs: PercolationFeatures | None


def model_code(model: str) -> int:
    """The kernels' code (``_kernels.MODEL_*``) of a model kind."""
    if model not in MODEL_CODE:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return MODEL_CODE[model]


def init_weights(model: str, n_features: int, n_hidden: int, model_seeds
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Xavier-normal initial weights, std sqrt(2 / (n + m)).

    W (m, n) of model seed s is the stream (s, DOMAIN_TOY_INIT, 0) in C order, and W_dec (n, m)
    of ``untied`` the stream (s, DOMAIN_TOY_INIT, 1).  Every sparsity with the same model seed
    starts from the same weights.

    Parameters
    ----------
    model : str
    n_features, n_hidden : int
    model_seeds : sequence of I int

    Returns
    -------
    W : float64 array of shape (I, m, n)
    W_dec : float64 array of shape (I, n, m), or None unless ``untied``
    """
    model_code(model)
    std = math.sqrt(2.0 / (n_features + n_hidden))
    size = n_hidden * n_features
    W = np.stack([normals(int(s), DOMAIN_TOY_INIT, 0, 0, size).reshape(n_hidden, n_features)
                  for s in model_seeds]) * std
    if model != "untied":
        return W, None
    W_dec = np.stack([normals(int(s), DOMAIN_TOY_INIT, 1, 0, size).reshape(n_features, n_hidden)
                      for s in model_seeds]) * std
    return W, W_dec


def _lanes(cost: np.ndarray, n_lanes: int) -> _kernels.Lanes:
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
    return _kernels.Lanes(ptr=lane_ptr, order=order)


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
    draw = np.where(source.mode == _kernels.SOURCE_SKIP, 14.0 * k, 0.9 * n)
    return busy * model + draw + 1.0


def lane_split(source: FeatureSource, n_hidden: int, n_threads: int | None = None
               ) -> _kernels.Lanes:
    """How the trainer spreads instances over threads: lane l trains the instances
    ``order[ptr[l]:ptr[l + 1]]``.  Default ``n_threads``: numba's current thread count."""
    n_threads = numba.get_num_threads() if n_threads is None else n_threads
    return _lanes(_step_cost(source, n_hidden),
                  max(1, min(n_threads, source.n_instances)))


def train_instances(model: str, n_hidden: int, source: FeatureSource, importance,
                    model_seeds, *, steps: int, batch_size: int, optimizer: AdamW,
                    eval_batch_size: int, history_every: int, progress: bool = True
                    ) -> ToyTrainResult:
    """Train I instances from their Xavier-normal initialisation.

    The settings are keyword-only and have no defaults here: they come from a ``ToyConfig``
    or ``PhaseDiagramConfig`` (their one home), which also validated them.

    Parameters
    ----------
    model : str
        One of ``config.MODELS``.
    n_hidden : int
        m.
    source : data.FeatureSource
        The instances' inputs (``synthetic_source`` or ``rows_source``), n features each.
    importance : float array of shape (I, n)
        Feature importances.
    model_seeds : int array of shape (I,)
        Model seeds: initial weights and batch streams.
    steps, batch_size, eval_batch_size, history_every : int
    optimizer : config.AdamW
    progress : bool
        Log the training loss about ten times.

    Returns
    -------
    ToyTrainResult
    """
    code = model_code(model)
    n = source.n_features
    n_instances = source.n_instances
    importance = np.ascontiguousarray(importance, dtype=np.float64)
    model_seeds = np.ascontiguousarray(model_seeds, dtype=np.int64)
    if importance.shape != (n_instances, n):
        raise ValueError(f"importance must have shape ({n_instances}, {n}), "
                         f"got {importance.shape}")
    if model_seeds.shape != (n_instances,) or np.any(model_seeds < 0):
        raise ValueError(f"model_seeds must be {n_instances} non-negative integers")
    optimizer = AdamW(*(float(v) for v in optimizer))
    W, W_dec = init_weights(model, n, n_hidden, model_seeds)
    untied = W_dec is not None
    params = _kernels.Params(
        W=W, DT=np.ascontiguousarray(W_dec.transpose(0, 2, 1)) if untied else np.empty(
            (n_instances, 0, 0)), b=np.zeros((n_instances, n), dtype=np.float64))
    moments = _kernels.Moments(
        W=np.zeros((n_instances, 2, n_hidden, n), dtype=np.float64),
        DT=np.zeros((n_instances, 2, n_hidden, n) if untied else (n_instances, 2, 0, 0),
                    dtype=np.float64),
        b=np.zeros((n_instances, 2, n), dtype=np.float64))
    importance_n = importance / n  # reported losses: mean over features
    lanes = lane_split(source, n_hidden)

    n_windows = -(-steps // history_every)
    history = np.empty((n_instances, n_windows), dtype=np.float64)
    history_steps = np.minimum(np.arange(1, n_windows + 1) * history_every, steps)
    # Blocks of whole windows, about ten of them, between progress messages.
    block = history_every * max(1, round(steps / 10 / history_every))
    for first in range(0, steps, block):
        count = min(block, steps - first)
        losses = np.empty((n_instances, count), dtype=np.float64)
        _kernels.train_steps(code, lanes, params, moments, importance, source, model_seeds,
                             _kernels.StepRange(first=first, count=count,
                                                batch_size=batch_size),
                             optimizer, losses)
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
    eval_loss = _kernels.evaluate(code, lanes, params, importance_n, source, model_seeds,
                                  eval_batch_size)
    return ToyTrainResult(
        model=model, W=params.W,
        W_dec=np.ascontiguousarray(params.DT.transpose(0, 2, 1)) if untied else None,
        b=params.b, loss_history=history, history_steps=history_steps, eval_loss=eval_loss)


def train_toy(config: ToyConfig, progress: bool = True) -> ToyRun:
    """Train every instance of a config (reading its percolation features if it names them).

    Parameters
    ----------
    config : ToyConfig
    progress : bool
        Log what is trained and the training loss.

    Returns
    -------
    ToyRun
    """
    grid = instances(config)
    percolation_inputs = None
    n_instances = len(grid.model_seed)
    if config.percolation_features is not None:
        percolation_inputs = load_percolation_features(
            config.percolation_features, config.n_features, config.feature_selection,
            config.feature_values)
        frequency = percolation_inputs.frequency
        grid = grid._replace(sparsity=np.full(n_instances, 1.0 - frequency.mean()),
                             probability=np.repeat(frequency[None, :], n_instances, axis=0))
        source = rows_source(percolation_inputs, n_instances)
    else:
        source = synthetic_source(grid.probability)
    if progress:
        _progress.log(f"training {n_instances} {config.model} instance(s), n = "
                      f"{config.n_features}, m = {config.n_hidden}, {config.steps} steps of "
                      f"{config.batch_size} on {numba.get_num_threads()} thread(s)")
    result = train_instances(config.model, config.n_hidden, source, grid.importance,
                             grid.model_seed, steps=config.steps,
                             batch_size=config.batch_size, optimizer=config.optimizer,
                             eval_batch_size=config.eval_batch_size,
                             history_every=config.history_every, progress=progress)
    return ToyRun(config=config, instances=grid, result=result,
                  percolation_inputs=percolation_inputs)
