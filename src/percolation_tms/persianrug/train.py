"""The trained model of the Persian Rug paper (specification section 2) and the clean
evaluation every model is scored with.

y = ReLU(W_out W_in x + b), untied, decoder bias only, squared error averaged over batch and
features, PyTorch's Adam (eps 1e-7, lr 3e-3/sqrt(n)), batch 1024, a fresh batch every step.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from percolation_tms import _rng
from percolation_tms.persianrug import _kernels
from percolation_tms.persianrug import config as cfg
from percolation_tms.persianrug.data import PURPOSE_EVAL, PURPOSE_TRAIN, SparseBatch, sample_batch

EVAL_CHUNK = 4096  # samples per evaluation chunk (a few MB at n = 512)
# The products with g = dloss/dz skip its zeros when fewer than this fraction of its entries
# are non-zero.  Measured at n = 512, m = 128 (one thread): the gather kernels run at about a
# sixth of sgemm's flop rate, so they pay below about 1/6.
SPARSE_GRADIENT_BELOW = 0.15


class EvalResult(NamedTuple):
    """Clean evaluation: loss = mean over ``samples`` fresh samples and the n features."""

    loss: float
    loss_se: float
    samples: int


class TrainedModel(NamedTuple):
    """A trained model and its clean evaluation.

    W_in : (m, n) encoder; W_out : (n, m) decoder; b : (n,) decoder bias (training dtype).
    loss, loss_se : clean loss on ``eval_samples`` fresh samples and its standard error.
    loss_last_batch : the last training batch's loss (the public code's number).
    history : float64 (steps,) -- every batch loss.
    """

    n: int
    m: int
    p: float
    seed: int
    W_in: np.ndarray
    W_out: np.ndarray
    b: np.ndarray
    loss: float
    loss_se: float
    loss_last_batch: float
    steps: int
    eval_samples: int
    history: np.ndarray


class Parameters(NamedTuple):
    """Views of one flat buffer: E = W_in^T (n, m), D = W_out (n, m), b (n,)."""

    flat: np.ndarray
    enc: np.ndarray
    dec: np.ndarray
    bias: np.ndarray


def parameters(n: int, m: int, dtype) -> Parameters:
    flat = np.zeros(2 * n * m + n, dtype=dtype)
    return Parameters(flat, flat[:n * m].reshape(n, m), flat[n * m:2 * n * m].reshape(n, m),
                      flat[2 * n * m:])


def init_parameters(n: int, m: int, seed: int, dtype=np.float32) -> Parameters:
    """PyTorch's linear-layer init: W_in ~ U(+-1/sqrt n), W_out and b ~ U(+-1/sqrt m).

    Streams (seed, DOMAIN_PERSIANRUG_MODEL, 0, k), k = 0 (W_in, row-major (m, n)), 1 (W_out,
    row-major (n, m)), 2 (b).
    """
    params = parameters(n, m, dtype)
    domain = _rng.DOMAIN_PERSIANRUG_MODEL
    w_in = (2 * _rng.uniforms(seed, domain, 0, 0, m * n) - 1) / math.sqrt(n)
    params.enc[:] = w_in.reshape(m, n).T
    params.dec[:] = ((2 * _rng.uniforms(seed, domain, 0, 1, n * m) - 1) / math.sqrt(m)
                     ).reshape(n, m)
    params.bias[:] = (2 * _rng.uniforms(seed, domain, 0, 2, n) - 1) / math.sqrt(m)
    return params


class _Work:
    """Buffers of one training step (allocated once per model)."""

    def __init__(self, n, m, rows, dtype):
        self.hidden = np.empty((rows, m), dtype=dtype)
        self.out = np.empty((rows, n), dtype=dtype)
        self.grad_hidden = np.empty((rows, m), dtype=dtype)
        self.row_loss = np.empty(rows, dtype=np.float64)
        self.grads = parameters(n, m, dtype)
        self.g_indices = np.empty((rows, n), dtype=np.int32)
        self.g_values = np.empty((rows, n), dtype=dtype)
        self.g_counts = np.empty(rows, dtype=np.int32)
        self.batch: SparseBatch | None = None
        self.parts = 2 * numba.get_num_threads()


def loss_and_gradient(params: Parameters, batch: SparseBatch, work: _Work | None = None,
                      sparse_below: float | None = None) -> tuple[float, Parameters]:
    """Mean squared error of one batch and its gradient (same layout as ``params``).

    Encoder product and gradient touch only active features.  Of the three decoder products
    the forward one is dense (BLAS); the two with g = dloss/dz go through the non-zeros of g
    when they are fewer than ``sparse_below`` of its entries (default
    ``SPARSE_GRADIENT_BELOW``), else through BLAS.
    """
    n, m = params.enc.shape
    rows = batch.indices.shape[0]
    dtype = params.flat.dtype
    if work is None:
        work = _Work(n, m, rows, dtype)
    if sparse_below is None:
        sparse_below = SPARSE_GRADIENT_BELOW
    hidden, out = work.hidden[:rows], work.out[:rows]
    grad_hidden, row_loss = work.grad_hidden[:rows], work.row_loss[:rows]
    g_indices, g_values, g_counts = (work.g_indices[:rows], work.g_values[:rows],
                                     work.g_counts[:rows])
    grads = work.grads
    _kernels.encode(batch.indices, batch.values, batch.counts, params.enc, hidden)
    np.matmul(hidden, params.dec.T, out=out)
    scale = dtype.type(2.0 / (rows * n))
    nonzero = _kernels.relu_residual(out, params.bias, batch.indices, batch.values,
                                     batch.counts, scale, row_loss, True, g_indices, g_values,
                                     g_counts)
    if nonzero < sparse_below * rows * n:
        # dW_out = g^T h and dh = g W_out through the non-zeros of g only.
        _kernels.column_sum_sparse(g_indices, g_values, g_counts, grads.bias, work.parts)
        _kernels.encoder_gradient(g_indices, g_values, g_counts, hidden, grads.dec, work.parts)
        _kernels.encode(g_indices, g_values, g_counts, params.dec, grad_hidden)
    else:
        _kernels.column_sum(out, grads.bias, work.parts)
        np.matmul(out.T, hidden, out=grads.dec)
        np.matmul(out, params.dec, out=grad_hidden)
    _kernels.encoder_gradient(batch.indices, batch.values, batch.counts, grad_hidden,
                              grads.enc, work.parts)
    return float(row_loss.sum()) / (rows * n), grads


def _batch_sizes(schedule: str, steps: int, batch_size: int):
    """Batch size of every step: fixed, or the public code's epochs (yields None at the start
    of each epoch after the first, where the stopping rule is checked)."""
    if schedule == "fixed":
        for _ in range(steps):
            yield batch_size
        return
    full, last = divmod(cfg.EPOCH_SAMPLES, batch_size)
    taken = 0
    for epoch in range(cfg.MAX_EPOCHS):
        if epoch:
            yield None
        for k in range(full + (1 if last else 0)):
            if taken == steps:
                return
            taken += 1
            yield batch_size if k < full else last


def _stop(history: list[float], window: int) -> bool:
    """The public stopping rule: D = log10(mean of the w before the last w) - log10(mean of
    the last w) <= 0, once more than 2w batch losses exist."""
    if len(history) <= 2 * window:
        return False
    before = np.mean(history[-2 * window:-window])
    last = np.mean(history[-window:])
    return math.log10(before) - math.log10(last) <= 0


def train_large(n: int, m: int, p: float, *, seed: int = 0, steps: int = cfg.STEPS,
                batch_size: int = cfg.BATCH_SIZE, schedule: str = "fixed",
                lr_scale: float = cfg.LR_SCALE, beta1: float = cfg.BETA1,
                beta2: float = cfg.BETA2, eps: float = cfg.EPS, dtype: str = "float32",
                eval_samples: int = cfg.EVAL_SAMPLES, eval_seed: int = cfg.EVAL_SEED
                ) -> TrainedModel:
    """Train one model y = ReLU(W_out W_in x + b) with Adam and score it on fresh samples.

    Parameters
    ----------
    n, m, p : features, hidden units (m <= n), probability a feature is on, in (0, 1].
    seed : model seed: initial weights (DOMAIN_PERSIANRUG_MODEL) and the batch of step t,
        stream (seed, DOMAIN_PERSIANRUG_DATA, t, row).
    steps : training steps (schedule ``"fixed"``), or their cap (``"repo"``: epochs of 30,000
        samples, 29 batches of 1024 and one of 304, and the public stopping rule, window 200).
    lr_scale : lr = lr_scale / sqrt(n) (3e-3 / sqrt(n)).
    dtype : ``"float32"`` (fast) or ``"float64"``.
    eval_samples, eval_seed : the clean evaluation (rows of stream (eval_seed, EVAL)).

    Returns
    -------
    TrainedModel
    """
    cfg.check_cell(n, m, p)
    check = cfg.PersianRugConfig(n_features=(n,), large_n_features=(), kinds=("trained",),
                                 steps=steps, batch_size=batch_size, schedule=schedule,
                                 lr_scale=lr_scale, beta1=beta1, beta2=beta2, eps=eps,
                                 dtype=dtype, eval_samples=eval_samples, eval_seed=eval_seed,
                                 seeds=(seed,))
    del check  # validation only
    np_dtype = np.dtype(dtype)
    params = init_parameters(n, m, seed, np_dtype)
    work = _Work(n, m, batch_size, np_dtype)
    moment1 = np.zeros_like(params.flat)
    moment2 = np.zeros_like(params.flat)
    lr = cfg.lr_for(n, lr_scale)
    history: list[float] = []
    t = 0
    for rows in _batch_sizes(schedule, steps, batch_size):
        if rows is None:
            if _stop(history, cfg.STOP_WINDOW):
                break
            continue
        work.batch = sample_batch(seed, PURPOSE_TRAIN, t, 0, rows, n, p, np_dtype,
                                  out=work.batch)
        loss, grads = loss_and_gradient(params, work.batch, work)
        history.append(loss)
        t += 1
        _kernels.adam_update(params.flat, grads.flat, moment1, moment2, lr, beta1, beta2, eps,
                             t)
    result = evaluate_encoder_decoder(params.enc, params.dec, params.bias, p,
                                      samples=eval_samples, eval_seed=eval_seed)
    return TrainedModel(n=n, m=m, p=float(p), seed=seed, W_in=params.enc.T.copy(),
                        W_out=params.dec.copy(), b=params.bias.copy(), loss=result.loss,
                        loss_se=result.loss_se, loss_last_batch=history[-1], steps=t,
                        eval_samples=result.samples, history=np.asarray(history))


_NO_INDICES = np.zeros((0, 0), dtype=np.int32)
_NO_VALUES = {"float32": np.zeros((0, 0), dtype=np.float32),
              "float64": np.zeros((0, 0), dtype=np.float64)}
_NO_COUNTS = np.zeros(0, dtype=np.int32)


def _summarise(row_losses: list[np.ndarray], n: int) -> EvalResult:
    per_sample = np.concatenate(row_losses) / n
    count = per_sample.shape[0]
    se = float(per_sample.std(ddof=1) / math.sqrt(count)) if count > 1 else float("nan")
    return EvalResult(float(per_sample.mean()), se, count)


def evaluate_encoder_decoder(enc: np.ndarray, dec: np.ndarray, bias: np.ndarray, p: float, *,
                             samples: int = cfg.EVAL_SAMPLES, eval_seed: int = cfg.EVAL_SEED
                             ) -> EvalResult:
    """Clean loss of y = ReLU(dec enc^T x + b) on ``samples`` fresh samples.

    enc, dec : (n, m) -- W_in^T and W_out; bias : (n,).  Squared errors summed in float64.
    """
    n, m = enc.shape
    dtype = enc.dtype
    hidden = np.empty((EVAL_CHUNK, m), dtype=dtype)
    out = np.empty((EVAL_CHUNK, n), dtype=dtype)
    row_loss = np.empty(EVAL_CHUNK, dtype=np.float64)
    losses = []
    batch = None
    for first in range(0, samples, EVAL_CHUNK):
        rows = min(EVAL_CHUNK, samples - first)
        batch = sample_batch(eval_seed, PURPOSE_EVAL, 0, first, rows, n, p, dtype, out=batch)
        _kernels.encode(batch.indices, batch.values, batch.counts, enc, hidden[:rows])
        np.matmul(hidden[:rows], dec.T, out=out[:rows])
        _kernels.relu_residual(out[:rows], bias, batch.indices, batch.values, batch.counts,
                               dtype.type(1), row_loss[:rows], False, _NO_INDICES,
                               _NO_VALUES[dtype.name], _NO_COUNTS)
        losses.append(row_loss[:rows].copy())
    return _summarise(losses, n)


def evaluate_weights(W_in: np.ndarray, W_out: np.ndarray, b: np.ndarray, p: float, **kwargs
                     ) -> EvalResult:
    """Clean loss of a model given as W_in (m, n), W_out (n, m), b (n,)."""
    enc = np.ascontiguousarray(np.asarray(W_in).T)
    dtype = enc.dtype if enc.dtype in (np.float32, np.float64) else np.float64
    return evaluate_encoder_decoder(enc.astype(dtype), np.ascontiguousarray(W_out, dtype=dtype),
                                    np.ascontiguousarray(b, dtype=dtype), p, **kwargs)
