"""Numba kernels of the Persian Rug stage.  Arrays and scalars in, arrays out; the API modules
validate and convert.

Sparse batches.  A batch of B samples is kept *padded*: ``indices`` (B, cap) int32 and
``values`` (B, cap) of the active features of each row in increasing order, ``counts`` (B,)
int32.  Row r of a batch is the stream ``(seed, DOMAIN_PERSIANRUG_DATA, purpose * 2**32 +
index, first_row + r)``: the active features are a Bernoulli(p) process drawn by geometric
gaps, ``floor(log(1 - u) / log(1 - p))`` from a 53-bit uniform u, each followed by one uniform
for its value.  About 2 p n draws a row instead of n, and every row has its own stream, so rows
are drawn in parallel and a batch does not depend on the thread count or on how an evaluation
is cut into chunks.  ``cap`` is chosen by the caller with a wide margin; a row that would
overflow it is reported (``counts[r] = -1``) and the caller draws again with a larger cap
(the streams make the second draw the same numbers).

Training step (``train.py``).  Encoder ``E = W_in^T`` (n, m) and decoder ``D = W_out`` (n, m):

* ``encode``: h = X W_in^T, touching only the p n active rows of E per sample;
* the decoder product z = h D^T, its gradient g^T h and the back-propagation g D are dense
  and go to BLAS (numba does not beat OpenBLAS's sgemm on dense products);
* ``relu_residual``: z + b, ReLU, the residual against the sparse target and the mask of the
  ReLU, in one pass that overwrites z with dloss/dz and returns the per-row squared errors
  (float64 sums);
* ``encoder_gradient``: dE = X^T (g D), again touching only active rows, parallel over blocks
  of hidden units so that no two threads write the same number and the summation order over
  the rows is fixed;
* ``adam_update``: PyTorch's Adam step fused with the moment updates on one flat buffer.

Every parallel loop writes disjoint outputs and sums in a fixed order, so these kernels give
the same bits at any thread count; only the BLAS products may not (measured in
``docs/persianrug.md``).

Fast Walsh-Hadamard transform (``fwht_inplace``): the unnormalised Sylvester transform,
h_ij = (-1)^popcount(i & j), in n log2 n additions; the rug's W x = (1/m) H P_S H x is two of
them per sample (``rug_apply``), never an n x n matrix.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms._rng import DOMAIN_PERSIANRUG_DATA, next_double, stream_state

# Purposes of data streams (the high 32 bits of the stream's third key).
PURPOSE_TRAIN = 0  # index: training step
PURPOSE_EVAL = 1  # index: 0 (rows are global sample numbers)
PURPOSE_FIT = 2  # index: 0 (the rug's fixed fit sample)
PURPOSE_KS = 3  # index: 0 (samples of one interference term for the KS test)
PURPOSE_RUG_ADAM = 4  # index: draw * 2**20 + step of the repo-faithful Adam fit


# ------------------------------------------------------------------------------ sampling
@njit(cache=True, parallel=True)
def sample_rows(seed, purpose, index, first_row, n, p, indices, values, counts):
    """Draw rows ``first_row .. first_row + B - 1`` of a data stream into a padded batch.

    indices : int32 (B, cap), values : float (B, cap), counts : int32 (B,), written.
    Returns the number of rows that overflowed ``cap`` (their count is -1).
    """
    rows, cap = indices.shape
    key = np.int64(purpose) * np.int64(4294967296) + np.int64(index)
    log_q = math.log1p(-p) if p < 1.0 else 0.0
    overflow = 0
    for r in prange(rows):
        state = stream_state(seed, DOMAIN_PERSIANRUG_DATA, key, first_row + r)
        k = 0
        j = -1
        bad = False
        while True:
            if p < 1.0:
                u, state = next_double(state)
                gap = math.log1p(-u) / log_q
                if gap >= n:  # also guards the float -> int conversion
                    break
                j += 1 + np.int64(gap)
            else:
                j += 1
            if j >= n:
                break
            if k == cap:
                bad = True
                break
            v, state = next_double(state)
            indices[r, k] = j
            values[r, k] = v
            k += 1
        if bad:
            counts[r] = -1
            overflow += 1
        else:
            counts[r] = k
    return overflow


@njit(cache=True)
def densify(indices, values, counts, out):
    """Dense rows (B, n) of a padded batch (tests, small figures)."""
    out[:] = 0
    for r in range(indices.shape[0]):
        for k in range(counts[r]):
            out[r, indices[r, k]] = values[r, k]


# ------------------------------------------------------------------------------ training
@njit(cache=True, parallel=True, fastmath=True)
def encode(indices, values, counts, enc, hidden):
    """hidden[r] = sum over active k of x_k enc[k]: (B, m) from E = W_in^T (n, m)."""
    m = enc.shape[1]
    for r in prange(indices.shape[0]):
        for j in range(m):
            hidden[r, j] = 0
        for t in range(counts[r]):
            k = indices[r, t]
            x = values[r, t]
            for j in range(m):
                hidden[r, j] += x * enc[k, j]


@njit(cache=True, parallel=True, fastmath=True)
def relu_residual(z, bias, indices, values, counts, scale, row_loss, gradient, g_indices,
                  g_values, g_counts):
    """Output ReLU, squared error and dloss/dz in one pass over each row.

    z : (B, n) pre-activation without bias, overwritten by ``g = scale * (y - x) * [z + b >
    0]`` when ``gradient`` (else by the output y).  row_loss : float64 (B,), the sum over
    features of (y - x)^2 of each row.  ``scale`` is 2 / (B n) for the mean over batch and
    features.  With ``gradient`` the non-zeros of g are also written as a padded sparse batch
    (g_indices, g_values (B, n), g_counts (B,)): where the output ReLU is off g vanishes, and
    in a trained sparse model that is most outputs, so the two products with g can skip them.
    Returns the number of non-zeros of g.
    """
    n = z.shape[1]
    for r in prange(z.shape[0]):
        total = 0.0
        row = z[r]
        for i in range(n):
            y = row[i] + bias[i]
            if y > 0:
                row[i] = y
                total += np.float64(y) * np.float64(y)
            else:
                row[i] = 0
        # The target is zero off the active features: only they change the residual.
        for t in range(counts[r]):
            i = indices[r, t]
            x = values[r, t]
            y = row[i]
            total += np.float64(x) * np.float64(x) - 2.0 * np.float64(x) * np.float64(y)
            if gradient:
                row[i] = y - x if y > 0 else 0
        row_loss[r] = total
        if gradient:
            k = 0
            for i in range(n):
                g = row[i] * scale
                row[i] = g
                if g != 0:
                    g_indices[r, k] = i
                    g_values[r, k] = g
                    k += 1
            g_counts[r] = k
    total_nonzero = 0
    if gradient:
        for r in range(z.shape[0]):
            total_nonzero += g_counts[r]
    return total_nonzero


@njit(cache=True, parallel=True, fastmath=True)
def encoder_gradient(indices, values, counts, grad_hidden, grad_enc, parts):
    """grad_enc = X^T grad_hidden (n, m), touching only active rows; zeroed first.

    Parallel over ``parts`` contiguous ranges of features: each part scans every active
    entry and adds those of its own features, whole rows of m contiguous numbers at a time
    (vectorised).  Writes are disjoint and each feature sums its rows in increasing order,
    so neither ``parts`` nor the thread count changes a bit.
    """
    n, m = grad_enc.shape
    rows = indices.shape[0]
    for q in prange(parts):
        k0 = (n * q) // parts
        k1 = (n * (q + 1)) // parts
        for k in range(k0, k1):
            for j in range(m):
                grad_enc[k, j] = 0
        for r in range(rows):
            for t in range(counts[r]):
                k = indices[r, t]
                if k0 <= k < k1:
                    x = values[r, t]
                    for j in range(m):
                        grad_enc[k, j] += x * grad_hidden[r, j]


@njit(cache=True, parallel=True, fastmath=True)
def column_sum(matrix, out, parts):
    """out[i] = sum over rows of matrix[:, i], in row order (the bias gradient); parallel over
    ``parts`` ranges of columns."""
    rows, n = matrix.shape
    for q in prange(parts):
        i0 = (n * q) // parts
        i1 = (n * (q + 1)) // parts
        acc = np.zeros(i1 - i0, dtype=matrix.dtype)
        for r in range(rows):
            row = matrix[r, i0:i1]
            for i in range(i1 - i0):
                acc[i] += row[i]
        out[i0:i1] = acc


@njit(cache=True, parallel=True, fastmath=True)
def column_sum_sparse(indices, values, counts, out, parts):
    """out[i] = sum over rows of a padded sparse batch's column i, in row order."""
    n = out.shape[0]
    rows = indices.shape[0]
    for q in prange(parts):
        i0 = (n * q) // parts
        i1 = (n * (q + 1)) // parts
        for i in range(i0, i1):
            out[i] = 0
        for r in range(rows):
            for t in range(counts[r]):
                i = indices[r, t]
                if i0 <= i < i1:
                    out[i] += values[r, t]


@njit(cache=True, parallel=True, fastmath=True)
def adam_update(param, grad, moment1, moment2, lr, beta1, beta2, eps, step):
    """One PyTorch Adam step (no weight decay, bias-corrected) on flat arrays, in place.

    p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    """
    bc1 = 1.0 - beta1 ** step
    bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
    step_size = lr / bc1
    c1 = 1.0 - beta1
    c2 = 1.0 - beta2
    for i in prange(param.shape[0]):
        g = grad[i]
        m1 = beta1 * moment1[i] + c1 * g
        m2 = beta2 * moment2[i] + c2 * g * g
        moment1[i] = m1
        moment2[i] = m2
        param[i] -= step_size * m1 / (math.sqrt(m2) / bc2_sqrt + eps)


# ------------------------------------------------------------------------------ Hadamard
@njit(cache=True, fastmath=True)
def fwht_inplace(x):
    """Unnormalised fast Walsh-Hadamard transform of a 1-d array of length 2^k, in place."""
    n = x.shape[0]
    h = 1
    while h < n:
        for i in range(0, n, 2 * h):
            for j in range(i, i + h):
                a = x[j]
                b = x[j + h]
                x[j] = a + b
                x[j + h] = a - b
        h *= 2


@njit(cache=True, parallel=True, fastmath=True)
def fwht_rows(x):
    """fwht_inplace on every row of a 2-d array (B, n)."""
    for r in prange(x.shape[0]):
        fwht_inplace(x[r])


@njit(cache=True, parallel=True, fastmath=True)
def rug_apply(indices, values, counts, keep, inverse_m, out):
    """out[r] = W x_r = (1/m) H P_S H x_r for a padded batch; ``keep`` (n,) is 1 on S, else 0."""
    for r in prange(indices.shape[0]):
        row = out[r]
        row[:] = 0
        for t in range(counts[r]):
            row[indices[r, t]] = values[r, t]
        fwht_inplace(row)
        for i in range(row.shape[0]):
            row[i] *= keep[i] * inverse_m
        fwht_inplace(row)


@njit(cache=True, parallel=True, fastmath=True)
def rug_row_loss(u, indices, values, counts, a, b, row_loss):
    """row_loss[r] = sum_i (ReLU(a (u_ri + b)) - x_ri)^2 (float64) for u = W x (B, n)."""
    n = u.shape[1]
    for r in prange(u.shape[0]):
        total = 0.0
        for i in range(n):
            y = a * (np.float64(u[r, i]) + b)
            if y > 0:
                total += y * y
        for t in range(counts[r]):
            i = indices[r, t]
            x = np.float64(values[r, t])
            y = a * (np.float64(u[r, i]) + b)
            y = y if y > 0 else 0.0
            total += x * x - 2.0 * x * y
        row_loss[r] = total


@njit(cache=True)
def rug_adam_gradient(u, indices, values, counts, a, b, rows):
    """(mean loss, dloss/da, dloss/db) of y = ReLU(a (u + b)) over the first ``rows`` rows."""
    n = u.shape[1]
    total = 0.0
    ga = 0.0
    gb = 0.0
    for r in range(rows):
        for i in range(n):
            s = np.float64(u[r, i]) + b
            y = a * s
            if y > 0:
                total += y * y
                ga += 2.0 * y * s
                gb += 2.0 * y * a
        for t in range(counts[r]):
            i = indices[r, t]
            x = np.float64(values[r, t])
            s = np.float64(u[r, i]) + b
            y = a * s
            total += x * x
            if y > 0:
                total -= 2.0 * x * y
                ga -= 2.0 * x * s
                gb -= 2.0 * x * a
    scale = 1.0 / (rows * n)
    return total * scale, ga * scale, gb * scale


@njit(cache=True)
def draw_rows(seed, domain, key, n, m):
    """m distinct integers of [0, n), uniformly (partial Fisher-Yates on the stream
    (seed, domain, 1, key)), sorted."""
    state = stream_state(seed, domain, 1, key)
    pool = np.arange(n)
    for k in range(m):
        u, state = next_double(state)
        j = k + min(np.int64(u * (n - k)), n - k - 1)
        tmp = pool[k]
        pool[k] = pool[j]
        pool[j] = tmp
    return np.sort(pool[:m])


@njit(cache=True)
def bin_entries(u, indices, values, counts, lo, width, sums):
    """Per-bin sums of a fit sample for the rug's profile loss.

    Entry (r, i) falls in bin k = floor((u_ri - lo) / width) (clipped to the K bins); sums
    (K, 5) float64 receives, per bin: count, sum u, sum u^2 over all entries, and sum x,
    sum u x over the active ones.  Sequential: a fixed summation order.
    """
    bins = sums.shape[0]
    sums[:] = 0.0
    rows, n = u.shape
    for r in range(rows):
        for i in range(n):
            v = np.float64(u[r, i])
            k = np.int64((v - lo) / width)
            k = min(max(k, 0), bins - 1)
            sums[k, 0] += 1.0
            sums[k, 1] += v
            sums[k, 2] += v * v
        for t in range(counts[r]):
            v = np.float64(u[r, indices[r, t]])
            x = np.float64(values[r, t])
            k = np.int64((v - lo) / width)
            k = min(max(k, 0), bins - 1)
            sums[k, 3] += x
            sums[k, 4] += v * x
