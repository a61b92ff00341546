"""Calls into the toy-model kernels for the tests: one batch's loss and gradient through the
very kernels the trainer uses (``chunk_loss_grad`` and ``finish_gradient``), on a batch given
as an array instead of drawn from a stream."""

import numpy as np

from percolation_tms.toymodels import _kernels
from percolation_tms.toymodels.train import MODEL_CODE


def batch_loss_and_gradient(model: str, W, b, importance, X, W_dec=None, csr: bool = False):
    """Loss and gradient on a given batch, through the training kernels.

    W : (m, n); b, importance : (n,); X : (B, n) batch; W_dec : (n, m) for ``untied``;
    csr : hand the batch to the kernels as CSR rows (as the skip and rows samplers produce
    it) instead of dense rows (as the dense and Bernoulli samplers do).
    Returns (loss, dW (m, n), dW_dec (n, m) or None, db (n,)) of the training loss, the mean
    over the batch of sum_i I_i (x_i - x'_i)^2 (divide by n for the reported loss).  Samples
    with fewer than m features present take the M path; the others the hidden path.
    """
    code = MODEL_CODE[model]
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
