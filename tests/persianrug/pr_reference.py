"""Slow, obviously-correct references for the Persian Rug kernels (plain Python / NumPy)."""

import math

import numpy as np

from percolation_tms import _rng


def sample_row(seed, purpose, index, row, n, p):
    """(indices, values) of one data row, drawn one number at a time as the docstring says."""
    state = np.uint64(_rng.stream_state(seed, _rng.DOMAIN_PERSIANRUG_DATA,
                                        purpose * 2**32 + index, row))
    indices, values = [], []
    j = -1
    while True:
        if p < 1:
            u, state = _rng.next_double(np.uint64(int(state) % 2**64))
            gap = math.log1p(-u) / math.log1p(-p)
            if gap >= n:
                break
            j += 1 + int(gap)
        else:
            j += 1
        if j >= n:
            break
        v, state = _rng.next_double(np.uint64(int(state) % 2**64))
        indices.append(j)
        values.append(v)
    return indices, values


def loss_and_gradient(E, D, b, X):
    """Dense float64 loss and gradients of y = ReLU(X E D^T + b) against target X."""
    h = X @ E
    z = h @ D.T + b
    y = np.maximum(z, 0)
    rows, n = X.shape
    loss = np.sum((y - X) ** 2) / (rows * n)
    g = 2 * (y - X) * (z > 0) / (rows * n)
    return loss, X.T @ (g @ D), g.T @ h, g.sum(axis=0)


def adam(param, grad, m1, m2, lr, beta1, beta2, eps, step):
    m1 = beta1 * m1 + (1 - beta1) * grad
    m2 = beta2 * m2 + (1 - beta2) * grad * grad
    denom = np.sqrt(m2) / math.sqrt(1 - beta2 ** step) + eps
    return param - lr / (1 - beta1 ** step) * m1 / denom, m1, m2
