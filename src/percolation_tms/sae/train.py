"""Training sparse autoencoders (ReLU + L1, TopK, BatchTopK, JumpReLU, Matryoshka BatchTopK)
with Adam, and encoding points with them.

The model (d inputs, m latents):

    z     = W_enc (x - b_dec) + b_enc
    a     = act(z)        ReLU; TopK(k) then ReLU; BatchTopK (the k B largest of a batch of B);
                          z [z > theta_j] (JumpReLU; BatchTopK and Matryoshka at inference)
    x_hat = W_dec a + b_dec                       W_dec (d, m) with unit-norm columns
    loss  = mean over the batch of |x - x_hat|^2 (summed over the d coordinates)
            + l1 * sum_j a_j                       (relu)
            + lambda * S(a)                        (jumprelu: step or tanh penalty)
            + the other Matryoshka levels' |x - x_hat_i|^2, and the AuxK loss

(``SAEConfig`` and ``docs/sae.md`` give every setting; SPEC-sae-hierarchy section 1.)

Inputs are first standardised (``SAEConfig.standardize``).  The unit-norm constraint is kept
the usual way: the gradient of each decoder column loses its component along the column before
the Adam step, and the column is renormalised after it.

Initialisation: decoder columns are isotropic unit vectors (stream (seed, DOMAIN_SAE_INIT, 0, j)
for latent j, so a larger dictionary extends a smaller one), b_enc = 0, b_dec = the mean of the
inputs, and W_enc = W_dec^T (TopK) or (2d/m) W_dec^T (ReLU).  The ReLU scale makes the first
reconstruction unbiased: with tied weights about half the latents fire and
E[sum_j ReLU(a_j . x) a_j] = (m / 2d) x for random unit atoms a_j, a 4-fold overshoot at m = 8d
that costs the first epoch to undo (measured: at 8d, 5 epochs on known-dictionary data reach mean
max cosine similarity 0.90 instead of 0.45).  Every epoch visits the points in the order of
stream (seed, DOMAIN_SAE_BATCH, epoch, 0).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from percolation_tms import _progress
from percolation_tms._rng import DOMAIN_SAE_BATCH, DOMAIN_SAE_INIT
from percolation_tms.sae import _kernels
from percolation_tms.sae._kernels import ActivationRule, Entries, Levels, Parameters, Scratch
from percolation_tms.sae._kernels import tuples as _t
from percolation_tms.sae.config import AUX_KINDS, DEAD_WINDOW, SAEConfig

ENCODE_CHUNK = 2048  # points per encoding pass: bounds the (chunk, m) scratch buffers
PROGRESS_SECONDS = 30.0  # a progress line this often within a long epoch
THRESHOLD_KINDS = ("batchtopk", "jumprelu", "matryoshka")  # a = z [z > theta_j] at inference
BATCH_KINDS = ("batchtopk", "matryoshka")  # codes chosen over the whole batch in training

__all__ = ["Encoding", "Parameters", "SAETrainResult", "SparseAutoencoder", "encode",
           "initial_parameters", "loss_and_gradients", "train_sae"]


@dataclass(frozen=True)
class SparseAutoencoder:
    """A trained sparse autoencoder and the standardisation of its inputs.

    Attributes
    ----------
    params : Parameters
        Weights, one row per latent; ``W_enc`` (m, d) and ``W_dec`` (d, m) give the usual
        orientation.
    input_mean : float64 array (d,)
        Subtracted from raw inputs; ``input_scale`` (scalar) then divides them.
    top_k : int
        k of a TopK SAE, 0 otherwise.
    l1 : float
        The L1 coefficient it was trained with (relu).
    kind : str
        One of ``config.KINDS``; empty means relu or topk, read from ``top_k``.
    threshold : float64 array (m,) or None
        theta_j of the threshold kinds (``batchtopk``, ``jumprelu``, ``matryoshka``): a_j =
        z_j [z_j > theta_j]; zeros (None given) for the others.
    """

    params: Parameters
    input_mean: np.ndarray
    input_scale: float
    top_k: int
    l1: float
    kind: str = ""
    threshold: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", "topk" if self.top_k else "relu")
        if self.threshold is None:
            object.__setattr__(self, "threshold", np.zeros(self.n_latents))
        else:
            object.__setattr__(self, "threshold",
                               np.ascontiguousarray(self.threshold, dtype=np.float64))

    @property
    def W_enc(self) -> np.ndarray:
        return self.params.enc

    @property
    def W_dec(self) -> np.ndarray:
        return self.params.atoms.T

    @property
    def n_latents(self) -> int:
        return self.params.atoms.shape[0]

    @property
    def dim(self) -> int:
        return self.params.atoms.shape[1]

    def standardized(self, X: np.ndarray) -> np.ndarray:
        """Raw points (n, d) in the space the SAE works in (a new float64 C array)."""
        return np.ascontiguousarray((X - self.input_mean) / self.input_scale, dtype=np.float64)

    def inference_rule(self) -> ActivationRule:
        """The activation rule of ``encode``: BatchTopK and Matryoshka use their thresholds,
        so a point's code never depends on the other points of its chunk."""
        if self.kind == "topk":
            mode = _t.MODE_TOPK
        elif self.kind in THRESHOLD_KINDS:
            mode = _t.MODE_THRESHOLD
        else:
            mode = _t.MODE_RELU
        return ActivationRule(mode, self.top_k, self.l1, self.threshold, _t.PENALTY_NONE, 0.0,
                              1.0, 0.0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``weights.npz`` (usual orientation: W_enc (m, d), W_dec (d, m))."""
        return {"W_enc": self.W_enc, "b_enc": self.params.b_enc, "W_dec": self.W_dec,
                "b_dec": self.params.b_dec, "input_mean": self.input_mean,
                "input_scale": np.float64(self.input_scale), "top_k": np.int64(self.top_k),
                "l1": np.float64(self.l1), "kind": np.array(self.kind),
                "threshold": self.threshold}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SparseAutoencoder:
        """Inverse of :meth:`to_arrays` (``kind`` and ``threshold`` optional)."""
        params = Parameters(*(np.ascontiguousarray(a, dtype=np.float64) for a in (
            arrays["W_enc"], arrays["b_enc"], np.asarray(arrays["W_dec"]).T, arrays["b_dec"])))
        kind = str(arrays["kind"]) if "kind" in arrays else ""
        threshold = arrays.get("threshold", None)
        return cls(params, np.asarray(arrays["input_mean"], dtype=np.float64),
                   float(arrays["input_scale"]), int(arrays["top_k"]), float(arrays["l1"]),
                   kind, threshold)


@dataclass(frozen=True)
class SAETrainResult:
    """The outcome of :func:`train_sae`.

    Attributes
    ----------
    sae : SparseAutoencoder
    epoch_loss, epoch_mse, epoch_l0, epoch_seconds : float64 arrays (E,)
        Per epoch: mean loss, mean squared error and mean L0 over the epoch's minibatches
        (weighted by points), and seconds.
    seconds : float
        Total seconds of training (without standardisation).
    """

    sae: SparseAutoencoder
    epoch_loss: np.ndarray
    epoch_mse: np.ndarray
    epoch_l0: np.ndarray
    epoch_seconds: np.ndarray
    seconds: float


@dataclass(frozen=True)
class Encoding:
    """Activations of points: ``activations`` CSR (n, m) with only the positive entries,
    indices ascending in each row; ``sq_err`` (n,) squared reconstruction error of each point
    (standardised space); ``fvu`` fraction of variance unexplained; ``mean_l0``."""

    activations: sparse.csr_matrix
    sq_err: np.ndarray
    fvu: float
    mean_l0: float


# ---------------------------------------------------------------------------- validation
def as_points(X, name: str = "X") -> np.ndarray:
    """float64 C-contiguous (n, d) copy-if-needed of X; ValueError unless 2-D, finite, n >= 1."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array with at least one row and column, got "
                         f"shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


def standardization(X: np.ndarray) -> tuple[np.ndarray, float]:
    """(per-coordinate mean (d,), one scale) with mean |(x - mean) / scale|^2 = d."""
    mean = X.mean(axis=0)
    scale = math.sqrt(float(((X - mean) ** 2).sum()) / X.size)
    return mean, (scale if scale > 0.0 else 1.0)


def initial_parameters(n_latents: int, dim: int, seed: int, b_dec: np.ndarray,
                       encoder_scale: float = 1.0) -> Parameters:
    """Unit random atoms, W_enc = encoder_scale * W_dec^T, b_enc = 0 (module docstring)."""
    atoms = np.empty((n_latents, dim), dtype=np.float64)
    _kernels.unit_gaussian_rows(seed, DOMAIN_SAE_INIT, 0, atoms)
    return Parameters(atoms * encoder_scale, np.zeros(n_latents), atoms,
                      np.array(b_dec, dtype=np.float64))


def one_level(n_latents: int) -> Levels:
    return Levels(np.array([n_latents], dtype=np.int64), np.zeros(n_latents, dtype=np.int64))


def nested_levels(ends) -> Levels:
    """Levels of the prefix widths ``ends`` (ascending, the last = m)."""
    ends = np.asarray(ends, dtype=np.int64)
    latent_level = np.searchsorted(ends, np.arange(ends[-1]), side="right").astype(np.int64)
    return Levels(ends, latent_level)


# ---------------------------------------------------------------------------- one batch
class _Buffers:
    """Scratch arrays of a forward/backward pass over up to ``n_rows`` points."""

    def __init__(self, n_rows: int, dim: int, n_latents: int, with_grad: bool,
                 n_levels: int = 1, aux_groups: int = 0,
                 ste: bool = False, batch: bool = False):
        self.n_rows = n_rows
        level_err = np.empty((n_rows, n_levels, dim))
        self.scratch = Scratch(
            xc=np.empty((n_rows, dim)), pre=np.empty((n_rows, n_latents)),
            act_index=np.empty((n_rows, n_latents), dtype=np.int64),
            act_value=np.empty((n_rows, n_latents)),
            act_grad=np.empty((n_rows, n_latents) if with_grad else (1, 1)),
            n_active=np.empty(n_rows, dtype=np.int64),
            err=level_err if n_levels == 1 else np.empty((n_rows, n_levels, dim)),
            level_err=level_err, sq_err=np.empty(n_rows), l1_norm=np.empty(n_rows),
            extra=np.zeros(n_rows),
            theta_rows=np.empty((n_rows, n_latents) if ste else (1, 1)))
        self.batch_work = _kernels.batch_work(n_rows, n_latents) if batch else None
        if with_grad:
            self.entries = Entries(np.empty(n_latents + 1, dtype=np.int64),
                                   np.empty(n_rows * n_latents, dtype=np.int64),
                                   np.empty(n_rows * n_latents, dtype=np.int64))
            self.grads = _zero_parameters(n_latents, dim)
            self.grad_theta = np.zeros(n_latents)
        self.ste = None  # JumpReLU ste_to_input: the entries that train the encoder
        if ste:
            self.ste = (np.empty((n_rows, n_latents), dtype=np.int64),
                        np.empty((n_rows, n_latents)), np.empty((n_rows, n_latents)),
                        np.zeros(n_rows, dtype=np.int64),
                        Entries(np.empty(n_latents + 1, dtype=np.int64),
                                np.empty(n_rows * n_latents, dtype=np.int64),
                                np.empty(n_rows * n_latents, dtype=np.int64)))
        self.aux_groups = aux_groups
        if aux_groups:
            self.aux_index = np.empty((n_rows, n_latents), dtype=np.int64)
            self.aux_value = np.empty((n_rows, n_latents))
            self.aux_grad = np.empty((n_rows, n_latents))
            self.aux_n = np.zeros(n_rows, dtype=np.int64)
            self.aux_err = np.empty((n_rows, aux_groups, dim))
            self.aux_loss = np.zeros(n_rows)
            self.aux_work = np.empty((n_rows, n_latents))
            self.aux_entries = Entries(np.empty(n_latents + 1, dtype=np.int64),
                                       np.empty(n_rows * n_latents, dtype=np.int64),
                                       np.empty(n_rows * n_latents, dtype=np.int64))
            self.aux_grads = _zero_parameters(n_latents, dim)

    def rows(self, b: int) -> Scratch:
        """The scratch arrays of the first b rows (placeholders stay whole)."""
        return Scratch(*(a[:b] if a.shape[0] == self.n_rows else a for a in self.scratch))

    # the scratch arrays by name, for readers of a finished pass
    def __getattr__(self, name):
        if name in Scratch._fields:
            return getattr(self.scratch, name)
        raise AttributeError(name)


def _zero_parameters(n_latents: int, dim: int) -> Parameters:
    return Parameters(np.zeros((n_latents, dim)), np.zeros(n_latents),
                      np.zeros((n_latents, dim)), np.zeros(dim))


class _Trainer:
    """The state of one training run: parameters, Adam moments, thresholds, dead-latent
    counters, step count, buffers.

    Parameters
    ----------
    params : Parameters, trained in place.
    config : SAEConfig
    batch_size : rows of the largest batch.
    steps_per_epoch : sets the default dead-latent window (min(1000, steps per epoch)).
    """

    def __init__(self, params: Parameters, config: SAEConfig, batch_size: int,
                 steps_per_epoch: int = DEAD_WINDOW):
        self.params = params
        self.config = config
        kind = config.kind
        n_latents, dim = params.atoms.shape
        self.moments = tuple(Parameters(*(np.zeros_like(p) for p in params)) for _ in "12")
        self.theta_moments = (np.zeros(n_latents), np.zeros(n_latents))
        self.step = 0
        self.top_k = config.k if kind == "topk" else 0
        self.levels = (nested_levels(config.level_ends(n_latents)) if kind == "matryoshka"
                       else one_level(n_latents))
        self.threshold = np.full(n_latents, config.threshold_init if kind == "jumprelu"
                                 else 0.0)
        self.zeros = np.zeros(n_latents)
        self.batch_threshold = 0.0  # BatchTopK's running theta
        mode = {"relu": _t.MODE_RELU, "topk": _t.MODE_TOPK, "jumprelu": _t.MODE_THRESHOLD,
                "batchtopk": _t.MODE_GIVEN, "matryoshka": _t.MODE_GIVEN}[kind]
        penalty = ({"step": _t.PENALTY_STEP, "tanh": _t.PENALTY_TANH}[config.sparsity]
                   if kind == "jumprelu" else _t.PENALTY_NONE)
        self.rule = ActivationRule(mode, self.top_k, config.l1, self.threshold, penalty,
                                   config.l0_coefficient, config.tanh_scale,
                                   config.bandwidth if kind == "jumprelu" else 0.0)
        # AuxK: groups of latents (one, or one per Matryoshka level) and the level whose
        # residual each group reconstructs.
        self.aux_alpha = config.aux_alpha() if kind in AUX_KINDS else 0.0
        self.k_aux = config.aux_k or max(1, dim // 2)
        self.dead_window = config.dead_window or min(DEAD_WINDOW, steps_per_epoch)
        self.since_fired = np.zeros(n_latents, dtype=np.int64)
        self.dead_override = None  # a fixed dead mask (m,) bool, for tests of the AuxK loss
        ends = self.levels.end
        if kind == "matryoshka" and config.matryoshka_aux:
            self.aux_bounds = np.concatenate([[0], ends]).astype(np.int64)
            self.aux_group_level = np.arange(ends.size, dtype=np.int64)
        else:
            self.aux_bounds = np.array([0, n_latents], dtype=np.int64)
            self.aux_group_level = np.array([ends.size - 1], dtype=np.int64)
        self.aux_latent_group = (np.searchsorted(self.aux_bounds[1:], np.arange(n_latents),
                                                 side="right").astype(np.int64))
        self.buffers = _Buffers(batch_size, dim, n_latents, with_grad=True,
                                n_levels=ends.size,
                                aux_groups=self.aux_group_level.size if self.aux_alpha > 0
                                else 0, ste=config.ste_to_input, batch=kind in BATCH_KINDS)

    def dead_mask(self) -> np.ndarray:
        if self.dead_override is not None:
            return self.dead_override
        return self.since_fired > self.dead_window

    def evaluate(self, x: np.ndarray, rows: np.ndarray, update: bool) -> float:
        """Forward and backward pass on x[rows]; with ``update`` one Adam step.  Returns the
        batch's mean loss before the step; gradients stay in the buffers."""
        config, buffers, params = self.config, self.buffers, self.params
        b = rows.shape[0]
        scratch = buffers.rows(b)
        kept_low = 0.0
        if config.kind in BATCH_KINDS:
            _kernels.preactivations(x, rows, params, scratch)
            # K = floor(k B) of the whole batch; each row's own top ceil(k) bound the search.
            kept_low = _kernels.batch_top_k(scratch.pre, math.ceil(config.k),
                                            math.floor(config.k * b),
                                            scratch.act_index, scratch.n_active,
                                            buffers.batch_work)
        _kernels.forward_rows(x, rows, params, self.rule, self.levels, True, scratch)
        aux = self._aux(b, scratch) if buffers.aux_groups else False
        scale = 1.0 / b
        grads = buffers.grads
        _kernels.latent_major(scratch.act_index, scratch.n_active, params.atoms.shape[0],
                              *buffers.entries)
        if config.kind == "jumprelu":
            errors = scratch.level_err.reshape(b, -1)  # one level: a (b, d) view
            _kernels.threshold_gradients(errors, scratch.pre, params.atoms, self.rule,
                                         scratch.act_value, buffers.entries, scale,
                                         buffers.grad_theta)
        if buffers.ste is None:
            _kernels.latent_gradients(scratch.xc, scratch.act_value, scratch.act_grad,
                                      scratch.err, self.levels.latent_level, buffers.entries,
                                      scale, grads)
        else:  # every latent in the window trains its encoder row (entries: fired latents)
            index, value, grad, count, entries = buffers.ste
            index, value, grad, count = index[:b], value[:b], grad[:b], count[:b]
            _kernels.threshold_gradient_rows(scratch.level_err.reshape(b, -1), params,
                                             self.rule, self.zeros, scratch)
            _kernels.ste_rows(params, self.rule, scratch, index, value, grad, count)
            _kernels.latent_major(index, count, params.atoms.shape[0], *entries)
            _kernels.latent_gradients(scratch.xc, value, grad, scratch.err,
                                      self.levels.latent_level, entries, scale, grads)
        if aux:
            _kernels.latent_major(buffers.aux_index[:b], buffers.aux_n[:b],
                                  params.atoms.shape[0], *buffers.aux_entries)
            _kernels.latent_gradients(scratch.xc, buffers.aux_value[:b], buffers.aux_grad[:b],
                                      buffers.aux_err[:b], self.aux_latent_group,
                                      buffers.aux_entries, scale, buffers.aux_grads)
            grads.enc[...] += buffers.aux_grads.enc
            grads.b_enc[...] += buffers.aux_grads.b_enc
            grads.atoms[...] += buffers.aux_grads.atoms
        m1, m2 = self.moments
        adam = (_kernels.adam_constants(config.lr, config.beta1, config.beta2, config.eps,
                                        self.step) if update else np.zeros(5))
        # Reads W_enc before latent_update changes it.
        _kernels.decoder_bias_step(scratch.err, grads, scale, update, params, m1, m2, adam)
        if update:
            _kernels.latent_update(params, grads, m1, m2, adam)
            if config.kind == "jumprelu":
                _kernels.threshold_update(self.threshold, buffers.grad_theta,
                                          *self.theta_moments, adam)
            fired = np.diff(buffers.entries.offsets) > 0
            self.since_fired += 1
            self.since_fired[fired] = 0
            if config.kind in BATCH_KINDS and kept_low > 0.0:
                eta = config.threshold_lr
                self.batch_threshold = (1.0 - eta) * self.batch_threshold + eta * kept_low
        loss = float(scratch.sq_err.sum() + config.l1 * scratch.l1_norm.sum())
        if config.kind not in ("relu", "topk"):
            loss += float(scratch.extra.sum())
        if aux:
            loss += float(buffers.aux_loss[:b].sum())
        return loss / b

    def _aux(self, b: int, scratch: Scratch) -> bool:
        """The AuxK pass over the dead latents; False when none is dead."""
        dead = self.dead_mask()
        if not dead.any():
            return False
        buffers = self.buffers
        dead_latent = np.flatnonzero(dead).astype(np.int64)
        group = self.aux_latent_group[dead_latent]
        n_groups = self.aux_group_level.size
        dead_indptr = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(np.bincount(group, minlength=n_groups), out=dead_indptr[1:])
        n_dead = np.diff(dead_indptr)
        group_scale = self.aux_alpha * np.minimum(n_dead / self.k_aux, 1.0)
        _kernels.aux_rows(scratch.pre, scratch.level_err, self.params.atoms, dead_indptr,
                          dead_latent, self.aux_group_level, group_scale, self.k_aux,
                          buffers.aux_index[:b], buffers.aux_value[:b], buffers.aux_grad[:b],
                          buffers.aux_n[:b], buffers.aux_err[:b], buffers.aux_loss[:b],
                          buffers.aux_work[:b])
        return True

    def train_step(self, x: np.ndarray, rows: np.ndarray) -> float:
        """One Adam step on the points x[rows] (x standardised, rows int64 of at most the
        batch size), in place.  Returns the batch's mean loss before the step."""
        self.step += 1
        return self.evaluate(x, rows, update=True)

    def sae(self, mean: np.ndarray, scale: float) -> SparseAutoencoder:
        kind = self.config.kind
        threshold = (np.full(self.params.atoms.shape[0], self.batch_threshold)
                     if kind in BATCH_KINDS else self.threshold.copy())
        return SparseAutoencoder(self.params, mean, scale, self.top_k, self.config.l1, kind,
                                 threshold)


def loss_and_gradients(params: Parameters, x: np.ndarray, top_k: int = 0, l1: float = 0.0,
                       *, config: SAEConfig | None = None, threshold: np.ndarray | None = None,
                       dead: np.ndarray | None = None):
    """Mean loss over the points x (n, d) (already standardised, one batch) and its gradient
    with respect to every parameter (unconstrained: before the unit-norm projection).  The
    training step uses the same kernels.

    Parameters
    ----------
    params : Parameters
    x : float64 (n, d)
    top_k, l1 : the relu / topk SAE (ignored when ``config`` is given).
    config : SAEConfig, optional
        Any kind; then the result is (loss, grads, grad_threshold (m,)).
    threshold : float64 (m,), optional
        JumpReLU thresholds (default ``config.threshold_init``).
    dead : bool (m,), optional
        The dead latents of the AuxK loss (default: none dead).

    Returns
    -------
    (loss, grads) or, with ``config``, (loss, grads, grad_threshold).
    """
    x = as_points(x, "x")
    full = config is not None
    if config is None:
        config = SAEConfig(kind="topk", k=top_k) if top_k else SAEConfig(kind="relu", l1=l1)
    trainer = _Trainer(Parameters(*(np.array(p, dtype=np.float64) for p in params)), config,
                       x.shape[0])
    if threshold is not None:
        trainer.threshold[:] = threshold
    trainer.dead_override = (np.zeros(params.atoms.shape[0], dtype=bool) if dead is None
                             else np.asarray(dead, dtype=bool))
    loss = trainer.evaluate(x, np.arange(x.shape[0], dtype=np.int64), update=False)
    grads = trainer.buffers.grads
    if full:
        return loss, grads, trainer.buffers.grad_theta.copy()
    return loss, grads


# ---------------------------------------------------------------------------- training
def train_sae(X, config: SAEConfig, log_prefix: str = "") -> SAETrainResult:
    """Train one sparse autoencoder on the points X.

    Parameters
    ----------
    X : array (n, d) of real numbers
    config : SAEConfig
    log_prefix : put before every progress line.

    Returns
    -------
    SAETrainResult
    """
    X = as_points(X)
    n, dim = X.shape
    n_latents = config.n_latents(dim)
    if config.standardize:
        mean, scale = standardization(X)
    else:
        mean, scale = np.zeros(dim), 1.0
    x = np.ascontiguousarray((X - mean) / scale)
    encoder_scale = 2.0 * dim / n_latents if config.kind in ("relu", "jumprelu") else 1.0
    params = initial_parameters(n_latents, dim, config.seed, x.mean(axis=0), encoder_scale)
    batch = min(config.batch_size, n)
    trainer = _Trainer(params, config, batch, steps_per_epoch=-(-n // batch))

    epoch_loss, epoch_mse, epoch_l0, epoch_seconds = (np.empty(config.epochs) for _ in range(4))
    start_time = time.perf_counter()
    for epoch in range(config.epochs):
        epoch_start = time.perf_counter()
        order = _kernels.shuffled_order(n, config.seed, DOMAIN_SAE_BATCH, epoch)
        loss_sum = sq_sum = active_sum = 0.0
        next_report = epoch_start + PROGRESS_SECONDS
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            loss = trainer.train_step(x, rows)
            if not math.isfinite(loss):
                raise ValueError(f"training diverged (loss {loss}) at epoch {epoch}, step "
                                 f"{trainer.step}; lower lr (now {config.lr})")
            b = rows.shape[0]
            loss_sum += loss * b
            sq_sum += float(trainer.buffers.sq_err[:b].sum())
            active_sum += float(trainer.buffers.n_active[:b].sum())
            now = time.perf_counter()
            if now >= next_report and start + b < n:  # a long epoch: say how far it is
                seen, elapsed = start + b, now - epoch_start
                _progress.log(f"{log_prefix}epoch {epoch + 1}/{config.epochs}: {seen:,} of "
                              f"{n:,} points ({100 * seen / n:.0f} %), loss "
                              f"{loss_sum / seen:.4g}, L0 {active_sum / seen:.1f}, "
                              f"{elapsed:.0f} s, about {elapsed * (n - seen) / seen:.0f} s "
                              "to the epoch's end")
                next_report = now + PROGRESS_SECONDS
        epoch_loss[epoch], epoch_mse[epoch], epoch_l0[epoch] = (
            loss_sum / n, sq_sum / n, active_sum / n)
        epoch_seconds[epoch] = time.perf_counter() - epoch_start
        _progress.log(f"{log_prefix}epoch {epoch + 1}/{config.epochs}: loss "
                      f"{epoch_loss[epoch]:.4g}, mse {epoch_mse[epoch]:.4g}, "
                      f"L0 {epoch_l0[epoch]:.1f} ({epoch_seconds[epoch]:.2f} s)")
    seconds = time.perf_counter() - start_time
    sae = trainer.sae(mean, scale)
    return SAETrainResult(sae, epoch_loss, epoch_mse, epoch_l0, epoch_seconds, seconds)


# ---------------------------------------------------------------------------- encoding
def encode(sae: SparseAutoencoder, X, chunk: int = ENCODE_CHUNK) -> Encoding:
    """Activations and reconstruction quality of the raw points X, in chunks.

    Parameters
    ----------
    sae : SparseAutoencoder
    X : array (n, d) of raw points (``sae.standardized`` is applied).
    chunk : points per pass (bounds the scratch memory; codes do not depend on it).

    Returns
    -------
    Encoding
    """
    X = as_points(X)
    if X.shape[1] != sae.dim:
        raise ValueError(f"X has dimension {X.shape[1]}, the SAE expects {sae.dim}")
    n = X.shape[0]
    buffers = _Buffers(min(chunk, n), sae.dim, sae.n_latents, with_grad=False)
    rule = sae.inference_rule()
    levels = one_level(sae.n_latents)
    centre = X.mean(axis=0)
    sq_err = np.empty(n)
    counts = np.empty(n, dtype=np.int64)
    indices, data = [], []
    total_var = 0.0
    for lo in range(0, n, chunk):
        x = sae.standardized(X[lo:lo + chunk])
        b = x.shape[0]
        scratch = buffers.rows(b)
        _kernels.forward_rows(x, np.arange(b, dtype=np.int64), sae.params, rule, levels,
                              False, scratch)
        sq_err[lo:lo + b] = scratch.sq_err
        active = scratch.n_active
        counts[lo:lo + b] = active
        row_start = np.zeros(b, dtype=np.int64)
        np.cumsum(active[:-1], out=row_start[1:])
        indices.append(np.empty(int(active.sum()), dtype=np.int64))
        data.append(np.empty(int(active.sum())))
        _kernels.compact_rows(scratch.act_index, scratch.act_value, active, row_start,
                              indices[-1], data[-1])
        total_var += float((((X[lo:lo + b] - centre) / sae.input_scale) ** 2).sum())
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    activations = sparse.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), indptr), shape=(n, sae.n_latents))
    fvu = float(sq_err.sum()) / total_var if total_var > 0.0 else float("nan")
    return Encoding(activations, sq_err, fvu, float(counts.sum()) / n)
