"""Numba kernels of the toy models: batch sampling, forward/backward with hand-written gradients,
AdamW.  Arrays and scalars in, arrays out; the public functions in ``train.py`` validate and
convert.

Layout.  Weights are stored feature-major: ``WT[j]`` (length m) is column j of the spec's W
(shape (m, n)), and ``D[i]`` (length m) is the decoder row of output i (``D = WT`` for the
models with a transposed decoder, ``D = W_dec`` for ``untied``).  Feature-major rows make every
sparse operation -- sum the rows of the present features, add into the rows of the outputs
with a non-zero gradient -- a contiguous axpy.  The one dense product, the decoder's
out = b + D a, runs over ``DT`` (m, n), a transposed copy made once per step.

Sparsity.  A sample with no feature present (98 % of them at S = 0.999, n = 20) has h = 0, so
its only effect is the bias gradient, the same for all such samples: they are counted, not
computed.  For the others the cost follows the number of present features k (encoder, weight
gradient) and the number of outputs with a non-zero gradient (decoder backward, which skips
outputs whose ReLU is off).

Random numbers (``_rng`` streams).  The batch of training step t of an instance with model
seed s is the stream (s, DOMAIN_TOY_BATCH, t, 0); its held-out evaluation batch is
(s, DOMAIN_TOY_EVAL, 0, 0).  Synthetic features, dense or Bernoulli mode: entry (sample r,
feature i) uses draw number r*n + i; its upper 32 bits u decide presence (present iff
u < floor(p_i * 2**32)) and its lower 32 bits v give the value v / 2**32.  Skip mode (every
p_i <= ``SKIP_BELOW``): the positions of candidate entries in the flattened (sample, feature)
order are a Bernoulli(p_max) process drawn by geometric gaps, floor(log(u) / log(1 - p_max))
from a 53-bit u in (0, 1]; each candidate uses one draw (upper bits: kept iff
u < floor(p_i / p_max * 2**32), lower bits: value).  Rows mode (percolation features): each
sample is the row ``next_below(n_rows)`` of a CSR matrix.  The work on one instance is
sequential and instances never share anything, so the thread count cannot change a result.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms._rng import (DOMAIN_TOY_BATCH, DOMAIN_TOY_EVAL, next_below, next_double,
                                  next_u64, stream_state)

MODEL_TIED = 0
MODEL_UNTIED = 1
MODEL_LINEAR = 2
MODEL_HIDDEN_RELU = 3

SOURCE_DENSE = 0  # every feature present (S = 0): values only
SOURCE_BERNOULLI = 1  # one presence test per entry
SOURCE_SKIP = 2  # geometric gaps between present entries: cost follows their number
SOURCE_ROWS = 3  # rows of a CSR matrix (percolation features)

# Below this presence probability, jumping from one present entry to the next (a logarithm
# each) is cheaper than testing every entry (one 64-bit draw each).
SKIP_BELOW = 0.05

_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_TWO_POW_M32 = 1.0 / 4294967296.0
_FAR = 1 << 62  # a position past the end of any batch


@njit(cache=True, inline="always")
def _geometric_gap(state, log_q):
    """(number of absent entries before the next present one, new state); q = 1 - p_max."""
    u, state = next_double(state)
    gap = math.floor(math.log(1.0 - u) / log_q)  # 1 - u in (0, 1]
    if gap > 1e15:
        return _FAR, state
    return np.int64(gap), state


@njit(cache=True)
def first_skip_position(state, source, log_q):
    """(flattened position of the first candidate entry, new state); 0 unless skip mode."""
    if source == SOURCE_SKIP:
        return _geometric_gap(state, log_q)
    return np.int64(0), state


@njit(cache=True)
def draw_sample(sample, n, source, presence_threshold, thinning_threshold, log_q, row_indptr,
                row_indices, row_data, state, next_position, idx, val):
    """Draw sample number ``sample`` of a batch into idx[:k] (increasing features) and val[:k].

    Returns (k, state, next_position); ``next_position`` carries the skip-mode position across
    the samples of one batch.
    """
    k = 0
    if source == SOURCE_DENSE or source == SOURCE_BERNOULLI:
        for i in range(n):
            bits, state = next_u64(state)
            if source == SOURCE_DENSE or (bits >> _SHIFT32) < presence_threshold[i]:
                idx[k] = i
                val[k] = np.float64(bits & _LOW32) * _TWO_POW_M32
                k += 1
    elif source == SOURCE_SKIP:
        start = sample * n
        while next_position < start + n:
            i = next_position - start
            bits, state = next_u64(state)
            if (bits >> _SHIFT32) < thinning_threshold[i]:
                idx[k] = i
                val[k] = np.float64(bits & _LOW32) * _TWO_POW_M32
                k += 1
            gap, state = _geometric_gap(state, log_q)
            next_position += 1 + gap
    else:
        row, state = next_below(state, row_indptr.shape[0] - 1)
        for e in range(row_indptr[row], row_indptr[row + 1]):
            idx[k] = row_indices[e]
            val[k] = row_data[e]
            k += 1
    return k, state, next_position


@njit(cache=True)
def sample_loss_grad(model, k, idx, val, WT, D, DT, b, imp_scale, grad_scale, with_grad,
                     xd, h, a, out, da, active, gval, gW, gD, gb):
    """Loss of one sample, sum_i imp_scale_i (x_i - x'_i)^2; with ``with_grad`` add
    ``grad_scale`` times its gradient into gW (n, m), gD (n, m) and gb (n,).

    ``xd`` (n,) must be zero on entry and is zero again on exit; h, a, da (m,), out (n,),
    active (n,) int64, gval (n,) are scratch.  For the models with W^T as decoder gD is gW.
    """
    n = WT.shape[0]
    m = WT.shape[1]
    relu_out = model != MODEL_LINEAR
    for q in range(m):
        h[q] = 0.0
    for t in range(k):
        j = idx[t]
        v = val[t]
        xd[j] = v
        for q in range(m):
            h[q] += v * WT[j, q]
    for q in range(m):
        a[q] = max(h[q], 0.0) if model == MODEL_HIDDEN_RELU else h[q]
    for i in range(n):
        out[i] = b[i]
    for q in range(m):
        aq = a[q]
        if aq != 0.0:
            for i in range(n):
                out[i] += aq * DT[q, i]
    loss = 0.0
    n_active = 0
    for i in range(n):
        o = out[i]
        r = (max(o, 0.0) if relu_out else o) - xd[i]
        loss += imp_scale[i] * r * r
        if r != 0.0 and (o > 0.0 or not relu_out):
            active[n_active] = i
            gval[n_active] = grad_scale * imp_scale[i] * r
            n_active += 1
    for t in range(k):
        xd[idx[t]] = 0.0
    if not with_grad:
        return loss
    for q in range(m):
        da[q] = 0.0
    for t in range(n_active):
        i = active[t]
        g = gval[t]
        gb[i] += g
        for q in range(m):
            da[q] += g * D[i, q]
            gD[i, q] += g * a[q]
    if model == MODEL_HIDDEN_RELU:
        for q in range(m):
            if h[q] <= 0.0:
                da[q] = 0.0
    for t in range(k):
        j = idx[t]
        v = val[t]
        for q in range(m):
            gW[j, q] += v * da[q]
    return loss


@njit(cache=True)
def batch_loss_grad(model, WT, D, b, imp_scale, source, presence_threshold, thinning_threshold,
                    log_q, row_indptr, row_indices, row_data, state, batch_size, with_grad,
                    gW, gD, gb):
    """Mean loss of one drawn batch; with ``with_grad`` add its gradient into gW, gD, gb."""
    n = WT.shape[0]
    m = WT.shape[1]
    DT = np.ascontiguousarray(D.T)
    idx = np.empty(n, dtype=np.int64)
    val = np.empty(n, dtype=np.float64)
    xd = np.zeros(n, dtype=np.float64)
    h = np.empty(m, dtype=np.float64)
    a = np.empty(m, dtype=np.float64)
    da = np.empty(m, dtype=np.float64)
    out = np.empty(n, dtype=np.float64)
    active = np.empty(n, dtype=np.int64)
    gval = np.empty(n, dtype=np.float64)
    grad_scale = 2.0 / batch_size
    next_position, state = first_skip_position(state, source, log_q)
    loss = 0.0
    n_empty = 0
    for sample in range(batch_size):
        k, state, next_position = draw_sample(
            sample, n, source, presence_threshold, thinning_threshold, log_q, row_indptr,
            row_indices, row_data, state, next_position, idx, val)
        if k == 0:
            n_empty += 1
            continue
        loss += sample_loss_grad(model, k, idx, val, WT, D, DT, b, imp_scale, grad_scale,
                                 with_grad, xd, h, a, out, da, active, gval, gW, gD, gb)
    if n_empty > 0:
        # x = 0 gives h = 0 and out = b: the same loss and bias gradient for every such sample.
        empty_loss = 0.0
        for i in range(n):
            o = b[i]
            y = o if model == MODEL_LINEAR else max(o, 0.0)
            empty_loss += imp_scale[i] * y * y
            if with_grad and y != 0.0:
                gb[i] += n_empty * (grad_scale * imp_scale[i] * y)
        loss += n_empty * empty_loss
    return loss / batch_size


@njit(cache=True)
def explicit_batch_loss_grad(model, WT, D, b, imp_scale, X, gW, gD, gb):
    """Mean loss over the rows of a given dense batch X (B, n), every row through
    ``sample_loss_grad`` (no shortcut for empty rows); gradient added into gW, gD, gb."""
    n = WT.shape[0]
    m = WT.shape[1]
    batch_size = X.shape[0]
    DT = np.ascontiguousarray(D.T)
    idx = np.empty(n, dtype=np.int64)
    val = np.empty(n, dtype=np.float64)
    xd = np.zeros(n, dtype=np.float64)
    h = np.empty(m, dtype=np.float64)
    a = np.empty(m, dtype=np.float64)
    da = np.empty(m, dtype=np.float64)
    out = np.empty(n, dtype=np.float64)
    active = np.empty(n, dtype=np.int64)
    gval = np.empty(n, dtype=np.float64)
    loss = 0.0
    for r in range(batch_size):
        k = 0
        for i in range(n):
            if X[r, i] != 0.0:
                idx[k] = i
                val[k] = X[r, i]
                k += 1
        loss += sample_loss_grad(model, k, idx, val, WT, D, DT, b, imp_scale,
                                 2.0 / batch_size, True, xd, h, a, out, da, active, gval,
                                 gW, gD, gb)
    return loss / batch_size


@njit(cache=True)
def draw_dense_batch(n, source, presence_threshold, thinning_threshold, log_q, row_indptr,
                     row_indices, row_data, state, batch_size):
    """The batch the trainer would draw from ``state``, as a dense (batch_size, n) array."""
    X = np.zeros((batch_size, n), dtype=np.float64)
    idx = np.empty(n, dtype=np.int64)
    val = np.empty(n, dtype=np.float64)
    next_position, state = first_skip_position(state, source, log_q)
    for sample in range(batch_size):
        k, state, next_position = draw_sample(
            sample, n, source, presence_threshold, thinning_threshold, log_q, row_indptr,
            row_indices, row_data, state, next_position, idx, val)
        for t in range(k):
            X[sample, idx[t]] = val[t]
    return X


@njit(cache=True)
def adamw_update(param, grad, m1, m2, step, lr, weight_decay, beta1, beta2, eps):
    """One AdamW step in place on 1-d arrays, exactly PyTorch's ``AdamW`` (``step`` counts
    from 1): decoupled decay, then the bias-corrected Adam step."""
    bias1 = 1.0 - beta1 ** step
    step_size = lr / bias1
    root_bias2 = math.sqrt(1.0 - beta2 ** step)
    decay = 1.0 - lr * weight_decay
    for e in range(param.shape[0]):
        g = grad[e]
        m1[e] = beta1 * m1[e] + (1.0 - beta1) * g
        m2[e] = beta2 * m2[e] + (1.0 - beta2) * g * g
        param[e] = param[e] * decay - step_size * m1[e] / (math.sqrt(m2[e]) / root_bias2 + eps)


@njit(cache=True)
def _train_instance(model, inst, WT, W_dec, b, moments_W, moments_dec, moments_b, imp_scale,
                    source, presence_threshold, thinning_threshold, log_q, row_indptr,
                    row_indices, row_data, seed, first_step, n_steps, batch_size, lr,
                    weight_decay, beta1, beta2, eps, losses):
    untied = model == MODEL_UNTIED
    n = WT.shape[1]
    m = WT.shape[2]
    wt = WT[inst]
    dec = W_dec[inst] if untied else wt
    gW = np.empty((n, m), dtype=np.float64)
    gD = np.empty((n, m), dtype=np.float64) if untied else gW
    gb = np.empty(n, dtype=np.float64)
    for t in range(n_steps):
        step = first_step + t
        gW[:] = 0.0
        gD[:] = 0.0
        gb[:] = 0.0
        state = stream_state(seed, DOMAIN_TOY_BATCH, step, 0)
        losses[inst, t] = batch_loss_grad(
            model, wt, dec, b[inst], imp_scale[inst], source[inst], presence_threshold[inst],
            thinning_threshold[inst], log_q[inst], row_indptr, row_indices, row_data, state,
            batch_size, True, gW, gD, gb)
        adamw_update(wt.reshape(-1), gW.reshape(-1), moments_W[inst, 0].reshape(-1),
                     moments_W[inst, 1].reshape(-1), step + 1, lr, weight_decay, beta1, beta2,
                     eps)
        if untied:
            adamw_update(dec.reshape(-1), gD.reshape(-1), moments_dec[inst, 0].reshape(-1),
                         moments_dec[inst, 1].reshape(-1), step + 1, lr, weight_decay, beta1,
                         beta2, eps)
        adamw_update(b[inst], gb, moments_b[inst, 0], moments_b[inst, 1], step + 1, lr,
                     weight_decay, beta1, beta2, eps)


@njit(cache=True, parallel=True)
def train_steps(model, lane_ptr, lane_order, WT, W_dec, b, moments_W, moments_dec, moments_b,
                imp_scale, source, presence_threshold, thinning_threshold, log_q, row_indptr,
                row_indices, row_data, seeds, first_step, n_steps, batch_size, lr,
                weight_decay, beta1, beta2, eps, losses):
    """Train every instance for steps first_step .. first_step + n_steps - 1, in place.

    WT, W_dec : (I, n, m) (W_dec, moments_dec unused unless untied); b : (I, n);
    moments_W, moments_dec : (I, 2, n, m) and moments_b : (I, 2, n), AdamW's first and second
    moments; imp_scale : (I, n) importance / n; source : (I,); presence_threshold,
    thinning_threshold : (I, n) uint64; log_q : (I,); seeds : (I,);
    losses : (I, n_steps) receives each step's training loss.
    Lane l trains instances lane_order[lane_ptr[l]:lane_ptr[l + 1]] one after the other.
    """
    for lane in prange(lane_ptr.shape[0] - 1):
        for t in range(lane_ptr[lane], lane_ptr[lane + 1]):
            inst = lane_order[t]
            _train_instance(model, inst, WT, W_dec, b, moments_W, moments_dec, moments_b,
                            imp_scale, source, presence_threshold, thinning_threshold, log_q,
                            row_indptr, row_indices, row_data, seeds[inst], first_step,
                            n_steps, batch_size, lr, weight_decay, beta1, beta2, eps, losses)


@njit(cache=True, parallel=True)
def evaluate(model, lane_ptr, lane_order, WT, W_dec, b, imp_scale, source, presence_threshold,
             thinning_threshold, log_q, row_indptr, row_indices, row_data, seeds, batch_size):
    """float64 (I,): each instance's mean loss on its held-out batch (stream DOMAIN_TOY_EVAL)."""
    result = np.empty(WT.shape[0], dtype=np.float64)
    no_grad = np.empty((0, 0), dtype=np.float64)
    no_grad_b = np.empty(0, dtype=np.float64)
    for lane in prange(lane_ptr.shape[0] - 1):
        for t in range(lane_ptr[lane], lane_ptr[lane + 1]):
            inst = lane_order[t]
            dec = W_dec[inst] if model == MODEL_UNTIED else WT[inst]
            state = stream_state(seeds[inst], DOMAIN_TOY_EVAL, 0, 0)
            result[inst] = batch_loss_grad(
                model, WT[inst], dec, b[inst], imp_scale[inst], source[inst],
                presence_threshold[inst], thinning_threshold[inst], log_q[inst], row_indptr,
                row_indices, row_data, state, batch_size, False, no_grad, no_grad, no_grad_b)
    return result
