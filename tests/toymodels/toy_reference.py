"""Slow, obviously-correct versions of the toy-model kernels, for the tests."""

from __future__ import annotations

import math

import numpy as np

from percolation_tms import _rng


# The jitted generators return the state as a Python int; keep it a uint64 between calls.
def next_u64(state):
    bits, state = _rng.next_u64(np.uint64(state))
    return int(bits), np.uint64(state)


def next_double(state):
    u, state = _rng.next_double(np.uint64(state))
    return u, np.uint64(state)


def next_below(state, n):
    k, state = _rng.next_below(np.uint64(state), n)
    return k, np.uint64(state)


def loss_and_gradient(model, W, b, importance, X, W_dec=None):
    """Mean over the batch of sum_i I_i (x_i - x'_i)^2 and its gradient, with numpy.

    Returns (loss, dW (m, n), dW_dec (n, m) or None, db (n,)).
    """
    batch = X.shape[0]
    decoder = W_dec if model == "untied" else W.T  # (n, m)
    pre_hidden = X @ W.T
    hidden = np.maximum(pre_hidden, 0.0) if model == "hidden_relu" else pre_hidden
    out = hidden @ decoder.T + b
    y = out if model == "linear" else np.maximum(out, 0.0)
    residual = y - X
    loss = float((importance * residual**2).sum() / batch)
    g = 2.0 * importance * residual / batch
    if model != "linear":
        g = g * (out > 0)
    db = g.sum(axis=0)
    d_decoder = g.T @ hidden  # (n, m)
    d_hidden = g @ decoder
    if model == "hidden_relu":
        d_hidden = d_hidden * (pre_hidden > 0)
    dW = d_hidden.T @ X
    if model == "untied":
        return loss, dW, d_decoder, db
    return loss, dW + d_decoder.T, None, db


def draw_synthetic(probability, state, batch_size):
    """The batch of the documented synthetic derivation, entry by entry in pure Python."""
    n = len(probability)
    x = np.zeros((batch_size, n))
    threshold = [math.floor(p * 2.0**32) for p in probability]
    p_max = max(probability)
    state = np.uint64(state)
    if p_max > 0.1:  # dense or Bernoulli: draw number r * n + i for entry (r, i)
        for r in range(batch_size):
            for i in range(n):
                bits, state = next_u64(state)
                if (bits >> 32) < threshold[i]:
                    x[r, i] = (bits & 0xFFFFFFFF) / 2.0**32
        return x
    # skip mode: candidates at geometric gaps in the flattened order, then one draw each
    log_q = math.log1p(-p_max)
    keep = [math.floor(p / p_max * 2.0**32) for p in probability]

    def gap(state):
        u, state = next_double(state)
        return math.floor(math.log(1.0 - u) / log_q), state

    position, state = gap(state)
    while position < batch_size * n:
        r, i = divmod(position, n)
        bits, state = next_u64(state)
        if (bits >> 32) < keep[i]:
            x[r, i] = (bits & 0xFFFFFFFF) / 2.0**32
        step, state = gap(state)
        position += 1 + step
    return x


def draw_rows(dense_rows, state, batch_size):
    """Rows mode: sample r is row next_below(N) of the matrix."""
    state = np.uint64(state)
    picks = []
    for _ in range(batch_size):
        row, state = next_below(state, dense_rows.shape[0])
        picks.append(int(row))
    return dense_rows[picks]


def adamw(param, grads, lr=1e-3, weight_decay=0.01, beta1=0.9, beta2=0.999, eps=1e-8):
    """PyTorch's AdamW written out for one scalar parameter over a list of gradients."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        param = param * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        param = param - lr * m_hat / (math.sqrt(v_hat) + eps)
    return param


def measurements(W, b, W_dec=None):
    """The section 3 measurements of one instance, with loops."""
    m, n = W.shape
    columns = [W[:, i] for i in range(n)]
    if W_dec is None:
        norms = [float(np.sqrt(c @ c)) for c in columns]
        vectors = columns
        wtw = W.T @ W
    else:
        norms = [float(np.sqrt(np.sqrt(c @ c) * np.sqrt(W_dec[i] @ W_dec[i])))
                 for i, c in enumerate(columns)]
        vectors = [c / np.sqrt(c @ c) * norms[i] if c @ c > 0 else 0 * c
                   for i, c in enumerate(columns)]
        wtw = W_dec @ W
    dimensionality, interference = [], []
    for i in range(n):
        length = np.sqrt(vectors[i] @ vectors[i])
        if length == 0:
            dimensionality.append(0.0)
            interference.append(0.0)
            continue
        unit = vectors[i] / length
        overlaps = [(unit @ vectors[j]) ** 2 for j in range(n)]
        dimensionality.append(norms[i] ** 2 / sum(overlaps))
        interference.append(sum(overlaps) - overlaps[i])
    return {"WtW": wtw, "feature_norm": np.array(norms),
            "represented": np.array(norms) > 0.5,
            "dims_per_feature": m / sum(v**2 for v in norms),
            "feature_dimensionality": np.array(dimensionality),
            "interference": np.array(interference), "b": b}
