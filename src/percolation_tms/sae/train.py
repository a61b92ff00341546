"""Training sparse autoencoders (ReLU + L1, or TopK) with Adam, and encoding points with them.

The model (d inputs, m latents):

    f(x)  = act(W_enc (x - b_dec) + b_enc)        act = ReLU, or TopK(k) followed by ReLU
    x_hat = W_dec f + b_dec                       W_dec (d, m) with unit-norm columns
    loss  = mean over the batch of |x - x_hat|^2 (summed over the d coordinates)
            + l1 * sum_j f_j                       (ReLU kind only)

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
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import sparse

from percolation_tms import _progress
from percolation_tms._rng import DOMAIN_SAE_BATCH, DOMAIN_SAE_INIT
from percolation_tms.sae import _kernels
from percolation_tms.sae.config import SAEConfig

ENCODE_CHUNK = 2048  # points per encoding pass: bounds the (chunk, m) scratch buffers


class Parameters(NamedTuple):
    """Weights, one row per latent: enc (m, d) = W_enc; b_enc (m,); atoms (m, d) = W_dec^T
    (the unit-norm dictionary atoms); b_dec (d,).  Also the layout of their gradients."""

    enc: np.ndarray
    b_enc: np.ndarray
    atoms: np.ndarray
    b_dec: np.ndarray


@dataclass(frozen=True)
class SparseAutoencoder:
    """A trained sparse autoencoder and the standardisation of its inputs.

    params       weights (see ``Parameters``); ``W_enc`` (m, d) and ``W_dec`` (d, m) give the
                 usual orientation.
    input_mean   (d,) subtracted from raw inputs; input_scale (scalar) then divides them.
    top_k        k of a TopK SAE, 0 for ReLU; l1 the L1 coefficient it was trained with.
    """

    params: Parameters
    input_mean: np.ndarray
    input_scale: float
    top_k: int
    l1: float

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

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``weights.npz`` (usual orientation: W_enc (m, d), W_dec (d, m))."""
        return {"W_enc": self.W_enc, "b_enc": self.params.b_enc, "W_dec": self.W_dec,
                "b_dec": self.params.b_dec, "input_mean": self.input_mean,
                "input_scale": np.float64(self.input_scale), "top_k": np.int64(self.top_k),
                "l1": np.float64(self.l1)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SparseAutoencoder:
        params = Parameters(*(np.ascontiguousarray(a, dtype=np.float64) for a in (
            arrays["W_enc"], arrays["b_enc"], np.asarray(arrays["W_dec"]).T, arrays["b_dec"])))
        return cls(params, np.asarray(arrays["input_mean"], dtype=np.float64),
                   float(arrays["input_scale"]), int(arrays["top_k"]), float(arrays["l1"]))


@dataclass(frozen=True)
class TrainResult:
    """sae; per epoch (E,): mean loss, mean squared error and mean L0 over the epoch's
    minibatches (weighted by points), and seconds; total seconds of training (without
    standardisation)."""

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


# ---------------------------------------------------------------------------- one batch
class _Buffers:
    """Scratch arrays of a forward/backward pass over up to ``n_rows`` points, and ``enc_t``,
    the transposed W_enc the forward pass reads (``load`` it from the parameters; a training
    step keeps it up to date)."""

    def __init__(self, n_rows: int, dim: int, n_latents: int, with_grad: bool):
        self.enc_t = np.empty((dim, n_latents))
        self.xc = np.empty((n_rows, dim))
        self.pre = np.empty((n_rows, n_latents))
        self.act_index = np.empty((n_rows, n_latents), dtype=np.int64)
        self.act_value = np.empty((n_rows, n_latents))
        self.act_grad = np.empty((n_rows, n_latents) if with_grad else (1, 1))
        self.n_active = np.empty(n_rows, dtype=np.int64)
        self.err = np.empty((n_rows, dim))
        self.sq_err = np.empty(n_rows)
        self.l1_norm = np.empty(n_rows)
        if with_grad:
            self.offsets = np.empty(n_latents + 1, dtype=np.int64)
            self.entry_row = np.empty(n_rows * n_latents, dtype=np.int64)
            self.entry_slot = np.empty(n_rows * n_latents, dtype=np.int64)
            self.grads = Parameters(np.empty((n_latents, dim)), np.empty(n_latents),
                                    np.empty((n_latents, dim)), np.empty(dim))

    def load(self, params: Parameters) -> None:
        self.enc_t[...] = params.enc.T

    def forward(self, x, rows, params: Parameters, top_k: int, l1: float, with_grad: bool):
        b = rows.shape[0]
        _kernels.forward_rows(x, rows, self.enc_t, params.b_enc, params.atoms, params.b_dec,
                              top_k, l1, with_grad, self.xc[:b], self.pre[:b],
                              self.act_index[:b], self.act_value[:b],
                              self.act_grad[:b] if with_grad else self.act_grad,
                              self.n_active[:b], self.err[:b], self.sq_err[:b],
                              self.l1_norm[:b])

    def backward(self, params: Parameters, n_rows: int,
                 moments: tuple[Parameters, Parameters] | None = None,
                 adam: np.ndarray | None = None) -> Parameters:
        """Gradients of the batch's mean loss (after ``forward`` with_grad), in ``self.grads``;
        with ``moments`` and ``adam`` also take the Adam step (and refresh ``enc_t``)."""
        b, scale = n_rows, 1.0 / n_rows
        grads = self.grads
        update = moments is not None
        m1, m2 = moments if update else (grads, grads)  # placeholders, unused without update
        _kernels.latent_major(self.act_index[:b], self.n_active[:b], params.atoms.shape[0],
                              self.offsets, self.entry_row, self.entry_slot)
        _kernels.latent_gradients(self.xc[:b], self.act_value[:b], self.act_grad[:b],
                                  self.err[:b], self.offsets, self.entry_row, self.entry_slot,
                                  scale, grads.enc, grads.b_enc, grads.atoms)
        # Reads enc_t before latent_update overwrites it.
        _kernels.decoder_bias_step(self.err[:b], self.enc_t, grads.b_enc, scale, grads.b_dec,
                                   update, params.b_dec, m1.b_dec, m2.b_dec,
                                   adam if update else np.zeros(5))
        if update:
            _kernels.latent_update(params.enc, params.b_enc, params.atoms, grads.enc,
                                   grads.b_enc, grads.atoms, m1.enc, m1.b_enc, m1.atoms,
                                   m2.enc, m2.b_enc, m2.atoms, adam, self.enc_t)
        return grads

    def batch_loss(self, n_rows: int, l1: float) -> float:
        return float(self.sq_err[:n_rows].sum() + l1 * self.l1_norm[:n_rows].sum()) / n_rows


def loss_and_gradients(params: Parameters, x: np.ndarray, top_k: int = 0, l1: float = 0.0
                       ) -> tuple[float, Parameters]:
    """Mean loss over the points x (n, d) (already standardised) and its gradient with respect
    to every parameter (unconstrained: before the unit-norm projection).  The training step
    uses the same kernels."""
    x = as_points(x, "x")
    n_latents, dim = params.atoms.shape
    buffers = _Buffers(x.shape[0], dim, n_latents, with_grad=True)
    buffers.load(params)
    buffers.forward(x, np.arange(x.shape[0], dtype=np.int64), params, top_k, l1,
                    with_grad=True)
    grads = buffers.backward(params, x.shape[0])
    return buffers.batch_loss(x.shape[0], l1), grads


class _Trainer:
    """The state of one training run: parameters, Adam moments, step count, buffers."""

    def __init__(self, params: Parameters, config: SAEConfig, batch_size: int):
        self.params = params
        self.config = config
        self.moments = tuple(Parameters(*(np.zeros_like(p) for p in params)) for _ in "12")
        self.step = 0
        n_latents, dim = params.atoms.shape
        self.buffers = _Buffers(batch_size, dim, n_latents, with_grad=True)
        self.buffers.load(params)
        self.top_k = config.k if config.kind == "topk" else 0

    def train_step(self, x: np.ndarray, rows: np.ndarray) -> float:
        """One Adam step on the points x[rows] (x standardised, rows int64 of at most the
        batch size), in place.  Returns the batch's mean loss before the step."""
        config = self.config
        self.step += 1
        self.buffers.forward(x, rows, self.params, self.top_k, config.l1, with_grad=True)
        adam = _kernels.adam_constants(config.lr, config.beta1, config.beta2, config.eps,
                                       self.step)
        self.buffers.backward(self.params, rows.shape[0], self.moments, adam)
        return self.buffers.batch_loss(rows.shape[0], config.l1)


# ---------------------------------------------------------------------------- training
def train_sae(X, config: SAEConfig, log_prefix: str = "") -> TrainResult:
    """Train one sparse autoencoder on the points X (n, d) as ``config`` says."""
    X = as_points(X)
    n, dim = X.shape
    n_latents = config.n_latents(dim)
    if config.standardize:
        mean, scale = standardization(X)
    else:
        mean, scale = np.zeros(dim), 1.0
    x = np.ascontiguousarray((X - mean) / scale)
    encoder_scale = 2.0 * dim / n_latents if config.kind == "relu" else 1.0
    params = initial_parameters(n_latents, dim, config.seed, x.mean(axis=0), encoder_scale)
    batch = min(config.batch_size, n)
    trainer = _Trainer(params, config, batch)

    epoch_loss, epoch_mse, epoch_l0, epoch_seconds = (np.empty(config.epochs) for _ in range(4))
    start_time = time.perf_counter()
    for epoch in range(config.epochs):
        epoch_start = time.perf_counter()
        order = _kernels.shuffled_order(n, config.seed, DOMAIN_SAE_BATCH, epoch)
        loss_sum = sq_sum = active_sum = 0.0
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
        epoch_loss[epoch], epoch_mse[epoch], epoch_l0[epoch] = (
            loss_sum / n, sq_sum / n, active_sum / n)
        epoch_seconds[epoch] = time.perf_counter() - epoch_start
        _progress.log(f"{log_prefix}epoch {epoch + 1}/{config.epochs}: loss "
                      f"{epoch_loss[epoch]:.4g}, mse {epoch_mse[epoch]:.4g}, "
                      f"L0 {epoch_l0[epoch]:.1f} ({epoch_seconds[epoch]:.2f} s)")
    seconds = time.perf_counter() - start_time
    sae = SparseAutoencoder(params, mean, scale, trainer.top_k, config.l1)
    return TrainResult(sae, epoch_loss, epoch_mse, epoch_l0, epoch_seconds, seconds)


# ---------------------------------------------------------------------------- encoding
def encode(sae: SparseAutoencoder, X, chunk: int = ENCODE_CHUNK) -> Encoding:
    """Activations and reconstruction quality of the raw points X (n, d), in chunks."""
    X = as_points(X)
    if X.shape[1] != sae.dim:
        raise ValueError(f"X has dimension {X.shape[1]}, the SAE expects {sae.dim}")
    n = X.shape[0]
    buffers = _Buffers(min(chunk, n), sae.dim, sae.n_latents, with_grad=False)
    buffers.load(sae.params)
    centre = X.mean(axis=0)
    sq_err = np.empty(n)
    counts = np.empty(n, dtype=np.int64)
    indices, data = [], []
    total_var = 0.0
    for lo in range(0, n, chunk):
        x = sae.standardized(X[lo:lo + chunk])
        b = x.shape[0]
        buffers.forward(x, np.arange(b, dtype=np.int64), sae.params, sae.top_k, sae.l1,
                        with_grad=False)
        sq_err[lo:lo + b] = buffers.sq_err[:b]
        active = buffers.n_active[:b]
        counts[lo:lo + b] = active
        row_start = np.zeros(b, dtype=np.int64)
        np.cumsum(active[:-1], out=row_start[1:])
        indices.append(np.empty(int(active.sum()), dtype=np.int64))
        data.append(np.empty(int(active.sum())))
        _kernels.compact_rows(buffers.act_index[:b], buffers.act_value[:b], active, row_start,
                              indices[-1], data[-1])
        total_var += float((((X[lo:lo + b] - centre) / sae.input_scale) ** 2).sum())
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    activations = sparse.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), indptr), shape=(n, sae.n_latents))
    fvu = float(sq_err.sum()) / total_var if total_var > 0.0 else float("nan")
    return Encoding(activations, sq_err, fvu, float(counts.sum()) / n)
